"""Weekly outputs: analytics report, feedback summary, sprint plan, growth metrics, status."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nexus_agents.artifacts.base import Artifact, Facts, Narrative
from nexus_agents.artifacts.facts import (
    ChannelMetric,
    FunnelStage,
    KpiValue,
    RiceScore,
    SignificanceResult,
    ThemeCount,
)
from nexus_agents.artifacts.narrative import Bullets, Line, Recommendation, Risk, Text

__all__ = [
    "CohortRetention",
    "GrowthMetricsFacts",
    "GrowthMetricsNarrative",
    "GrowthMetricsReport",
    "SprintPlan",
    "SprintPlanFacts",
    "SprintPlanNarrative",
    "WeeklyAnalyticsFacts",
    "WeeklyAnalyticsNarrative",
    "WeeklyAnalyticsReport",
    "WeeklyFeedbackFacts",
    "WeeklyFeedbackNarrative",
    "WeeklyFeedbackSummary",
    "WeeklyStatusFacts",
    "WeeklyStatusNarrative",
    "WeeklyStatusUpdate",
]


class CohortRetention(BaseModel):
    """Retention of one weekly sign-up cohort at the flagged offset (code-computed)."""

    model_config = ConfigDict(extra="forbid")

    cohort: str = Field(description="ISO week of sign-up")
    users: int = Field(ge=0)
    eligible: int = Field(ge=0)
    retention_pct: float | None = None
    gap_points: float | None = Field(default=None, description="vs the other cohorts' mean")
    dip: bool = False


class WeeklyAnalyticsFacts(Facts):
    week: str = Field(description="ISO week, e.g. 2025-W14")
    kpis: list[KpiValue] = Field(default_factory=list)
    changes: list[SignificanceResult] = Field(
        default_factory=list, description="week-over-week changes tested for significance"
    )
    funnel: list[FunnelStage] = Field(default_factory=list, description="the week's sign-ups")
    retention_offset_days: int | None = None
    cohorts: list[CohortRetention] = Field(default_factory=list)


class WeeklyAnalyticsNarrative(Narrative):
    summary: Text
    trends: Bullets
    anomalies: Bullets
    recommendations: list[Recommendation] = Field(max_length=8)


class WeeklyAnalyticsReport(Artifact[WeeklyAnalyticsFacts, WeeklyAnalyticsNarrative]):
    kind = "weekly_analytics_report"
    title = "Weekly Analytics Report"


class WeeklyFeedbackFacts(Facts):
    week: str
    feedback_count: int = Field(ge=0)
    nps: float | None = Field(default=None, ge=-100, le=100)
    promoters: int = Field(default=0, ge=0)
    passives: int = Field(default=0, ge=0)
    detractors: int = Field(default=0, ge=0)
    mean_sentiment: float | None = Field(default=None, ge=-1, le=1)
    themes: list[ThemeCount] = Field(default_factory=list)


class ThemeNote(Narrative):
    theme: Line = Field(description="one of the themes in the facts")
    what_users_say: Line
    implication: Line


class WeeklyFeedbackNarrative(Narrative):
    summary: Text
    themes: list[ThemeNote] = Field(max_length=10)
    recommended_actions: Bullets


class WeeklyFeedbackSummary(Artifact[WeeklyFeedbackFacts, WeeklyFeedbackNarrative]):
    kind = "weekly_feedback_summary"
    title = "Weekly Feedback Summary"


class SprintPlanFacts(Facts):
    sprint_number: int = Field(ge=1)
    start: str
    end: str
    velocity: float = Field(gt=0, description="story points per sprint")
    capacity: float = Field(gt=0, description="velocity minus a 20% buffer")
    candidates: list[RiceScore] = Field(default_factory=list, description="ranked by RICE")
    selected_item_ids: list[str] = Field(
        default_factory=list, description="the sprint's items in plan order (plan_sprint tool)"
    )
    planned_points: float = Field(default=0.0, ge=0, description="effort of the selected items")
    carried_over_ids: list[str] = Field(
        default_factory=list, description="candidates not selected, in RICE order"
    )

    @model_validator(mode="after")
    def _consistent_selection(self) -> SprintPlanFacts:
        by_id = {c.item_id: c for c in self.candidates}
        unknown = [i for i in self.selected_item_ids if i not in by_id]
        if unknown:
            raise ValueError(f"selected items are not candidates: {', '.join(unknown)}")
        if len(set(self.selected_item_ids)) != len(self.selected_item_ids):
            raise ValueError("an item is selected twice")
        effort = sum(by_id[i].effort for i in self.selected_item_ids)
        if abs(effort - self.planned_points) > 1e-6:
            raise ValueError(
                f"planned_points is {self.planned_points:g} but the selected items need {effort:g}"
            )
        if self.planned_points > self.capacity + 1e-9:
            raise ValueError(
                f"selected items need {self.planned_points:g} points, capacity is {self.capacity:g}"
            )
        chosen = set(self.selected_item_ids)
        expected = [c.item_id for c in self.candidates if c.item_id not in chosen]
        if self.carried_over_ids != expected:
            raise ValueError(
                "carried_over_ids must list the candidates not selected, in candidate order"
            )
        return self


class SprintPlanNarrative(Narrative):
    sprint_goal: Line
    rationale: Text
    deferred_notes: Bullets
    risks: list[Risk] = Field(max_length=6)


class SprintPlan(Artifact[SprintPlanFacts, SprintPlanNarrative]):
    kind = "sprint_plan"
    title = "Sprint Plan"

    @property
    def planned_points(self) -> float:
        return self.facts.planned_points

    def to_markdown(self) -> str:
        from nexus_agents.artifacts.render import render_markdown

        return render_markdown(
            self,
            derived={
                "Planned points": self.planned_points,
                "Capacity": self.facts.capacity,
                "Items selected": len(self.facts.selected_item_ids),
            },
        )


class GrowthMetricsFacts(Facts):
    week: str
    new_users: int = Field(ge=0)
    wow_growth_pct: float | None = None
    funnel: list[FunnelStage] = Field(default_factory=list)
    channels: list[ChannelMetric] = Field(default_factory=list)
    ltv: float | None = None
    ltv_cac_ratio: float | None = Field(default=None, description="target >= 3")
    d7_retention_pct: float | None = None
    d30_retention_pct: float | None = None


class GrowthMetricsNarrative(Narrative):
    summary: Text
    channel_findings: Bullets
    funnel_findings: Bullets
    next_experiments: list[Recommendation] = Field(max_length=6)


class GrowthMetricsReport(Artifact[GrowthMetricsFacts, GrowthMetricsNarrative]):
    kind = "growth_metrics_report"
    title = "Growth Metrics Report"


class WeeklyStatusFacts(Facts):
    week: str
    tasks_planned: int = Field(ge=0)
    tasks_done: int = Field(ge=0)
    on_time_pct: float | None = None
    scope_added_points: float = Field(default=0.0, ge=0)
    blocked_tasks: int = Field(default=0, ge=0)
    open_incidents: int = Field(default=0, ge=0)
    deployments: int = Field(default=0, ge=0, description="deployments in the week")
    failed_deployments: int = Field(default=0, ge=0, description="failed or rolled back")


class WeeklyStatusNarrative(Narrative):
    status: Literal["ON_TRACK", "AT_RISK", "BLOCKED"]
    summary: Text
    accomplishments: Bullets
    risks: list[Risk] = Field(max_length=8)
    dependencies: Bullets
    asks: Bullets = Field(description="decisions or help needed from other teams")


class WeeklyStatusUpdate(Artifact[WeeklyStatusFacts, WeeklyStatusNarrative]):
    kind = "weekly_status_update"
    title = "Weekly Status Update"
