"""Cohort retention curves and dip flags."""

from __future__ import annotations

import pytest

from nexus_agents.tools.retention import RetentionInput, retention_cohorts


def u(uid: str, day: str) -> dict[str, str]:
    return {"user_id": uid, "signup_at": f"{day}T09:30:00"}


def act(uid: str, *days: str) -> list[dict[str, str]]:
    return [{"user_id": uid, "active_on": d} for d in days]


# ISO week 10 of 2026 starts Monday 2026-03-02.
USERS = [
    u("a", "2026-03-02"), u("b", "2026-03-03"), u("c", "2026-03-04"), u("d", "2026-03-05"),  # W10
    u("e", "2026-03-09"), u("f", "2026-03-10"),  # W11
    u("i", "2026-03-16"), u("j", "2026-03-17"), u("k", "2026-03-18"), u("l", "2026-03-19"),  # W12
    u("g", "2026-03-27"),  # W13: too recent for day 7 at as-of
    u("h", "2026-04-02"),  # after as-of: ignored
]  # fmt: skip
ACTIVITY = (
    act("a", "2026-03-03", "2026-03-09")  # day 1 and day 7
    + act("b", "2026-03-10")  # day 7
    + act("c", "2026-03-12")  # day 8: not day 7
    + act("e", "2026-03-16")  # day 7
    + act("g", "2026-03-28")  # day 1
    + act("h", "2026-04-03")
    + act("z", "2026-03-31")  # the activity data reaches as-of (see the cut-off test)
)
AS_OF = "2026-03-31T18:00:00"


def run(**kw: object):  # type: ignore[no-untyped-def]
    args = {"users": USERS, "activity": ACTIVITY, "as_of": AS_OF, "min_eligible": 1, **kw}
    return retention_cohorts(RetentionInput.model_validate(args))


def test_curves_by_hand() -> None:
    out = run()
    assert [c.cohort for c in out.cohorts] == ["2026-W10", "2026-W11", "2026-W12", "2026-W13"]
    w10 = {p.offset: p for p in out.cohorts[0].points}
    assert out.cohorts[0].users == 4 and out.cohorts[0].start == "2026-03-02"
    # day 1: only a (03-03) -> 1 / 4 = 25%; day 7: a (03-09) and b (03-10) -> 2 / 4 = 50%
    assert (w10[1].retained, w10[1].eligible, w10[1].retention_pct) == (1, 4, 25.0)
    assert (w10[7].retained, w10[7].eligible, w10[7].retention_pct) == (2, 4, 50.0)
    # day 30 of a 03-02 sign-up is 04-01, after as-of: nobody eligible yet
    assert (w10[30].eligible, w10[30].retention_pct) == (0, None)
    w13 = {p.offset: p for p in out.cohorts[3].points}
    assert (w13[1].eligible, w13[1].retained) == (1, 1)  # g active on day 1
    assert w13[7].eligible == 0  # 03-27 + 7 = 04-03 > as-of


def test_dip_flagged_against_mean_of_other_cohorts() -> None:
    out = run()
    # day 7: W10 50%, W11 50% (e of e, f), W12 0%, W13 not eligible.
    # W12 gap = 0 - (50 + 50) / 2 = -50 < -10 -> flagged; W10 gap = 50 - (50 + 0) / 2 = +25
    gaps = {c.cohort: c.gap_points for c in out.cohorts}
    assert gaps == {"2026-W10": 25.0, "2026-W11": 25.0, "2026-W12": -50.0, "2026-W13": None}
    assert out.flagged == ["2026-W12"]
    assert run(dip_points=60).flagged == []


def test_small_cohorts_are_not_compared_by_default() -> None:
    out = retention_cohorts(
        RetentionInput.model_validate({"users": USERS, "activity": ACTIVITY, "as_of": AS_OF})
    )
    assert out.flagged == [] and all(c.gap_points is None for c in out.cohorts)


def test_week_offsets_and_month_cohorts() -> None:
    out = run(offset_unit="week", offsets=[1], cohort="month")
    assert out.flag_offset == 1
    (march,) = out.cohorts  # h signed up after as-of, so only March
    (week1,) = march.points
    # week 1 = days 7..13, complete when sign-up + 13 <= 03-31: a..f and i, j, k (9 users;
    # l signed up 03-19 and 03-19 + 13 = 04-01). Retained: a (day 7), b (day 7), c (day 8),
    # e (day 7) -> 4 / 9 = 44.44%
    assert (week1.eligible, week1.retained) == (9, 4)
    assert week1.retention_pct == pytest.approx(44.4444, abs=1e-3)
    assert march.cohort == "2026-03" and march.users == 11


def test_empty_input() -> None:
    out = retention_cohorts(
        RetentionInput.model_validate({"users": [], "activity": [], "as_of": AS_OF})
    )
    assert out.cohorts == [] and out.flagged == []


def test_days_after_the_last_activity_date_are_not_counted_yet() -> None:
    # The activity export ends on 03-12 although the report is taken on 03-31: users whose
    # day 7 falls after 03-12 are not eligible (they would all count as lost otherwise).
    early = [a for a in ACTIVITY if a["active_on"] <= "2026-03-12"]
    out = run(activity=early)
    assert out.cutoff == "2026-03-12"
    w10, w11 = ({p.offset: p for p in c.points} for c in out.cohorts[:2])
    # day 7 <= 03-12: a (03-02), b (03-03), c (03-04), d (03-05); all of W11 is later
    assert (w10[7].eligible, w10[7].retained) == (4, 2)
    assert (w11[7].eligible, w11[7].retention_pct) == (0, None)
    assert w11[1].eligible == 2  # day 1 of 03-09 and 03-10 is on or before 03-12
    assert run().cutoff == "2026-03-31"


def test_no_activity_up_to_as_of_means_nobody_is_eligible() -> None:
    out = run(activity=act("h", "2026-04-03"))  # only after as-of
    assert out.cutoff is None
    assert all(p.eligible == 0 and p.retention_pct is None for c in out.cohorts for p in c.points)
