"""Monthly outputs: executive summary, finance, compliance, market brief, brand health,
the growth review and the content operations review."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nexus_agents.artifacts.base import Artifact, Facts, Narrative
from nexus_agents.artifacts.contract import AnswerContract, FieldRule
from nexus_agents.artifacts.facts import (
    BudgetVariance,
    ChannelMetric,
    CountItem,
    ExperimentStat,
    ForecastPoint,
    FunnelStage,
    KpiValue,
    MoneyLine,
    PlatformActivity,
    SourceRef,
)
from nexus_agents.artifacts.narrative import (
    Action,
    Bullets,
    Finding,
    Line,
    Recommendation,
    Risk,
    Text,
)

__all__ = [
    "EXECUTIVE_SUMMARY_MAX_WORDS",
    "BrandHealthFacts",
    "BrandHealthNarrative",
    "BrandHealthReport",
    "ComplianceStatusFacts",
    "ComplianceStatusNarrative",
    "ComplianceStatusReport",
    "ContentOpsReview",
    "ContentOpsReviewFacts",
    "ContentOpsReviewNarrative",
    "MonthlyExecutiveSummary",
    "MonthlyExecutiveSummaryFacts",
    "MonthlyExecutiveSummaryNarrative",
    "MonthlyFinancialFacts",
    "MonthlyFinancialNarrative",
    "MonthlyFinancialReport",
    "MonthlyGrowthReview",
    "MonthlyGrowthReviewFacts",
    "MonthlyGrowthReviewNarrative",
    "MonthlyMarketBrief",
    "MonthlyMarketBriefFacts",
    "MonthlyMarketBriefNarrative",
    "word_count",
]

EXECUTIVE_SUMMARY_MAX_WORDS = 500
_WORD = re.compile(r"\S+")


def word_count(*texts: str) -> int:
    return sum(len(_WORD.findall(t)) for t in texts)


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- Executive summary (SCQA) ---------------------------------------------------------


class MonthlyExecutiveSummaryFacts(Facts):
    month: str = Field(description="YYYY-MM")
    kpis: list[KpiValue] = Field(default_factory=list)


QuantifiedLine = Annotated[str, Field(max_length=600, pattern=r"\d")]
"""A bullet that quotes at least one number."""


class MonthlyExecutiveSummaryNarrative(Narrative):
    """All fields together stay under 500 words."""

    situation: Text
    complication: Text
    question: Line
    answer: Text
    key_findings: list[QuantifiedLine] = Field(
        max_length=12, description="each finding quotes a number from the facts"
    )
    decisions_needed: Bullets

    @model_validator(mode="after")
    def _short_and_quantified(self) -> MonthlyExecutiveSummaryNarrative:
        words = word_count(
            self.situation,
            self.complication,
            self.question,
            self.answer,
            *self.key_findings,
            *self.decisions_needed,
        )
        if words >= EXECUTIVE_SUMMARY_MAX_WORDS:
            raise ValueError(
                f"the executive summary has {words} words; it must stay under "
                f"{EXECUTIVE_SUMMARY_MAX_WORDS}"
            )
        vague = [f for f in self.key_findings if not re.search(r"\d", f)]
        if vague:
            raise ValueError(f"every key finding must be quantified; not: {vague[0]!r}")
        return self


class MonthlyExecutiveSummary(Artifact[MonthlyExecutiveSummaryFacts, MonthlyExecutiveSummaryNarrative]):
    kind = "monthly_executive_summary"
    title = "Monthly Executive Summary"


# --- Finance -------------------------------------------------------------------------


class MonthlyFinancialFacts(Facts):
    month: str
    currency: str = "USD"
    mrr: float | None = Field(default=None, description="None without subscription data")
    arr: float | None = None
    new_mrr: float | None = 0.0
    expansion_mrr: float | None = 0.0
    contraction_mrr: float | None = 0.0
    churned_mrr: float | None = 0.0
    revenue_by_plan: list[MoneyLine] = Field(default_factory=list)
    costs_by_category: list[MoneyLine] = Field(default_factory=list)
    marketing_spend_by_channel: list[MoneyLine] = Field(default_factory=list)
    cac: float | None = None
    ltv: float | None = None
    ltv_cac_ratio: float | None = None
    payback_months: float | None = None
    forecast: list[ForecastPoint] = Field(default_factory=list, description="3-month rolling")
    budget_variance: list[BudgetVariance] = Field(default_factory=list)


class MonthlyFinancialNarrative(Narrative):
    summary: Text
    revenue_analysis: Text
    cost_analysis: Text
    unit_economics: Text
    forecast_commentary: Text
    risks: list[Risk] = Field(max_length=6)
    recommendations: list[Recommendation] = Field(max_length=6)


class MonthlyFinancialReport(Artifact[MonthlyFinancialFacts, MonthlyFinancialNarrative]):
    kind = "monthly_financial_report"
    title = "Monthly Financial Report"


# --- Compliance ----------------------------------------------------------------------


class ComplianceStatusFacts(Facts):
    month: str
    applicable_controls: int = Field(ge=0)
    passing_controls: int = Field(ge=0)
    adherence_pct: float | None = Field(default=None, description="target > 98%")
    open_data_subject_requests: int = Field(default=0, ge=0)
    overdue_data_subject_requests: int = Field(default=0, ge=0)
    overdue_items: list[str] = Field(default_factory=list)
    vulnerabilities_by_severity: list[CountItem] = Field(default_factory=list)
    training_completion_pct: float | None = None
    policy_acknowledgement_pct: float | None = None


class RegulatoryItem(_Part):
    regulation: Line
    change: Line
    deadline: Line
    action_needed: Line


class ComplianceStatusNarrative(Narrative):
    status: Literal["compliant", "at_risk", "non_compliant"]
    summary: Text
    regulatory_updates: list[RegulatoryItem] = Field(max_length=10)
    privacy: Text
    security: Text
    audit_readiness: Text
    actions: list[Action] = Field(max_length=10)


class ComplianceStatusReport(Artifact[ComplianceStatusFacts, ComplianceStatusNarrative]):
    kind = "compliance_status_report"
    title = "Compliance Status Report"


# --- Market brief --------------------------------------------------------------------


class MonthlyMarketBriefFacts(Facts):
    month: str
    sources: list[SourceRef] = Field(default_factory=list)


class Trend(_Part):
    trend: Line
    evidence: Line
    source_ids: list[str] = Field(min_length=1, max_length=5)
    implication: Line


class CompetitorMove(_Part):
    competitor: Line
    move: Line
    source_ids: list[str] = Field(min_length=1, max_length=5)
    response: Line


class MonthlyMarketBriefNarrative(Narrative):
    summary: Text
    trends: list[Trend] = Field(max_length=10)
    competitor_moves: list[CompetitorMove] = Field(max_length=10)
    opportunities: Bullets
    threats: Bullets


class MonthlyMarketBrief(Artifact[MonthlyMarketBriefFacts, MonthlyMarketBriefNarrative]):
    kind = "monthly_market_brief"
    title = "Monthly Market Brief"

    @model_validator(mode="after")
    def _sourced(self) -> MonthlyMarketBrief:
        known = [s.source_id for s in self.facts.sources]
        cited = [i for t in self.narrative.trends for i in t.source_ids]
        cited += [i for m in self.narrative.competitor_moves for i in m.source_ids]
        missing = sorted({i for i in cited if i not in known})
        if missing:
            raise ValueError(
                f"cites sources that were not provided: {', '.join(missing)}; the sources "
                f"are [{', '.join(known) or 'none'}]"
            )
        return self

    @classmethod
    def answer_contract(cls, facts: MonthlyMarketBriefFacts) -> AnswerContract:
        ids = tuple(s.source_id for s in facts.sources)
        if not ids:
            why = "no sources were provided, so nothing can be cited"
            return AnswerContract(
                rules=(
                    FieldRule("trends", why, max_items=0),
                    FieldRule("competitor_moves", why, max_items=0),
                )
            )
        why = "a source_id of the sources provided"
        return AnswerContract(
            rules=(
                FieldRule("trends[].source_ids[]", why, ids),
                FieldRule("competitor_moves[].source_ids[]", why, ids),
            )
        )

    @classmethod
    def safe_default(
        cls, facts: MonthlyMarketBriefFacts, narrative: MonthlyMarketBriefNarrative, problems: list[str]
    ) -> tuple[MonthlyMarketBriefNarrative, str] | None:
        # An unsourced claim is left out rather than published.
        known = {s.source_id for s in facts.sources}
        trends = [t for t in narrative.trends if set(t.source_ids) <= known]
        moves = [m for m in narrative.competitor_moves if set(m.source_ids) <= known]
        dropped = len(narrative.trends) - len(trends) + len(narrative.competitor_moves) - len(moves)
        note = f"{dropped} trend(s) or competitor move(s) citing unknown sources were left out."
        return narrative.model_copy(update={"trends": trends, "competitor_moves": moves}), note


# --- Brand health --------------------------------------------------------------------


class BrandHealthFacts(Facts):
    month: str
    assets_audited: int = Field(ge=0)
    assets_consistent: int | None = Field(
        default=None, ge=0, description="None when no audit recorded consistency"
    )
    consistency_pct: float | None = None


class BrandHealthNarrative(Narrative):
    status: Literal["strong", "stable", "at_risk"]
    summary: Text
    findings: list[Finding] = Field(max_length=15)
    strengths: Bullets


class BrandHealthReport(Artifact[BrandHealthFacts, BrandHealthNarrative]):
    kind = "brand_health_report"
    title = "Brand Health Report"


# --- Monthly growth review -----------------------------------------------------------


class MonthlyGrowthReviewFacts(Facts):
    month: str
    mom_user_growth_pct: float | None = Field(default=None, description="target > 20%")
    channels: list[ChannelMetric] = Field(default_factory=list)
    funnel: list[FunnelStage] = Field(default_factory=list)
    ltv_cac_ratio: float | None = None
    experiments: list[ExperimentStat] = Field(default_factory=list)
    retention: list[KpiValue] = Field(default_factory=list, description="cohort retention points")
    feature_adoption: list[KpiValue] = Field(default_factory=list)
    viral_coefficient: float | None = None


class BudgetShift(_Part):
    from_channel: Line
    to_channel: Line
    reason: Line


class MonthlyGrowthReviewNarrative(Narrative):
    channel_performance: Text
    experiment_results: Text
    retention_analysis: Text
    churn_risks: Bullets
    next_experiments: list[Recommendation] = Field(max_length=8)
    budget_reallocation: list[BudgetShift] = Field(max_length=6)
    new_channels: Bullets


class MonthlyGrowthReview(Artifact[MonthlyGrowthReviewFacts, MonthlyGrowthReviewNarrative]):
    kind = "monthly_growth_review"
    title = "Monthly Growth Review"


# --- Content operations review -------------------------------------------------------


class ContentOpsReviewFacts(Facts):
    month: str
    platforms: list[PlatformActivity] = Field(default_factory=list)
    platforms_below_cadence: list[str] = Field(default_factory=list)


class PlatformPlan(_Part):
    platform: Line
    cadence: Line
    focus: Line


class ContentOpsReviewNarrative(Narrative):
    performance_review: Text
    editorial_calendar: Bullets
    platform_updates: Bullets
    strategy_changes: Bullets
    platform_plans: list[PlatformPlan] = Field(max_length=8)


class ContentOpsReview(Artifact[ContentOpsReviewFacts, ContentOpsReviewNarrative]):
    kind = "content_ops_review"
    title = "Content Ops Review"
