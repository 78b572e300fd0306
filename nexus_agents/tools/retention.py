"""Cohort retention curves and retention-dip detection.

A user is retained at day N when active exactly N days after the sign-up date (the KPI
definition of D7 / D30). With week offsets, a user is retained at week N when active on
any of days 7N .. 7N+6 after sign-up. A user counts for an offset only once the whole
offset has passed by the cut-off (eligible): the earlier of ``as_of`` and the latest day
present in the activity data, so a report taken before the activity of its last days
has arrived does not count those days as inactive. Users who sign up after ``as_of``
are ignored.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field, NonNegativeInt

from nexus_agents.periods import period_containing
from nexus_agents.tools._math import mean, pct
from nexus_agents.tools.base import tool
from nexus_agents.tools.rows_types import ActivityRecord, UserRecord


class RetentionInput(BaseModel):
    users: list[UserRecord]
    activity: list[ActivityRecord]
    as_of: datetime | date = Field(description="the moment of the report; later days do not count")
    cohort: Literal["week", "month"] = Field(default="week", description="sign-up cohort length")
    offsets: list[NonNegativeInt] = Field(
        default_factory=lambda: [1, 7, 14, 30],
        description="days (or weeks) after sign-up; flag_offset is always included",
    )
    offset_unit: Literal["day", "week"] = "day"
    flag_offset: int | None = Field(
        default=None, ge=0, description="offset compared to find dips; default day 7 or week 1"
    )
    dip_points: float = Field(
        default=10.0, ge=0, description="flag cohorts this many points below the others' mean"
    )
    min_eligible: int = Field(
        default=10, ge=1, description="cohorts with fewer eligible users are not compared"
    )


class RetentionPoint(BaseModel):
    offset: int
    eligible: int = Field(description="cohort users for whom this offset has passed")
    retained: int
    retention_pct: float | None = Field(description="None when no user is eligible yet")


class CohortCurve(BaseModel):
    cohort: str = Field(description="period label, e.g. 2026-W40 or 2026-10")
    start: str = Field(description="first day of the cohort (ISO date)")
    users: int
    points: list[RetentionPoint]
    flagged: bool = Field(description="retention at flag_offset is a dip")
    gap_points: float | None = Field(
        description="this cohort's retention at flag_offset minus the mean of the other cohorts"
    )


class RetentionOutput(BaseModel):
    offset_unit: Literal["day", "week"]
    flag_offset: int
    cutoff: str | None = Field(
        default=None,
        description="last day counted (ISO date): the earlier of as_of and the latest "
        "activity date; None when there is no activity up to as_of",
    )
    cohorts: list[CohortCurve] = Field(description="oldest cohort first")
    flagged: list[str] = Field(description="labels of cohorts with a retention dip")


def _retained(days_active: set[int], offset: int, unit: str) -> bool:
    if unit == "day":
        return offset in days_active
    return any(7 * offset + k in days_active for k in range(7))


def _span(offset: int, unit: str) -> int:
    """Days after sign-up that must have passed for the offset to be complete."""
    return offset if unit == "day" else 7 * offset + 6


@tool()
def retention_cohorts(args: RetentionInput) -> RetentionOutput:
    """Cohort retention curves by sign-up week or month, and cohorts with a retention dip.

    For each cohort and offset (days by default: 1, 7, 14, 30): eligible users (the offset
    has passed by the cut-off: the earlier of as_of and the latest activity date), users active exactly that many days after their sign-up date,
    and the percentage. A cohort is flagged when its retention at flag_offset (default
    day 7) is more than dip_points (default 10) percentage points below the mean of the
    other cohorts; only cohorts with at least min_eligible eligible users are compared.
    With offset_unit "week", week N counts activity on any of days 7N..7N+6 and the
    default flag_offset is week 1.
    """
    today = args.as_of.date() if isinstance(args.as_of, datetime) else args.as_of
    active: dict[str, set[date]] = defaultdict(set)
    for a in args.activity:
        if a.active_on <= today:
            active[a.user_id].add(a.active_on)
    cutoff = max((d for days in active.values() for d in days), default=None)
    cohorts: dict[str, list[UserRecord]] = defaultdict(list)
    starts: dict[str, date] = {}
    seen: set[str] = set()
    for user in args.users:
        signup = user.signup_at.date()
        if signup > today or user.user_id in seen:
            continue
        seen.add(user.user_id)
        p = period_containing(args.cohort, signup)
        cohorts[p.label].append(user)
        starts[p.label] = p.start_date
    offsets = sorted({*args.offsets, _flag_offset(args)})
    curves: list[CohortCurve] = []
    for label in sorted(cohorts, key=lambda k: starts[k]):
        members = [
            (u.signup_at.date(), {(d - u.signup_at.date()).days for d in active[u.user_id]})
            for u in cohorts[label]
        ]
        points = []
        for offset in offsets:
            eligible = retained = 0
            for signup, days in members:
                if (
                    cutoff is None
                    or signup + timedelta(days=_span(offset, args.offset_unit)) > cutoff
                ):
                    continue
                eligible += 1
                retained += _retained(days, offset, args.offset_unit)
            points.append(
                RetentionPoint(
                    offset=offset,
                    eligible=eligible,
                    retained=retained,
                    retention_pct=pct(retained, eligible),
                )
            )
        curves.append(
            CohortCurve(
                cohort=label,
                start=starts[label].isoformat(),
                users=len(cohorts[label]),
                points=points,
                flagged=False,
                gap_points=None,
            )
        )
    return _flag_dips(curves, args, cutoff)


def _flag_offset(args: RetentionInput) -> int:
    if args.flag_offset is not None:
        return args.flag_offset
    return 7 if args.offset_unit == "day" else 1


def _flag_dips(
    curves: list[CohortCurve], args: RetentionInput, cutoff: date | None
) -> RetentionOutput:
    flag_offset = _flag_offset(args)
    values: dict[str, float] = {}
    for curve in curves:
        for point in curve.points:
            if (
                point.offset == flag_offset
                and point.retention_pct is not None
                and point.eligible >= args.min_eligible
            ):
                values[curve.cohort] = point.retention_pct
    out: list[CohortCurve] = []
    for curve in curves:
        others = [v for k, v in values.items() if k != curve.cohort]
        mine = values.get(curve.cohort)
        other_mean = mean(others)
        if mine is None or other_mean is None:
            out.append(curve)
            continue
        gap = mine - other_mean
        out.append(curve.model_copy(update={"gap_points": gap, "flagged": gap < -args.dip_points}))
    return RetentionOutput(
        offset_unit=args.offset_unit,
        flag_offset=flag_offset,
        cutoff=None if cutoff is None else cutoff.isoformat(),
        cohorts=out,
        flagged=[c.cohort for c in out if c.flagged],
    )
