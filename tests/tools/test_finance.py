"""MRR movements, linear forecast, budget variance and unit economics."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from nexus_agents.tools.base import get_tool
from nexus_agents.tools.finance import (
    BudgetVarianceInput,
    ForecastInput,
    MrrInput,
    UnitEconomicsInput,
    budget_variance,
    forecast_monthly,
    mrr_report,
    unit_economics,
)


def subs(*rows: tuple[str, str, float]) -> list[dict[str, object]]:
    return [{"month": m, "customer_id": c, "mrr": v} for m, c, v in rows]


ROWS = subs(
    ("2026-01", "a", 100), ("2026-01", "b", 50), ("2026-01", "c", 30),
    ("2026-02", "a", 120), ("2026-02", "b", 40), ("2026-02", "d", 60),
    ("2026-03-01", "a", 120), ("2026-03-01", "c", 30), ("2026-03-01", "d", 0),
    ("2026-03-01", "e", 10),
)  # fmt: skip


def test_mrr_movements_by_hand() -> None:
    out = mrr_report(MrrInput.model_validate({"rows": ROWS}))
    jan, feb, mar = out.months
    # January: 100 + 50 + 30 = 180, ARR 2160; no previous month -> no movements
    assert (jan.month, jan.mrr, jan.arr, jan.customers) == ("2026-01", 180, 2160, 3)
    assert jan.new_mrr is None and jan.net_new_mrr is None
    # February: a +20 expansion, b -10 contraction, c churned 30, d new 60
    # net = 60 + 20 - 10 - 30 = 40 = 220 - 180
    assert feb.mrr == 220 and feb.customers == 3
    assert (feb.new_mrr, feb.expansion_mrr, feb.contraction_mrr, feb.churned_mrr) == (
        60,
        20,
        10,
        30,
    )
    assert feb.reactivation_mrr == 0 and feb.net_new_mrr == 40
    assert (feb.new_customers, feb.churned_customers) == (1, 1)
    # March: c returns with 30 -> reactivation (not new); e new 10; b (40) and d (60 -> 0) churn
    # net = 10 + 30 - 100 = -60 = 160 - 220
    assert mar.mrr == 160
    assert (mar.new_mrr, mar.reactivation_mrr, mar.churned_mrr) == (10, 30, 100)
    assert (mar.new_customers, mar.reactivated_customers, mar.churned_customers) == (1, 1, 2)
    assert mar.net_new_mrr == -60


def test_month_without_rows_counts_as_zero() -> None:
    out = mrr_report(
        MrrInput.model_validate({"rows": subs(("2026-01", "a", 10), ("2026-03", "a", 10))})
    )
    assert [m.month for m in out.months] == ["2026-01", "2026-02", "2026-03"]
    assert out.months[1].mrr == 0 and out.months[1].churned_mrr == 10
    assert out.months[2].reactivation_mrr == 10 and out.months[2].new_mrr == 0


def test_mrr_forecast_from_report() -> None:
    # series 180, 220, 160 at x = 0, 1, 2: mean y 186.667, sxy = -20, sxx = 2 -> slope -10,
    # intercept 196.667; next months x = 3, 4, 5 -> 166.667, 156.667, 146.667
    f = mrr_report(MrrInput.model_validate({"rows": ROWS})).forecast
    assert f.available and f.slope == pytest.approx(-10)
    assert f.intercept == pytest.approx(196.6667, abs=1e-3)
    assert [p.month for p in f.forecast] == ["2026-04", "2026-05", "2026-06"]
    assert [p.value for p in f.forecast] == pytest.approx([166.6667, 156.6667, 146.6667], abs=1e-3)


def test_forecast_by_hand_with_r_squared() -> None:
    # 100, 110, 130: mean 113.333, sxy = 30, sxx = 2 -> slope 15, intercept 98.333
    # fitted 98.333, 113.333, 128.333; SS_res = 16.667, SS_tot = 466.667 -> R^2 = 0.96429
    points = [{"month": "2026-11", "value": 110}, {"month": "2026-10", "value": 100},
              {"month": "2026-12", "value": 130}]  # fmt: skip
    f = forecast_monthly(ForecastInput.model_validate({"points": points}))
    assert f.slope == pytest.approx(15) and f.intercept == pytest.approx(98.3333, abs=1e-3)
    assert [p.value for p in f.fitted] == pytest.approx([98.3333, 113.3333, 128.3333], abs=1e-3)
    assert f.r_squared == pytest.approx(0.96429, abs=1e-5)
    assert [(p.month, round(p.value, 3)) for p in f.forecast] == [
        ("2027-01", 143.333), ("2027-02", 158.333), ("2027-03", 173.333)
    ]  # fmt: skip


def test_one_month_gives_no_forecast() -> None:
    f = mrr_report(MrrInput.model_validate({"rows": subs(("2026-01", "a", 10))})).forecast
    assert f.available is False and "at least 2 months" in f.reason and f.forecast == []


def test_negative_projection_is_clipped() -> None:
    # 100, 50 -> slope -50: x = 2 -> 0, x = 3 -> -50 clipped to 0
    pts = [{"month": "2026-01", "value": 100}, {"month": "2026-02", "value": 50}]
    f = forecast_monthly(ForecastInput.model_validate({"points": pts, "horizon": 2}))
    assert [p.value for p in f.forecast] == [0, 0] and f.clipped_at_zero
    raw = forecast_monthly(
        ForecastInput.model_validate({"points": pts, "horizon": 2, "clip_at_zero": False})
    )
    assert [p.value for p in raw.forecast] == pytest.approx([0, -50])


def test_repeated_forecast_month_rejected() -> None:
    pts = [{"month": "2026-01", "value": 1}, {"month": "2026-01-15", "value": 2}]
    with pytest.raises(ValueError, match="repeat a month"):
        forecast_monthly(ForecastInput.model_validate({"points": pts}))


def test_negative_mrr_rejected_with_row() -> None:
    with pytest.raises(ValidationError) as err:
        MrrInput.model_validate({"rows": subs(("2026-01", "a", 1), ("2026-01", "b", -5))})
    assert "rows.1.mrr" in str(err.value)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 6), st.sampled_from("abcdef"), st.integers(0, 500)),
        min_size=1,
        max_size=40,
    )
)
def test_net_new_equals_change_in_mrr(rows) -> None:  # type: ignore[no-untyped-def]
    data = [{"month": f"2026-{m:02d}", "customer_id": c, "mrr": v} for m, c, v in rows]
    months = mrr_report(MrrInput.model_validate({"rows": data})).months
    for prev, cur in itertools.pairwise(months):
        assert cur.net_new_mrr == pytest.approx(cur.mrr - prev.mrr)
        assert cur.customers - prev.customers == (
            cur.new_customers + cur.reactivated_customers - cur.churned_customers  # type: ignore[operator]
        )


def fin(month: str, kind: str, cat: str, amount: float, budget: float | None) -> dict[str, object]:
    return {"month": month, "kind": kind, "category": cat, "amount": amount, "budget": budget}


def test_budget_variance_by_hand() -> None:
    rows = [
        fin("2026-10", "cost", "infrastructure", 4000, 4000),
        fin("2026-10", "cost", "infrastructure", 2750, 1000),  # summed: 6750 vs 5000
        fin("2026-10", "cost", "marketing", 900, 1000),
        fin("2026-10", "revenue", "subscriptions", 9000, 10000),
        fin("2026-10", "cost", "tools", 300, None),
        fin("2026-11", "cost", "infrastructure", 5000, 5000),
    ]
    out = budget_variance(BudgetVarianceInput.model_validate({"rows": rows}))
    lines = {(ln.month, ln.category): ln for ln in out.lines}
    infra = lines[("2026-10", "infrastructure")]
    # 6750 - 5000 = 1750; 1750 / 5000 = 35%
    assert (infra.actual, infra.budget, infra.variance) == (6750, 5000, 1750)
    assert infra.variance_pct == pytest.approx(35.0) and infra.over_budget
    mkt = lines[("2026-10", "marketing")]  # 900 - 1000 = -100 -> -10%, favorable
    assert mkt.variance == -100 and mkt.variance_pct == pytest.approx(-10) and not mkt.over_budget
    assert mkt.favorable is True
    rev = lines[("2026-10", "subscriptions")]  # revenue below plan: unfavorable, not "over budget"
    assert rev.variance == -1000 and rev.over_budget is False and rev.favorable is False
    tools = lines[("2026-10", "tools")]
    assert tools.variance is None and tools.variance_pct is None and not tools.over_budget
    assert lines[("2026-11", "infrastructure")].over_budget is False  # exactly on budget
    assert [(ln.month, ln.category) for ln in out.over_budget] == [("2026-10", "infrastructure")]
    only = budget_variance(BudgetVarianceInput.model_validate({"rows": rows, "month": "2026-11"}))
    assert [ln.month for ln in only.lines] == ["2026-11"]


def test_unit_economics_by_hand() -> None:
    # payback = 600 / (100 x 0.8) = 7.5 months; LTV = 80 / 0.02 = 4000; LTV:CAC = 6.667
    out = unit_economics(
        UnitEconomicsInput(cac=600, arpa=100, gross_margin=0.8, monthly_churn=0.02)
    )
    assert out.payback_months == pytest.approx(7.5)
    assert out.ltv == pytest.approx(4000)
    assert out.ltv_to_cac == pytest.approx(6.6667, abs=1e-4)


def test_unit_economics_undefined_values_have_reasons() -> None:
    out = get_tool("unit_economics").call(
        {"cac": 600, "arpa": 0, "gross_margin": 0.8, "monthly_churn": 0}
    )
    assert out.payback_months is None and out.ltv is None  # type: ignore[attr-defined]
    assert any("unbounded" in r for r in out.reasons)  # type: ignore[attr-defined]
    assert any("payback never" in r for r in out.reasons)  # type: ignore[attr-defined]
