"""Quarterly outputs: strategic review, optimization report, performance report, tech debt."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from nexus_agents.artifacts.base import Artifact, Facts, Narrative
from nexus_agents.artifacts.facts import CriterionWeight, KpiValue, LatencyBenchmark, ToolScore
from nexus_agents.artifacts.narrative import Bullets, Finding, Line, Recommendation, Text

__all__ = [
    "NexusReactivation",
    "OptimizationFacts",
    "OptimizationNarrative",
    "OptimizationReport",
    "QuarterlyPerformanceFacts",
    "QuarterlyPerformanceNarrative",
    "QuarterlyPerformanceReport",
    "QuarterlyStrategicReview",
    "RoadmapItem",
    "StrategicReviewFacts",
    "StrategicReviewNarrative",
    "TechDebtAssessment",
    "TechDebtFacts",
    "TechDebtNarrative",
]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StrategicReviewFacts(Facts):
    quarter: str = Field(description="e.g. 2025-Q2")
    kpis: list[KpiValue] = Field(default_factory=list, description="success metrics vs targets")
    portfolio_roi_pct: float | None = Field(default=None, description="target > 25%")
    inputs: list[str] = Field(
        default_factory=list, description="reports this review drew on (kind: period)"
    )


class RoadmapItem(_Part):
    item: Line
    horizon: Literal["now", "next", "later"]
    priority: Literal["high", "medium", "low"]
    owner: Line
    rationale: Line


class NexusReactivation(_Part):
    """A recommendation to run a full NEXUS pipeline again for a major feature or pivot."""

    mode: Literal["NEXUS-Sprint", "NEXUS-Micro", "NEXUS-Full"]
    reason: Line
    scope: Line


class StrategicReviewNarrative(Narrative):
    market_position: Text
    product_strategy: Text
    growth_strategy: Text
    organizational_health: Text
    roadmap: list[RoadmapItem] = Field(max_length=20, description="the updated roadmap")
    priorities: Bullets
    reactivate_nexus: NexusReactivation | None = Field(
        default=None, description="only when a major feature or pivot needs the full pipeline"
    )


class QuarterlyStrategicReview(Artifact[StrategicReviewFacts, StrategicReviewNarrative]):
    kind = "quarterly_strategic_review"
    title = "Quarterly Strategic Review"


class OptimizationFacts(Facts):
    quarter: str
    cycle_time_days: float | None = None
    previous_cycle_time_days: float | None = None
    lead_time_days: float | None = None
    previous_lead_time_days: float | None = None
    process_improvement_pct: float | None = Field(default=None, description="target 20%/quarter")
    first_pass_rate_pct: float | None = None
    average_qa_retries: float | None = None
    deploys_per_day: float | None = None


class ProcessChange(_Part):
    process: Line
    bottleneck: Line
    change: Line
    expected_effect: Line
    owner: Line


class OptimizationNarrative(Narrative):
    summary: Text
    bottlenecks: Bullets
    improvements: list[ProcessChange] = Field(max_length=10)
    retired_practices: Bullets


class OptimizationReport(Artifact[OptimizationFacts, OptimizationNarrative]):
    kind = "optimization_report"
    title = "Optimization Report"


class QuarterlyPerformanceFacts(Facts):
    quarter: str
    benchmarks: list[LatencyBenchmark] = Field(default_factory=list)
    regressions: int = Field(default=0, ge=0)


class QuarterlyPerformanceNarrative(Narrative):
    summary: Text
    regression_analysis: Bullets
    recommendations: list[Recommendation] = Field(max_length=8)


class QuarterlyPerformanceReport(Artifact[QuarterlyPerformanceFacts, QuarterlyPerformanceNarrative]):
    kind = "quarterly_performance_report"
    title = "Quarterly Performance Report"


class TechDebtFacts(Facts):
    quarter: str
    criteria: list[CriterionWeight] = Field(default_factory=list)
    tools: list[ToolScore] = Field(default_factory=list)
    total_annual_cost: float = Field(default=0.0, ge=0)


class ToolVerdict(_Part):
    tool: Line
    action: Literal["keep", "replace", "retire", "evaluate"]
    rationale: Line


class TechDebtNarrative(Narrative):
    summary: Text
    tool_verdicts: list[ToolVerdict] = Field(max_length=20)
    debt_items: list[Finding] = Field(max_length=15)
    recommendations: list[Recommendation] = Field(max_length=8)


class TechDebtAssessment(Artifact[TechDebtFacts, TechDebtNarrative]):
    kind = "tech_debt_assessment"
    title = "Tech Debt Assessment"
