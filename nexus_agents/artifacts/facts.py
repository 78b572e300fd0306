"""Fact types shared by several artifacts (and usable as tool outputs).

Only types no tool module defines yet live here; every number in them is computed by
code. Narrative-side enums shared by several artifacts live here too.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["P0", "P1", "P2", "P3"]
"""Incident severity; P0 is the most severe."""

SEVERITY_ORDER: tuple[Severity, ...] = ("P0", "P1", "P2", "P3")

Cadence = Literal["continuous", "daily", "weekly", "biweekly", "monthly", "quarterly", "on_demand"]

IssueSeverity = Literal["critical", "high", "medium", "low"]

Priority = Literal["critical", "high", "medium", "low"]


def most_severe(*levels: Severity) -> Severity:
    """The most severe of ``levels`` (P0 beats P1 ...)."""
    return min(levels, key=SEVERITY_ORDER.index)


class _Fact(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KpiValue(_Fact):
    """One KPI measured over a period, compared with its target."""

    name: str
    value: float | None = Field(description="None when the period has no data")
    unit: str = ""
    target: float | None = None
    direction: Literal["higher_is_better", "lower_is_better"] = "higher_is_better"
    previous: float | None = None
    change_pct: float | None = None
    meets_target: bool | None = None


class CountItem(_Fact):
    """A labelled count (tickets per category, posts per platform ...)."""

    label: str
    count: int = Field(ge=0)


class ThemeCount(_Fact):
    """A feedback theme with how often it occurred and its mean sentiment."""

    theme: str
    count: int = Field(ge=0)
    previous_count: int | None = Field(default=None, ge=0)
    sentiment: float | None = Field(default=None, ge=-1, le=1)


class RiceScore(_Fact):
    """A backlog item scored with RICE = reach x impact x confidence / effort."""

    item_id: str
    title: str
    reach: float = Field(ge=0)
    impact: float = Field(ge=0)
    confidence: float = Field(ge=0, le=1)
    effort: float = Field(gt=0, description="story points")
    score: float = Field(ge=0)


class SignificanceResult(_Fact):
    """A claimed change tested for significance."""

    metric: str
    baseline: float
    current: float
    p_value: float = Field(ge=0, le=1)
    ci_low: float
    ci_high: float
    confidence_level: float = Field(default=0.95, gt=0, lt=1)
    significant: bool


class ExperimentStat(_Fact):
    """A two-arm A/B test evaluated by code."""

    experiment_id: str
    name: str
    metric: str
    control_n: int = Field(ge=0)
    control_conversions: int = Field(ge=0)
    variant_n: int = Field(ge=0)
    variant_conversions: int = Field(ge=0)
    lift_pct: float | None = None
    p_value: float | None = Field(default=None, ge=0, le=1)
    ci_low: float | None = None
    ci_high: float | None = None
    required_sample_per_arm: int | None = Field(default=None, ge=0, description="80% power")
    significant: bool = False


class FunnelStage(_Fact):
    stage: str
    users: int = Field(ge=0)
    conversion_pct: float | None = Field(default=None, description="from the previous stage")


class ChannelMetric(_Fact):
    """Acquisition by channel: users, spend and cost per acquired customer."""

    channel: str
    new_users: int = Field(ge=0)
    spend: float = Field(default=0.0, ge=0)
    cac: float | None = None
    conversion_pct: float | None = None


class MoneyLine(_Fact):
    """An amount of money under a label (revenue by plan, cost by category ...)."""

    label: str
    amount: float


class BudgetVariance(_Fact):
    category: str
    budget: float
    actual: float
    variance_pct: float | None = None


class ForecastPoint(_Fact):
    month: str = Field(description="YYYY-MM")
    revenue: float
    cost: float
    net_cash_flow: float


class TimelineEntry(_Fact):
    at: str = Field(description="ISO 8601 timestamp")
    event: str


class CheckResult(_Fact):
    """A yes/no check evaluated by code, with what it looked at."""

    name: str
    passed: bool
    detail: str = ""


class PlatformActivity(_Fact):
    """Posting activity and engagement on one platform over a period."""

    platform: str
    posts: int = Field(ge=0)
    target_min: int | None = Field(default=None, ge=0)
    target_max: int | None = Field(default=None, ge=0)
    impressions: int = Field(default=0, ge=0)
    engagements: int = Field(default=0, ge=0)
    engagement_rate_pct: float | None = None


class SourceRef(_Fact):
    """A source a researcher may cite by ``source_id``."""

    source_id: str
    title: str
    url: str = ""
    published: str = ""


class LatencyBenchmark(_Fact):
    endpoint: str
    p95_ms: float = Field(ge=0)
    previous_p95_ms: float | None = Field(default=None, ge=0)
    change_pct: float | None = None
    regression: bool = False


class CriterionScore(_Fact):
    criterion: str
    score: float


class CriterionWeight(_Fact):
    criterion: str
    weight: float = Field(ge=0)


class ToolScore(_Fact):
    """One row of a weighted tool matrix."""

    tool: str
    scores: list[CriterionScore] = Field(default_factory=list)
    weighted_score: float
    annual_cost: float = Field(default=0.0, ge=0)
