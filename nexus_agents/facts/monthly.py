"""Facts for the monthly reports: executive summary, finance, compliance, market brief,
brand health, growth review and content operations review.

Each builder reports on the month of the step's period (or, for another period kind, the
month containing its last day); event counts stop at ``as_of``.

Optional workspace file read here (not part of the data schema):

``data/market_sources.csv``
    Sources the Trend Researcher may cite. Columns: ``source_id`` and ``title``
    (required), ``url``, ``published`` (``YYYY-MM-DD``) and ``summary`` (optional).
    Rows published in the month, or without a date, are offered; the summary is outside
    text and reaches the prompt only fenced as data. Without the file the brief gets no
    sources and must say so.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar, cast

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from nexus_agents.artifacts.facts import (
    BudgetVariance,
    ChannelMetric,
    ExperimentStat,
    ForecastPoint,
    FunnelStage,
    KpiValue,
    MoneyLine,
    SourceRef,
)
from nexus_agents.data.rows import (
    ActivityRow,
    ComplianceRow,
    ExperimentRow,
    UserRow,
    compliance_rows,
    content_rows,
    experiment_rows,
    feedback_rows,
    finance_rows,
    marketing_spend_rows,
    read_rows,
    subscription_rows,
)
from nexus_agents.exceptions import DataError
from nexus_agents.facts import FactsContext, facts_builder
from nexus_agents.facts.bundle import FactBundle, UntrustedText
from nexus_agents.facts.daily import kpi_report, kpis_with_previous
from nexus_agents.facts.platform import PLATFORM_CADENCE, platform_activity, window
from nexus_agents.periods import Period, PeriodKind, period_containing
from nexus_agents.tools.finance import (
    BudgetVarianceInput,
    FinanceRecord,
    Forecast,
    ForecastInput,
    MrrInput,
    SeriesPoint,
    SubscriptionRecord,
    UnitEconomicsInput,
    VarianceLine,
    budget_variance,
    forecast_monthly,
    mrr_report,
    unit_economics,
)
from nexus_agents.tools.funnel import FunnelInput, SpendRow, first_paid_months, funnel_report
from nexus_agents.tools.kpis import KPIReport, compute_kpi
from nexus_agents.tools.retention import RetentionInput, RetentionOutput, retention_cohorts
from nexus_agents.tools.rows_types import ActivityRecord, UserRecord
from nexus_agents.tools.stats import AnalyzeExperimentInput, analyze_experiment
from nexus_agents.tools.stats import ExperimentRow as StatsExperimentRow

__all__ = [
    "MARKET_SOURCES_FILE",
    "build_brand_health_report",
    "build_compliance_status_report",
    "build_content_ops_review",
    "build_monthly_executive_summary",
    "build_monthly_financial_report",
    "build_monthly_growth_review",
    "build_monthly_market_brief",
    "kpi_details",
    "month_of",
    "read_csv_rows",
    "read_market_sources",
]

M = TypeVar("M", bound=BaseModel)

MARKET_SOURCES_FILE = "market_sources.csv"
MAX_UNTRUSTED = 40
COHORT_LOOKBACK_WEEKS = 8


def month_of(period: Period) -> Period:
    """The month a monthly report covers for ``period``."""
    if period.kind is PeriodKind.MONTH:
        return period
    return period_containing(PeriodKind.MONTH, period.end - timedelta(microseconds=1))


def kpi_details(report: KPIReport) -> list[dict[str, object]]:
    """How each KPI was measured (sample sizes and notes) for the prompt."""
    return [
        {
            "key": r.key,
            "name": r.name,
            "status": r.status,
            "sample_size": r.sample_size,
            "detail": r.detail,
        }
        for r in report.results
    ]


# --- executive summary -----------------------------------------------------------------


@facts_builder("monthly_executive_summary")
def build_monthly_executive_summary(ctx: FactsContext) -> FactBundle:
    month = month_of(ctx.period)
    report = kpi_report(ctx, month)
    previous = kpi_report(ctx, month.previous())
    kpis = kpis_with_previous(report, previous)
    facts = {"month": month.label, "kpis": [k.model_dump() for k in kpis]}
    headline = {
        "kpis_met": report.count("met"),
        "kpis_missed": report.count("missed"),
        "kpis_without_data": report.count("no_data"),
        "off_target": [r.name for r in report.results if r.status == "missed"],
        "previous_month": previous.period,
    }
    context = {"headline": headline, "kpi_details": kpi_details(report)}
    guidance = [
        "Quantify every finding with a KPI value, target or change from the facts.",
        "Lead with the off-target KPIs; a KPI without data is reported as such, not guessed.",
    ]
    return FactBundle(facts=facts, context=context, guidance=guidance)


# --- compliance ------------------------------------------------------------------------


@facts_builder("compliance_status_report")
def build_compliance_status_report(ctx: FactsContext) -> FactBundle:
    month = month_of(ctx.period)
    adherence = compute_kpi(ctx.workspace, "regulatory_adherence", month, ctx.as_of)
    today = ctx.as_of.date()
    rows = [r for r in compliance_rows(ctx.workspace) if r.applicable]
    overdue = [r for r in rows if r.status != "compliant" and r.due_on and r.due_on < today]

    def line(r: ComplianceRow) -> dict[str, object]:
        return {
            "control_id": r.control_id,
            "framework": r.framework,
            "status": r.status,
            "due_on": r.due_on.isoformat() if r.due_on else None,
            "overdue": r in overdue,
            "has_evidence": bool(r.evidence),
        }

    facts = {
        "month": month.label,
        "applicable_controls": int(adherence.denominator or 0),
        "passing_controls": int(adherence.numerator or 0),
        "adherence_pct": adherence.value,
        "overdue_items": [
            f"{r.control_id} ({r.framework}, {r.status}, due {r.due_on.isoformat()})"
            for r in overdue
            if r.due_on
        ],
    }
    context = {
        "adherence_target_pct": adherence.target,
        "adherence_status": adherence.status,
        "adherence_detail": adherence.detail,
        "by_framework": [g.model_dump() for g in adherence.breakdown],
        "non_compliant_controls": [line(r) for r in rows if r.status == "non_compliant"],
        "in_progress_controls": [line(r) for r in rows if r.status == "in_progress"],
        "not_tracked_in_workspace": [
            "data subject requests",
            "vulnerability scans",
            "training completion",
            "policy acknowledgement",
        ],
    }
    guidance = [
        "An overdue control is one not compliant whose due date is before the as-of date.",
        "Data subject requests, vulnerability scans, training and policy acknowledgement "
        "are not tracked in this workspace: say they were not measured; do not report them as 0.",
    ]
    if not ctx.workspace.has("compliance"):
        guidance.append("data/compliance.csv is missing: adherence could not be measured.")
    return FactBundle(facts=facts, context=context, guidance=guidance)


# --- market brief ----------------------------------------------------------------------


class MarketSourceRow(BaseModel):
    """One row of ``data/market_sources.csv``."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    source_id: str
    title: str
    url: str = ""
    published: str = ""
    summary: str = ""

    @field_validator("source_id", "title")
    @classmethod
    def _present(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("published")
    @classmethod
    def _iso_date(cls, value: str) -> str:
        if value:
            date.fromisoformat(value)
        return value


def read_csv_rows(path: Path, model: type[M], shown: str, required: tuple[str, ...]) -> list[M]:
    """Validated rows of an optional CSV file; DataError names the line and column."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        for needed in required:
            if needed not in header:
                raise DataError(shown, f"missing required column {needed!r}", line=1)
        rows: list[M] = []
        for line, raw in enumerate(reader, start=2):
            data = {k: v.strip() for k, v in raw.items() if k is not None and v and v.strip()}
            try:
                rows.append(model.model_validate(data))
            except ValidationError as exc:
                err = exc.errors()[0]
                column = str(err["loc"][0]) if err["loc"] else None
                msg = str(err["msg"]).removeprefix("Value error, ")
                raise DataError(shown, msg, line=line, column=column) from None
    return rows


def read_market_sources(path: Path, shown: str | None = None) -> list[MarketSourceRow]:
    """Rows of a market sources file (unique ``source_id``)."""
    shown = shown or str(path)
    rows = read_csv_rows(path, MarketSourceRow, shown, ("source_id", "title"))
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):
        if row.source_id in seen:
            raise DataError(shown, "duplicate source_id", line=line, column="source_id")
        seen.add(row.source_id)
    return rows


@facts_builder("monthly_market_brief")
def build_monthly_market_brief(ctx: FactsContext) -> FactBundle:
    month = month_of(ctx.period)
    path = ctx.workspace.data_dir / MARKET_SOURCES_FILE
    rows: list[MarketSourceRow] = []
    if path.is_file():
        rows = read_market_sources(path, shown=f"data/{MARKET_SOURCES_FILE}")
    offered = [
        r for r in rows if not r.published or month.contains(date.fromisoformat(r.published))
    ]
    sources = [
        SourceRef(source_id=r.source_id, title=r.title, url=r.url, published=r.published)
        for r in offered
    ]
    facts = {"month": month.label, "sources": [s.model_dump() for s in sources]}
    guidance = ["Cite only the source ids in the facts; every trend and move needs one."]
    if not sources:
        guidance.append(
            "No market sources were provided for this month "
            f"(data/{MARKET_SOURCES_FILE}); say so plainly and list no trends or "
            "competitor moves."
        )
    untrusted = [
        UntrustedText(source="market_source", id=r.source_id, text=r.summary)
        for r in offered
        if r.summary
    ]
    context = {"sources_file_present": path.is_file(), "sources_offered": len(sources)}
    return FactBundle(facts=facts, context=context, untrusted=untrusted, guidance=guidance)


# --- brand health ----------------------------------------------------------------------


@facts_builder("brand_health_report")
def build_brand_health_report(ctx: FactsContext) -> FactBundle:
    month = month_of(ctx.period)
    start, end = window(month, ctx.as_of)
    content = [r for r in content_rows(ctx.workspace) if start <= r.published_at < end]
    feedback = [r for r in feedback_rows(ctx.workspace) if start <= r.created_at < end]
    platforms = sorted({r.platform.lower() for r in content})
    ratings = [r.rating for r in feedback if r.rating is not None]
    facts = {
        "month": month.label,
        "assets_audited": len(content),
        "assets_consistent": None,
        "consistency_pct": None,
    }
    context = {
        "published_content": [
            platform_activity(p, content, start, end).model_dump() for p in platforms
        ],
        "feedback_mentions": len(feedback),
        "feedback_by_source": dict(sorted(Counter(r.source for r in feedback).items())),
        "feedback_rated": len(ratings),
        "feedback_mean_rating": round(sum(ratings) / len(ratings), 2) if ratings else None,
    }
    guidance = [
        "The audited assets are the content items published this month; no consistency "
        "score is recorded, so judge consistency from what you can see and say so.",
    ]
    if not content and not feedback:
        guidance.append("No content or feedback in the month: there is nothing to audit.")
    untrusted = [
        UntrustedText(source=f"feedback:{r.source}", id=r.id, text=r.text)
        for r in feedback[-MAX_UNTRUSTED:]
    ]
    return FactBundle(facts=facts, context=context, untrusted=untrusted, guidance=guidance)


# --- content operations review ---------------------------------------------------------


@facts_builder("content_ops_review")
def build_content_ops_review(ctx: FactsContext) -> FactBundle:
    month = month_of(ctx.period)
    start, end = window(month, ctx.as_of)
    rows = content_rows(ctx.workspace)
    seen = {r.platform.lower() for r in rows if start <= r.published_at < end}
    platforms = [*PLATFORM_CADENCE, *sorted(seen - set(PLATFORM_CADENCE))]
    activity = [platform_activity(p, rows, start, end) for p in platforms]
    below = [a.platform for a in activity if a.target_min is not None and a.posts < a.target_min]
    facts = {
        "month": month.label,
        "platforms": [a.model_dump() for a in activity],
        "platforms_below_cadence": below,
    }
    context = {
        "playbook_cadence": {p: c.text for p, c in PLATFORM_CADENCE.items()},
        "days_counted": round((end - start).total_seconds() / 86400, 2),
    }
    guidance = ["Targets are the playbook's weekly cadence scaled to the days counted."]
    if not ctx.workspace.has("content"):
        guidance.append("data/content.csv is missing: no posting history; say so.")
    return FactBundle(facts=facts, context=context, guidance=guidance)


# --- financial report ------------------------------------------------------------------


def _monthly_totals(lines: list[VarianceLine], kind: str, last: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for line in lines:
        if line.kind == kind and line.month <= last:
            totals[line.month] = totals.get(line.month, 0.0) + line.actual
    return totals


def _forecast(
    lines: list[VarianceLine], last: str, horizon: int
) -> tuple[list[ForecastPoint], dict[str, object]]:
    """Revenue and cost projected by the forecast tool from the monthly totals so far."""
    series: dict[str, Forecast] = {}
    for kind in ("revenue", "cost"):
        totals = _monthly_totals(lines, kind, last)
        points = [SeriesPoint(month=m, value=v) for m, v in sorted(totals.items())]
        series[kind] = forecast_monthly(ForecastInput(points=points, horizon=horizon))
    revenue, cost = series["revenue"], series["cost"]
    out: list[ForecastPoint] = []
    if revenue.available and cost.available:
        for r, c in zip(revenue.forecast, cost.forecast, strict=True):
            out.append(
                ForecastPoint(
                    month=r.month, revenue=r.value, cost=c.value, net_cash_flow=r.value - c.value
                )
            )
    detail = {
        kind: {
            "available": f.available,
            "reason": f.reason,
            "slope_per_month": f.slope,
            "r_squared": f.r_squared,
        }
        for kind, f in series.items()
    }
    return out, detail


@facts_builder("monthly_financial_report")
def build_monthly_financial_report(ctx: FactsContext) -> FactBundle:
    month = month_of(ctx.period)
    label = month.label
    horizon = int(ctx.options.get("forecast_months", 3))
    subs = [
        SubscriptionRecord(month=r.month, customer_id=r.customer_id, mrr=r.mrr)
        for r in subscription_rows(ctx.workspace)
        if r.month < month.end_date
    ]
    mrr = mrr_report(MrrInput(rows=subs, forecast_months=horizon))
    this = next((m for m in mrr.months if m.month == label), None)
    finance = [
        FinanceRecord(
            month=r.month, kind=r.kind, category=r.category, amount=r.amount, budget=r.budget
        )
        for r in finance_rows(ctx.workspace)
    ]
    variance = budget_variance(BudgetVarianceInput(rows=finance))
    in_month = [line for line in variance.lines if line.month == label]
    ltv_cac = compute_kpi(ctx.workspace, "ltv_cac", month, ctx.as_of)
    cac = ltv_cac.denominator if ltv_cac.value is not None else None
    ltv = ltv_cac.numerator if ltv_cac.value is not None else None
    payback: float | None = None
    economics_notes: list[str] = []
    if cac is not None and this is not None and this.customers:
        economics = unit_economics(
            UnitEconomicsInput(
                cac=cac,
                arpa=this.mrr / this.customers,
                gross_margin=ctx.workspace.config.product.gross_margin,
            )
        )
        payback = economics.payback_months
        economics_notes = [r for r in economics.reasons if "churn" not in r]
    spend: dict[str, float] = {}
    for row in marketing_spend_rows(ctx.workspace):
        if month.contains(row.month):
            spend[row.channel] = spend.get(row.channel, 0.0) + row.amount
    forecast, forecast_detail = _forecast(variance.lines, label, horizon)
    facts = {
        "month": label,
        "currency": ctx.workspace.config.product.currency,
        "mrr": this.mrr if this else None,
        "arr": this.arr if this else None,
        "new_mrr": this.new_mrr if this else None,
        "expansion_mrr": this.expansion_mrr if this else None,
        "contraction_mrr": this.contraction_mrr if this else None,
        "churned_mrr": this.churned_mrr if this else None,
        "revenue_by_plan": [
            MoneyLine(label=line.category, amount=line.actual).model_dump()
            for line in in_month
            if line.kind == "revenue"
        ],
        "costs_by_category": [
            MoneyLine(label=line.category, amount=line.actual).model_dump()
            for line in in_month
            if line.kind == "cost"
        ],
        "marketing_spend_by_channel": [
            MoneyLine(label=k, amount=v).model_dump() for k, v in sorted(spend.items())
        ],
        "cac": cac,
        "ltv": ltv,
        "ltv_cac_ratio": ltv_cac.value,
        "payback_months": payback,
        "forecast": [p.model_dump() for p in forecast],
        "budget_variance": [
            BudgetVariance(
                category=f"{line.kind}: {line.category}",
                budget=line.budget,
                actual=line.actual,
                variance_pct=line.variance_pct,
            ).model_dump()
            for line in in_month
            if line.budget is not None
        ],
    }
    context = {
        "over_budget": [
            {
                "category": line.category,
                "variance": line.variance,
                "variance_pct": line.variance_pct,
            }
            for line in variance.over_budget
            if line.month == label
        ],
        "mrr_movements": this.model_dump() if this else None,
        "mrr_forecast": [p.model_dump() for p in mrr.forecast.forecast],
        "forecast_detail": forecast_detail,
        "ltv_cac_detail": ltv_cac.detail,
        "ltv_cac_target": ltv_cac.target,
        "unit_economics_notes": economics_notes,
        "gross_margin": ctx.workspace.config.product.gross_margin,
    }
    guidance = [
        "Flag every cost category in over_budget; the forecast is a linear trend of the "
        "monthly totals so far.",
    ]
    if this is None:
        guidance.append(f"No subscription data for {label}: MRR and ARR were not measured.")
    return FactBundle(facts=facts, context=context, guidance=guidance)


# --- growth review ---------------------------------------------------------------------


def _experiment_stats(rows: list[ExperimentRow], month: Period) -> list[ExperimentStat]:
    """Experiments that ran during ``month``, each variant tested against its control."""
    ran = {
        r.experiment_id
        for r in rows
        if (r.started_on is None or r.started_on < month.end_date)
        and (r.ended_on is None or r.ended_on >= month.start_date)
    }
    arms = [
        StatsExperimentRow(
            experiment_id=r.experiment_id,
            variant=r.variant,
            exposures=r.exposures,
            conversions=r.conversions,
        )
        for r in rows
        if r.experiment_id in ran
    ]
    out: list[ExperimentStat] = []
    for result in analyze_experiment(AnalyzeExperimentInput(rows=arms)).experiments:
        for v in result.variants:
            out.append(
                ExperimentStat(
                    experiment_id=result.experiment_id,
                    name=f"{result.experiment_id}: {v.variant} vs {result.control}",
                    metric="conversion",
                    control_n=result.control_exposures,
                    control_conversions=result.control_conversions,
                    variant_n=v.exposures,
                    variant_conversions=v.conversions,
                    lift_pct=v.lift_pct,
                    p_value=v.p_value,
                    ci_low=v.ci_low,
                    ci_high=v.ci_high,
                    required_sample_per_arm=v.required_sample_per_arm,
                    significant=v.significant,
                )
            )
    return out


def _cohort_retention(ctx: FactsContext, month: Period, users: list[UserRecord]) -> RetentionOutput:
    """Weekly sign-up cohorts of the month and the weeks before, with retention dips."""
    since = month.start - timedelta(weeks=COHORT_LOOKBACK_WEEKS)
    until = min(month.end, ctx.as_of)
    cohort_users = [u for u in users if since <= u.signup_at < until]
    activity = [
        ActivityRecord(user_id=a.user_id, active_on=a.active_on)
        for a in cast(
            list[ActivityRow],
            read_rows(
                ctx.workspace,
                "activity",
                where="active_on >= ? AND active_on < ?",
                params=[since.date(), until.date()],
            ),
        )
    ]
    return retention_cohorts(
        RetentionInput(users=cohort_users, activity=activity, as_of=until, cohort="week")
    )


def _cohort_points(curves: RetentionOutput, target: float) -> list[KpiValue]:
    out: list[KpiValue] = []
    for curve in curves.cohorts:
        point = next((p for p in curve.points if p.offset == curves.flag_offset), None)
        if point is not None and point.retention_pct is not None:
            out.append(
                KpiValue(
                    name=f"Day {curves.flag_offset} retention, cohort {curve.cohort}",
                    value=point.retention_pct,
                    unit="%",
                    target=target,
                    meets_target=point.retention_pct > target,
                )
            )
    return out


@facts_builder("monthly_growth_review")
def build_monthly_growth_review(ctx: FactsContext) -> FactBundle:
    month = month_of(ctx.period)
    report = kpi_report(ctx, month)
    previous = kpi_report(ctx, month.previous())
    kpis = {k.name: k for k in kpis_with_previous(report, previous)}
    by_key = report.by_key()
    users = [
        UserRecord(
            user_id=u.user_id, signup_at=u.signup_at, activated_at=u.activated_at, channel=u.channel
        )
        for u in cast(list[UserRow], read_rows(ctx.workspace, "users"))
        if u.signup_at < month.end
    ]
    paying = first_paid_months(
        [(r.customer_id, r.month, r.mrr) for r in subscription_rows(ctx.workspace)]
    )
    spend = [
        SpendRow(month=r.month, channel=r.channel, amount=r.amount)
        for r in marketing_spend_rows(ctx.workspace)
    ]
    funnel = funnel_report(FunnelInput(users=users, paying=paying, spend=spend, period="month"))
    rows = [f for f in funnel.funnel if f.period == month.label]
    cac = {c.channel: c for c in funnel.cac if c.month == month.label}
    signups = {f.channel: f for f in rows if f.channel != "(all)"}
    channels = [
        ChannelMetric(
            channel=name,
            new_users=signups[name].signups if name in signups else 0,
            spend=cac[name].spend if name in cac else 0.0,
            cac=cac[name].cac if name in cac else None,
            conversion_pct=signups[name].overall_pct if name in signups else None,
        )
        for name in sorted(set(signups) | set(cac))
    ]
    total = next((f for f in rows if f.channel == "(all)"), None)
    stages = (
        [
            FunnelStage(stage="signed_up", users=total.signups),
            FunnelStage(
                stage="activated", users=total.activated, conversion_pct=total.activation_pct
            ),
            FunnelStage(
                stage="paying", users=total.paying, conversion_pct=total.paid_conversion_pct
            ),
        ]
        if total is not None
        else []
    )
    experiments = _experiment_stats(experiment_rows(ctx.workspace), month)
    curves = _cohort_retention(ctx, month, users)
    retention = [kpis[by_key[k].name] for k in ("retention_d7", "retention_d30")]
    retention += _cohort_points(curves, by_key["retention_d7"].target)
    facts = {
        "month": month.label,
        "mom_user_growth_pct": by_key["mom_user_growth"].value,
        "channels": [c.model_dump() for c in channels],
        "funnel": [s.model_dump() for s in stages],
        "ltv_cac_ratio": by_key["ltv_cac"].value,
        "experiments": [e.model_dump() for e in experiments],
        "retention": [k.model_dump() for k in retention],
        "feature_adoption": [kpis[by_key["activation_rate"].name].model_dump()],
        "viral_coefficient": None,
    }
    context = {
        "ltv_cac_trend": {
            month.previous().label: previous.by_key()["ltv_cac"].value,
            month.label: by_key["ltv_cac"].value,
        },
        "ltv_cac_detail": by_key["ltv_cac"].detail,
        "mom_user_growth_detail": by_key["mom_user_growth"].detail,
        "cac_notes": {c.channel: c.reason for c in cac.values() if c.reason},
        "unattributed_new_customers": funnel.unattributed_customers,
        "retention_cohorts": [
            {
                "cohort": c.cohort,
                "users": c.users,
                "points": {p.offset: p.retention_pct for p in c.points},
                "dip": c.flagged,
            }
            for c in curves.cohorts
        ],
        "churn_risk_cohorts": curves.flagged,
        "experiment_recommendations": {
            e.experiment_id: "significant" if e.significant else "not significant"
            for e in experiments
        },
    }
    guidance = [
        "Cover the playbook's four sections: channel performance, experiment results, "
        "retention analysis and the growth roadmap.",
        "Only call an experiment a win when its facts say significant.",
        "The viral coefficient is not measured in this workspace.",
    ]
    return FactBundle(facts=facts, context=context, guidance=guidance)
