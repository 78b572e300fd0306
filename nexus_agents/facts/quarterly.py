"""Facts for the quarterly reports: strategic review, optimization, performance, tech debt.

Each builder reports on the quarter of the step's period (or the quarter containing its
last day) and compares with the quarter before.

Optional workspace files read here (not part of the data schema):

``data/latency.csv``
    Performance benchmark results. Columns ``measured_on`` (``YYYY-MM-DD``),
    ``endpoint``, ``p95_ms`` (>= 0). An endpoint's p95 for a quarter is its last
    measurement in that quarter; a rise of more than ``options.regression_threshold_pct``
    (default 10%) over the previous quarter is a regression. Without the file the report
    gets no benchmarks and the deploy lead times, uptime per service and MTTR trend as
    context instead.

``data/tools.csv``
    The weighted tool matrix, one row per tool and criterion. Columns ``tool``,
    ``criterion``, ``weight`` (>= 0, the same for a criterion on every row), ``score``
    and ``annual_cost`` (optional, per tool). A tool's weighted score is
    sum(weight x score) / sum(weight). Without the file the assessment gets no matrix
    and the backlog items tagged as tech debt (``source`` engineering / tech_debt) as
    context.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from nexus_agents.artifacts.facts import (
    CriterionScore,
    CriterionWeight,
    LatencyBenchmark,
    ToolScore,
)
from nexus_agents.data.rows import backlog_rows
from nexus_agents.exceptions import DataError
from nexus_agents.facts import FactsContext, facts_builder
from nexus_agents.facts.bundle import FactBundle
from nexus_agents.facts.daily import kpi_report, kpis_with_previous, run_artifact
from nexus_agents.facts.monthly import read_csv_rows
from nexus_agents.periods import Period, PeriodKind, period_containing
from nexus_agents.tools.kpis import KPIResult, compute_kpi, relative_change_pct

__all__ = [
    "LATENCY_FILE",
    "REVIEW_INPUTS",
    "TECH_DEBT_SOURCES",
    "TOOLS_FILE",
    "build_optimization_report",
    "build_quarterly_performance_report",
    "build_quarterly_strategic_review",
    "build_tech_debt_assessment",
    "quarter_of",
    "weighted_score",
]

LATENCY_FILE = "latency.csv"
TOOLS_FILE = "tools.csv"
DEFAULT_REGRESSION_PCT = 10.0
TECH_DEBT_SOURCES = frozenset({"engineering", "tech_debt", "tech-debt", "techdebt", "tech debt"})

REVIEW_INPUTS: dict[str, str] = {
    "monthly_market_brief": "Trend Researcher: competitive landscape",
    "brand_health_report": "Brand Guardian: brand perception",
    "bi_weekly_insights_report": "Feedback Synthesizer: customer satisfaction",
    "tech_debt_assessment": "Tool Evaluator: technology debt",
    "optimization_report": "Workflow Optimizer: process efficiency",
}
"""The five reviews the strategic review draws on (playbook, Strategic Evolution)."""


def quarter_of(period: Period) -> Period:
    if period.kind is PeriodKind.QUARTER:
        return period
    return period_containing(PeriodKind.QUARTER, period.end - timedelta(microseconds=1))


# --- strategic review ------------------------------------------------------------------


def _input_label(data: dict[str, Any]) -> str | None:
    kind = data.get("kind")
    if not kind:
        return None
    period = (data.get("meta") or {}).get("period") or "(no period)"
    return f"{kind}: {period}"


@facts_builder("quarterly_strategic_review")
def build_quarterly_strategic_review(ctx: FactsContext) -> FactBundle:
    quarter = quarter_of(ctx.period)
    report = kpi_report(ctx, quarter)
    previous = kpi_report(ctx, quarter.previous())
    artifacts = [a for a in (ctx.state.get("artifacts") or {}).values() if isinstance(a, dict)]
    labels = [label for a in artifacts if (label := _input_label(a))]
    present = {a.get("kind") for a in artifacts}
    facts = {
        "quarter": quarter.label,
        "kpis": [k.model_dump() for k in kpis_with_previous(report, previous)],
        "portfolio_roi_pct": report.by_key()["portfolio_roi"].value,
        "inputs": labels,
    }
    missing = [f"{kind} ({who})" for kind, who in REVIEW_INPUTS.items() if kind not in present]
    context = {
        "previous_quarter": previous.period,
        "kpi_details": {r.name: r.detail for r in report.results if r.detail},
        "missing_review_inputs": missing,
    }
    guidance = ["Compare each KPI with the previous quarter using previous and change_pct."]
    if missing:
        guidance.append(
            "These review inputs were not available to this run; say which assessments "
            "lack them: " + "; ".join(missing)
        )
    return FactBundle(facts=facts, context=context, guidance=guidance)


# --- optimization ----------------------------------------------------------------------


def _lead_times_days(improvement: KPIResult) -> tuple[float | None, float | None]:
    """(this quarter, previous quarter) median lead time in days, from the KPI's terms."""
    if improvement.value is None or improvement.denominator is None:
        return None, None
    previous_h = improvement.denominator
    current_h = previous_h - (improvement.numerator or 0.0)
    return current_h / 24.0, previous_h / 24.0


@facts_builder("optimization_report")
def build_optimization_report(ctx: FactsContext) -> FactBundle:
    quarter = quarter_of(ctx.period)
    end = min(quarter.end, ctx.as_of)
    improvement = compute_kpi(ctx.workspace, "process_improvement", quarter, end)
    frequency = compute_kpi(ctx.workspace, "deployment_frequency", quarter, end)
    lead, previous_lead = _lead_times_days(improvement)
    sprint = run_artifact(ctx, "sprint_record")
    sprint_facts = (sprint or {}).get("facts") or {}
    facts = {
        "quarter": quarter.label,
        "cycle_time_days": None,
        "previous_cycle_time_days": None,
        "lead_time_days": lead,
        "previous_lead_time_days": previous_lead,
        "process_improvement_pct": improvement.value,
        "first_pass_rate_pct": sprint_facts.get("first_pass_rate_pct"),
        "average_qa_retries": sprint_facts.get("average_retries"),
        "deploys_per_day": frequency.value,
    }
    context = {
        "process_improvement_target_pct": improvement.target,
        "process_improvement_status": improvement.status,
        "lead_time_detail": improvement.detail,
        "deployment_detail": frequency.detail,
        "lead_time_definition": "median lead_time_hours of successful deployments",
    }
    guidance = [
        "Cycle time is not measured: the workspace has no work-item start and finish "
        "times. Say so rather than estimating it.",
    ]
    if sprint is None:
        guidance.append("No sprint record in this run: QA first-pass rate is not measured.")
    return FactBundle(facts=facts, context=context, guidance=guidance)


# --- performance -----------------------------------------------------------------------


class LatencyRow(BaseModel):
    model_config = ConfigDict(extra="ignore")

    measured_on: date
    endpoint: str = Field(min_length=1)
    p95_ms: float = Field(ge=0)


def _last_by_endpoint(rows: list[LatencyRow], start: date, end: date) -> dict[str, float]:
    latest: dict[str, tuple[date, float]] = {}
    for row in rows:
        if start <= row.measured_on < end:
            seen = latest.get(row.endpoint)
            if seen is None or row.measured_on >= seen[0]:
                latest[row.endpoint] = (row.measured_on, row.p95_ms)
    return {k: v for k, (_, v) in latest.items()}


def benchmarks(
    rows: list[LatencyRow], quarter: Period, until: date, threshold_pct: float
) -> list[LatencyBenchmark]:
    """Each endpoint measured in ``quarter`` (up to ``until``) against the quarter before."""
    prev = quarter.previous()
    current = _last_by_endpoint(rows, quarter.start_date, min(quarter.end_date, until))
    before = _last_by_endpoint(rows, prev.start_date, prev.end_date)
    out: list[LatencyBenchmark] = []
    for endpoint in sorted(current):
        p95, old = current[endpoint], before.get(endpoint)
        change = relative_change_pct(old, p95) if old is not None else None
        out.append(
            LatencyBenchmark(
                endpoint=endpoint,
                p95_ms=p95,
                previous_p95_ms=old,
                change_pct=change,
                regression=change is not None and change > threshold_pct,
            )
        )
    return out


def _kpi_summary(result: KPIResult) -> dict[str, Any]:
    return {
        "value": result.value,
        "unit": result.unit,
        "target": result.target,
        "status": result.status,
        "detail": result.detail,
        "by_group": {g.group: g.value for g in result.breakdown},
    }


@facts_builder("quarterly_performance_report")
def build_quarterly_performance_report(ctx: FactsContext) -> FactBundle:
    quarter = quarter_of(ctx.period)
    prev = quarter.previous()
    end = min(quarter.end, ctx.as_of)
    threshold = float(ctx.options.get("regression_threshold_pct", DEFAULT_REGRESSION_PCT))
    path = ctx.workspace.data_dir / LATENCY_FILE
    rows: list[LatencyRow] = []
    if path.is_file():
        rows = read_csv_rows(
            path, LatencyRow, f"data/{LATENCY_FILE}", ("measured_on", "endpoint", "p95_ms")
        )
    marks = benchmarks(rows, quarter, end.date() + timedelta(days=1), threshold)
    improvement = compute_kpi(ctx.workspace, "process_improvement", quarter, end)
    lead, previous_lead = _lead_times_days(improvement)
    facts = {
        "quarter": quarter.label,
        "benchmarks": [b.model_dump() for b in marks],
        "regressions": sum(1 for b in marks if b.regression),
    }
    context = {
        "regression_threshold_pct": threshold,
        "latency_file_present": path.is_file(),
        "deploy_lead_time_days": {quarter.label: lead, prev.label: previous_lead},
        "uptime": {
            quarter.label: _kpi_summary(compute_kpi(ctx.workspace, "uptime", quarter, end)),
            prev.label: _kpi_summary(compute_kpi(ctx.workspace, "uptime", prev, end)),
        },
        "mttr_minutes": {
            quarter.label: _kpi_summary(compute_kpi(ctx.workspace, "mttr", quarter, end)),
            prev.label: _kpi_summary(compute_kpi(ctx.workspace, "mttr", prev, end)),
        },
    }
    guidance = [f"A regression is a p95 rise of more than {threshold:g}% quarter on quarter."]
    if not path.is_file():
        guidance.append(
            f"No latency benchmarks (data/{LATENCY_FILE} is missing): p95 latency was not "
            "measured; say so and assess deploy lead time, uptime and MTTR instead."
        )
    return FactBundle(facts=facts, context=context, guidance=guidance)


# --- tech debt -------------------------------------------------------------------------


class ToolRow(BaseModel):
    model_config = ConfigDict(extra="ignore")

    tool: str = Field(min_length=1)
    criterion: str = Field(min_length=1)
    weight: float = Field(ge=0)
    score: float
    annual_cost: float | None = Field(default=None, ge=0)


def weighted_score(scores: list[CriterionScore], weights: dict[str, float]) -> float | None:
    """sum(weight x score) / sum(weight) over the criteria scored; None if weights sum to 0."""
    total = sum(weights[s.criterion] for s in scores)
    if total == 0:
        return None
    return sum(weights[s.criterion] * s.score for s in scores) / total


def tool_matrix(rows: list[ToolRow], shown: str) -> tuple[list[CriterionWeight], list[ToolScore]]:
    """Criteria weights and one scored row per tool; DataError on inconsistent input."""
    weights: dict[str, float] = {}
    scores: dict[str, list[CriterionScore]] = {}
    costs: dict[str, float] = {}
    for line, row in enumerate(rows, start=2):
        if weights.setdefault(row.criterion, row.weight) != row.weight:
            raise DataError(
                shown,
                f"criterion {row.criterion!r} has weight {row.weight:g} here but "
                f"{weights[row.criterion]:g} on an earlier row",
                line=line,
                column="weight",
            )
        mine = scores.setdefault(row.tool, [])
        if any(s.criterion == row.criterion for s in mine):
            raise DataError(shown, f"tool {row.tool!r} scores {row.criterion!r} twice", line=line)
        mine.append(CriterionScore(criterion=row.criterion, score=row.score))
        cost = row.annual_cost
        if cost is not None and costs.setdefault(row.tool, cost) != cost:
            raise DataError(
                shown,
                f"tool {row.tool!r} has two different annual costs",
                line=line,
                column="annual_cost",
            )
    tools: list[ToolScore] = []
    for name, tool_scores in scores.items():
        value = weighted_score(tool_scores, weights)
        if value is None:
            raise DataError(shown, f"the weights of tool {name!r} sum to zero", column="weight")
        tools.append(
            ToolScore(
                tool=name,
                scores=tool_scores,
                weighted_score=value,
                annual_cost=costs.get(name, 0.0),
            )
        )
    tools.sort(key=lambda t: -t.weighted_score)
    criteria = [CriterionWeight(criterion=c, weight=w) for c, w in weights.items()]
    return criteria, tools


@facts_builder("tech_debt_assessment")
def build_tech_debt_assessment(ctx: FactsContext) -> FactBundle:
    quarter = quarter_of(ctx.period)
    path = ctx.workspace.data_dir / TOOLS_FILE
    shown = f"data/{TOOLS_FILE}"
    criteria: list[CriterionWeight] = []
    tools: list[ToolScore] = []
    if path.is_file():
        rows = read_csv_rows(path, ToolRow, shown, ("tool", "criterion", "weight", "score"))
        criteria, tools = tool_matrix(rows, shown)
    debt = [
        r
        for r in backlog_rows(ctx.workspace)
        if (r.source or "").strip().lower() in TECH_DEBT_SOURCES
        and (r.status or "").lower() not in ("done", "closed")
    ]
    facts = {
        "quarter": quarter.label,
        "criteria": [c.model_dump() for c in criteria],
        "tools": [t.model_dump() for t in tools],
        "total_annual_cost": sum(t.annual_cost for t in tools),
    }
    context = {
        "tools_file_present": path.is_file(),
        "tech_debt_backlog": [
            {
                "id": r.id,
                "title": r.title,
                "status": r.status,
                "effort": r.effort,
                "reach": r.reach,
                "impact": r.impact,
                "confidence": r.confidence,
            }
            for r in debt
        ],
    }
    guidance: list[str] = []
    if not tools:
        guidance.append(
            f"No tool matrix (data/{TOOLS_FILE} is missing or empty): give no scores or "
            "costs; assess the tech-debt backlog items instead and say the stack was not scored."
        )
    return FactBundle(facts=facts, context=context, guidance=guidance)
