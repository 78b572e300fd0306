"""MRR movements, linear revenue forecast, budget variance and unit economics.

MRR movements compare each customer's MRR with the previous calendar month (a month
without rows counts as 0 MRR for everyone):

- new: 0 before, > 0 now, and never paid in any earlier month;
- reactivation: 0 before, > 0 now, but paid in some earlier month (not counted as new);
- expansion / contraction: paid in both months, more / less now (the difference);
- churned: paid before, 0 now (the previous amount).

Net new MRR = new + reactivation + expansion - contraction - churned, which equals the
change in total MRR. The first month has no previous month, so its movements are None.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from nexus_agents.data.schema import MAX_AMOUNT
from nexus_agents.tools._dates import Month, add_months, month_label, months_between
from nexus_agents.tools._math import least_squares, pct, r_squared, ratio
from nexus_agents.tools.base import tool

# --- MRR -------------------------------------------------------------------------------


class SubscriptionRecord(BaseModel):
    """A customer's MRR in a month (several rows of one customer and month are added)."""

    model_config = ConfigDict(frozen=True, extra="ignore", allow_inf_nan=False)

    month: Month = Field(description="YYYY-MM or a date in that month")
    customer_id: str
    mrr: float = Field(ge=0, le=MAX_AMOUNT)


class MrrMonth(BaseModel):
    month: str = Field(description="YYYY-MM")
    mrr: float
    arr: float = Field(description="12 x MRR")
    customers: int = Field(description="customers with MRR > 0")
    new_mrr: float | None
    reactivation_mrr: float | None
    expansion_mrr: float | None
    contraction_mrr: float | None
    churned_mrr: float | None
    net_new_mrr: float | None
    new_customers: int | None
    reactivated_customers: int | None
    churned_customers: int | None


class MrrInput(BaseModel):
    rows: list[SubscriptionRecord]
    forecast_months: int = Field(default=3, ge=1, le=24)


class ForecastPoint(BaseModel):
    month: str = Field(description="YYYY-MM")
    value: float


class Forecast(BaseModel):
    """A least-squares linear trend over a monthly series, extended ``horizon`` months."""

    available: bool
    reason: str = ""
    slope: float | None = Field(default=None, description="change per month")
    intercept: float | None = Field(default=None, description="value at the first month")
    r_squared: float | None = None
    fitted: list[ForecastPoint] = Field(default_factory=list)
    forecast: list[ForecastPoint] = Field(default_factory=list)
    clipped_at_zero: bool = Field(
        default=False, description="a negative projected value was replaced by 0"
    )


class MrrOutput(BaseModel):
    months: list[MrrMonth]
    forecast: Forecast = Field(description="MRR forecast")


def _mrr_by_month(rows: list[SubscriptionRecord]) -> dict[date, dict[str, float]]:
    table: dict[date, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in rows:
        table[r.month][r.customer_id] += r.mrr
    return table


def mrr_months(rows: list[SubscriptionRecord]) -> list[MrrMonth]:
    """Monthly MRR, ARR, movements and customer counts (see the module docstring)."""
    if not rows:
        return []
    table = _mrr_by_month(rows)
    out: list[MrrMonth] = []
    previous: dict[str, float] | None = None
    ever_paid: set[str] = set()
    for month in months_between(min(table), max(table)):
        current = {c: v for c, v in table.get(month, {}).items() if v > 0}
        total = sum(current.values())
        if previous is None:
            moves: dict[str, float | int | None] = dict.fromkeys(
                (
                    "new_mrr",
                    "reactivation_mrr",
                    "expansion_mrr",
                    "contraction_mrr",
                    "churned_mrr",
                    "net_new_mrr",
                    "new_customers",
                    "reactivated_customers",
                    "churned_customers",
                )
            )
        else:
            new = [c for c in current if c not in previous and c not in ever_paid]
            back = [c for c in current if c not in previous and c in ever_paid]
            gone = [c for c in previous if c not in current]
            both = [c for c in current if c in previous]
            parts = {
                "new_mrr": sum(current[c] for c in new),
                "reactivation_mrr": sum(current[c] for c in back),
                "expansion_mrr": sum(max(0.0, current[c] - previous[c]) for c in both),
                "contraction_mrr": sum(max(0.0, previous[c] - current[c]) for c in both),
                "churned_mrr": sum(previous[c] for c in gone),
            }
            moves = {
                **parts,
                "net_new_mrr": parts["new_mrr"]
                + parts["reactivation_mrr"]
                + parts["expansion_mrr"]
                - parts["contraction_mrr"]
                - parts["churned_mrr"],
                "new_customers": len(new),
                "reactivated_customers": len(back),
                "churned_customers": len(gone),
            }
        out.append(
            MrrMonth(
                month=month_label(month),
                mrr=total,
                arr=12 * total,
                customers=len(current),
                **moves,  # type: ignore[arg-type]
            )
        )
        ever_paid.update(current)
        previous = current
    return out


def linear_forecast(
    months: list[date], values: list[float], horizon: int, *, clip_at_zero: bool = True
) -> Forecast:
    """OLS line through (month index, value) and its next ``horizon`` months."""
    if len(values) < 2:
        return Forecast(
            available=False,
            reason=f"need at least 2 months of data for a trend, got {len(values)}",
        )
    xs = [float(i) for i in range(len(values))]
    line = least_squares(xs, values)
    assert line is not None  # xs are distinct
    slope, intercept = line
    fitted_values = [intercept + slope * x for x in xs]
    projected: list[ForecastPoint] = []
    clipped = False
    for step in range(1, horizon + 1):
        value = intercept + slope * (len(values) - 1 + step)
        if clip_at_zero and value < 0:
            value, clipped = 0.0, True
        projected.append(
            ForecastPoint(month=month_label(add_months(months[-1], step)), value=value)
        )
    return Forecast(
        available=True,
        slope=slope,
        intercept=intercept,
        r_squared=r_squared(values, fitted_values),
        fitted=[
            ForecastPoint(month=month_label(m), value=v)
            for m, v in zip(months, fitted_values, strict=True)
        ],
        forecast=projected,
        clipped_at_zero=clipped,
    )


@tool()
def mrr_report(args: MrrInput) -> MrrOutput:
    """Monthly MRR and ARR with new, reactivation, expansion, contraction and churned MRR.

    Rows are (month, customer_id, mrr). Every month from the first to the last row is
    reported; a customer missing from a month has 0 MRR. A returning customer who paid
    before counts as reactivation, not new. The first month has no movements (None).
    Also forecasts MRR for the next months with a least-squares linear trend (at least 2
    months needed; negative projections are clipped to 0).
    """
    months = mrr_months(args.rows)
    starts = [date.fromisoformat(f"{m.month}-01") for m in months]
    forecast = linear_forecast(starts, [m.mrr for m in months], args.forecast_months)
    return MrrOutput(months=months, forecast=forecast)


class SeriesPoint(BaseModel):
    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    month: Month = Field(description="YYYY-MM or a date in that month")
    value: float = Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT)


class ForecastInput(BaseModel):
    points: list[SeriesPoint] = Field(description="one value per month, consecutive months")
    horizon: int = Field(default=3, ge=1, le=24, description="months to project")
    clip_at_zero: bool = Field(default=True, description="replace negative projections by 0")


@tool()
def forecast_monthly(args: ForecastInput) -> Forecast:
    """Project a monthly series (revenue, cost, users ...) with a least-squares linear trend.

    Points are sorted by month and must not repeat a month; gaps are not filled, each point
    is one step. Returns slope (per month), intercept (value at the first month), R
    squared, the fitted points and the next ``horizon`` months. Fewer than 2 points gives
    no forecast and a reason.
    """
    points = sorted(args.points, key=lambda p: p.month)
    months = [p.month for p in points]
    if len(set(months)) != len(months):
        raise ValueError("forecast points repeat a month")
    return linear_forecast(
        months, [p.value for p in points], args.horizon, clip_at_zero=args.clip_at_zero
    )


# --- budget variance --------------------------------------------------------------------


class FinanceRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", allow_inf_nan=False)

    month: Month = Field(description="YYYY-MM or a date in that month")
    kind: Literal["revenue", "cost"]
    category: str
    amount: float = Field(ge=0, le=MAX_AMOUNT)
    budget: float | None = Field(default=None, ge=0, le=MAX_AMOUNT)


class VarianceLine(BaseModel):
    month: str
    kind: Literal["revenue", "cost"]
    category: str
    actual: float
    budget: float | None
    variance: float | None = Field(description="actual - budget")
    variance_pct: float | None = Field(description="100 x variance / budget")
    over_budget: bool = Field(description="a cost above its budget")
    favorable: bool | None = Field(
        description="cost at or under budget, or revenue at or above budget"
    )


class BudgetVarianceInput(BaseModel):
    rows: list[FinanceRecord]
    month: Month | None = Field(default=None, description="only this month (YYYY-MM)")


class BudgetVarianceOutput(BaseModel):
    lines: list[VarianceLine] = Field(description="by month, kind, category")
    over_budget: list[VarianceLine] = Field(description="the cost lines above budget")


@tool()
def budget_variance(args: BudgetVarianceInput) -> BudgetVarianceOutput:
    """Budget variance per month and category: actual - budget, percent, over-budget flag.

    Rows of the same month, kind and category are added. Lines without any budget have no
    variance. over_budget is true only for costs above budget; favorable also judges
    revenue (at or above budget is favorable).
    """
    actual: dict[tuple[date, str, str], float] = defaultdict(float)
    budget: dict[tuple[date, str, str], float] = {}
    for r in args.rows:
        if args.month is not None and r.month != args.month:
            continue
        key = (r.month, r.kind, r.category)
        actual[key] += r.amount
        if r.budget is not None:
            budget[key] = budget.get(key, 0.0) + r.budget
    lines: list[VarianceLine] = []
    for key in sorted(actual):
        month, kind, category = key
        plan = budget.get(key)
        variance = None if plan is None else actual[key] - plan
        favorable = None
        if variance is not None:
            favorable = variance <= 0 if kind == "cost" else variance >= 0
        lines.append(
            VarianceLine(
                month=month_label(month),
                kind=kind,  # type: ignore[arg-type]
                category=category,
                actual=actual[key],
                budget=plan,
                variance=variance,
                variance_pct=None if variance is None or plan is None else pct(variance, plan),
                over_budget=kind == "cost" and variance is not None and variance > 0,
                favorable=favorable,
            )
        )
    return BudgetVarianceOutput(lines=lines, over_budget=[ln for ln in lines if ln.over_budget])


# --- unit economics ---------------------------------------------------------------------


class UnitEconomicsInput(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False)

    cac: float = Field(ge=0, le=MAX_AMOUNT, description="customer acquisition cost")
    arpa: float = Field(ge=0, le=MAX_AMOUNT, description="average revenue per account per month")
    gross_margin: float = Field(gt=0, le=1, description="fraction, e.g. 0.8")
    monthly_churn: float | None = Field(
        default=None, ge=0, le=1, description="fraction of customers lost per month"
    )


class UnitEconomicsOutput(BaseModel):
    payback_months: float | None = Field(description="CAC / (ARPA x gross margin)")
    ltv: float | None = Field(description="ARPA x gross margin / monthly churn")
    ltv_to_cac: float | None
    reasons: list[str] = Field(default_factory=list)


@tool()
def unit_economics(args: UnitEconomicsInput) -> UnitEconomicsOutput:
    """Payback period in months = CAC / (ARPA x gross margin); with a monthly churn rate also
    LTV = ARPA x gross margin / churn and LTV:CAC. Undefined values are None with a reason.
    """
    reasons: list[str] = []
    margin_revenue = args.arpa * args.gross_margin
    payback = ratio(args.cac, margin_revenue)
    if margin_revenue == 0:
        reasons.append("ARPA is 0: payback never happens")
    elif payback is None:
        reasons.append("n/a: payback is too large to be a number")
    ltv = None
    if args.monthly_churn is None:
        reasons.append("no churn rate given: LTV not computed")
    elif args.monthly_churn == 0:
        reasons.append("zero churn: LTV is unbounded")
    else:
        ltv = ratio(margin_revenue, args.monthly_churn)
        if ltv is None:
            reasons.append("n/a: LTV is too large to be a number (churn near 0)")
    ltv_cac = None
    if ltv is not None:
        if args.cac == 0:
            reasons.append("CAC is 0: LTV:CAC undefined")
        else:
            ltv_cac = ratio(ltv, args.cac)
            if ltv_cac is None:
                reasons.append("n/a: LTV:CAC is too large to be a number (CAC near 0)")
    return UnitEconomicsOutput(payback_months=payback, ltv=ltv, ltv_to_cac=ltv_cac, reasons=reasons)
