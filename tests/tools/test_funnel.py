"""Funnel conversion per period and channel, and CAC by channel."""

from __future__ import annotations

from datetime import date

import pytest

from nexus_agents.tools.funnel import FunnelInput, first_paid_months, funnel_report


def user(uid: str, signup: str, channel: str | None, activated: bool) -> dict[str, object]:
    return {
        "user_id": uid,
        "signup_at": f"{signup}T10:00:00",
        "activated_at": f"{signup}T12:00:00" if activated else None,
        "channel": channel,
    }


USERS = [
    user("u1", "2026-01-05", "organic", True),
    user("u2", "2026-01-10", "organic", True),
    user("u3", "2026-01-20", "ads", True),
    user("u4", "2026-01-25", "ads", False),
    user("u5", "2026-02-03", "ads", True),
    user("u6", "2026-02-04", None, False),
]
PAYING = [
    {"customer_id": "u1", "first_paid_month": "2026-01"},
    {"customer_id": "u3", "first_paid_month": "2026-02"},
    {"customer_id": "u4", "first_paid_month": "2026-02"},  # paying without activation
    {"customer_id": "u5", "first_paid_month": "2026-02"},
    {"customer_id": "x9", "first_paid_month": "2026-02"},  # no user row: channel unknown
    {"customer_id": "u1", "first_paid_month": "2026-03"},  # later duplicate: earliest wins
]
SPEND = [
    {"month": "2026-01", "channel": "ads", "amount": 1000},
    {"month": "2026-02", "channel": "ads", "amount": 1500},
    {"month": "2026-02-15", "channel": "ads", "amount": 500},
    {"month": "2026-02", "channel": "referral", "amount": 300},
]


def test_funnel_by_month_and_channel() -> None:
    out = funnel_report(
        FunnelInput.model_validate({"users": USERS, "paying": PAYING, "spend": SPEND})
    )
    rows = {(r.period, r.channel): r for r in out.funnel}
    assert [(r.period, r.channel) for r in out.funnel] == [
        ("2026-01", "(all)"), ("2026-01", "ads"), ("2026-01", "organic"),
        ("2026-02", "(all)"), ("2026-02", "(unknown)"), ("2026-02", "ads"),
    ]  # fmt: skip
    jan = rows[("2026-01", "(all)")]
    # 4 signups, 3 activated (u1 u2 u3), paying and activated: u1 u3 = 2; u4 pays unactivated
    assert (jan.signups, jan.activated, jan.paying, jan.paying_not_activated) == (4, 3, 2, 1)
    assert jan.activation_pct == pytest.approx(75.0)  # 3 / 4
    assert jan.paid_conversion_pct == pytest.approx(66.6667, abs=1e-3)  # 2 / 3
    assert jan.overall_pct == pytest.approx(50.0)  # 2 / 4
    ads = rows[("2026-01", "ads")]  # u3 (activated, paying), u4 (not activated)
    assert (ads.signups, ads.activated, ads.paying, ads.activation_pct) == (2, 1, 1, 50.0)
    unknown = rows[("2026-02", "(unknown)")]
    assert unknown.activated == 0 and unknown.paid_conversion_pct is None


def test_cac_by_channel_and_month() -> None:
    out = funnel_report(
        FunnelInput.model_validate({"users": USERS, "paying": PAYING, "spend": SPEND})
    )
    cac = {(c.month, c.channel): c for c in out.cac}
    assert list(cac) == [
        ("2026-01", "ads"), ("2026-01", "organic"), ("2026-02", "ads"), ("2026-02", "referral")
    ]  # fmt: skip
    # February ads: (1500 + 500) / 3 new customers (u3, u4, u5) = 666.67
    feb = cac[("2026-02", "ads")]
    assert (feb.spend, feb.new_customers) == (2000, 3)
    assert feb.cac == pytest.approx(666.6667, abs=1e-3)
    # January ads: 1000 spent, nobody acquired -> no CAC, with a reason
    assert cac[("2026-01", "ads")].cac is None and "no new paying" in cac[("2026-01", "ads")].reason
    # January organic: u1 acquired without spend -> CAC 0 and a note
    assert cac[("2026-01", "organic")].cac == 0 and "no spend" in cac[("2026-01", "organic")].reason
    assert cac[("2026-02", "referral")].cac is None
    assert out.unattributed_customers == 1  # x9


def test_explicit_customer_channel_overrides_user_channel() -> None:
    paying = [{"customer_id": "u1", "first_paid_month": "2026-01", "channel": "ads"}]
    out = funnel_report(
        FunnelInput.model_validate({"users": USERS, "paying": paying, "spend": SPEND})
    )
    jan_ads = next(c for c in out.cac if c.month == "2026-01" and c.channel == "ads")
    assert jan_ads.new_customers == 1 and jan_ads.cac == 1000


def test_weekly_funnel_labels() -> None:
    out = funnel_report(FunnelInput.model_validate({"users": USERS[:2], "period": "week"}))
    # 2026-01-05 is the Monday of ISO week 2, 2026-01-10 the Saturday of the same week
    assert [(r.period, r.channel, r.signups) for r in out.funnel] == [
        ("2026-W02", "(all)", 2), ("2026-W02", "organic", 2)
    ]  # fmt: skip


def test_empty_inputs() -> None:
    out = funnel_report(FunnelInput(users=[]))
    assert out.funnel == [] and out.cac == [] and out.unattributed_customers == 0


def test_first_paid_months_skips_customers_already_paying_at_the_start() -> None:
    rows = [
        ("a", date(2026, 1, 1), 10.0),
        ("b", date(2026, 2, 1), 0.0),
        ("b", date(2026, 3, 1), 5.0),
        ("c", date(2026, 2, 1), 7.0),
    ]
    got = [(p.customer_id, p.first_paid_month.isoformat()) for p in first_paid_months(rows)]
    assert got == [("b", "2026-03-01"), ("c", "2026-02-01")]
    every = first_paid_months(rows, skip_first_month=False)
    assert [p.customer_id for p in every] == ["a", "b", "c"]
