"""Reporting periods and their labels.

A period is a half-open interval ``[start, end)`` of naive local datetimes in the
workspace timezone. Labels are stable strings used in reports and in scheduled thread
ids (``JOB:PERIOD``):

=========  ======================  =========================================
kind       label                   interval
=========  ======================  =========================================
slot       ``2026-11-27T06:55``    ``slot_minutes`` minutes (continuous jobs)
day        ``2026-11-27``          one calendar day
week       ``2026-W48``            ISO week, Monday to Sunday
biweek     ``2026-BW24``           ISO weeks 2n-1 and 2n of an ISO year
month      ``2026-11``             calendar month
quarter    ``2026-Q4``             calendar quarter
year       ``2026``                calendar year
=========  ======================  =========================================
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from nexus_agents.exceptions import InputError


class PeriodKind(StrEnum):
    SLOT = "slot"
    DAY = "day"
    WEEK = "week"
    BIWEEK = "biweek"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class Period(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: PeriodKind
    label: str
    start: datetime
    end: datetime

    @property
    def start_date(self) -> date:
        return self.start.date()

    @property
    def end_date(self) -> date:
        """Exclusive end as a date."""
        return self.end.date()

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400

    def contains(self, when: datetime | date) -> bool:
        moment = when if isinstance(when, datetime) else datetime.combine(when, datetime.min.time())
        return self.start <= moment < self.end

    def previous(self) -> Period:
        return period_containing(self.kind, self.start - timedelta(microseconds=1), _slot_len(self))

    def next(self) -> Period:
        return period_containing(self.kind, self.end, _slot_len(self))

    def __str__(self) -> str:
        return self.label


def _slot_len(period: Period) -> int:
    return max(1, int((period.end - period.start).total_seconds() // 60))


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def _iso_week_start(year: int, week: int) -> date:
    return date.fromisocalendar(year, week, 1)


def _weeks_in_iso_year(year: int) -> int:
    return date(year, 12, 28).isocalendar().week


def period_containing(
    kind: PeriodKind | str, when: datetime | date, slot_minutes: int = 5
) -> Period:
    """The period of ``kind`` that contains ``when`` (naive local time)."""
    kind = PeriodKind(kind)
    moment = when if isinstance(when, datetime) else _midnight(when)
    moment = moment.replace(tzinfo=None)
    day = moment.date()
    if kind is PeriodKind.SLOT:
        minutes = (moment.hour * 60 + moment.minute) // slot_minutes * slot_minutes
        start = _midnight(day) + timedelta(minutes=minutes)
        return Period(
            kind=kind,
            label=start.strftime("%Y-%m-%dT%H:%M"),
            start=start,
            end=start + timedelta(minutes=slot_minutes),
        )
    if kind is PeriodKind.DAY:
        return Period(
            kind=kind,
            label=day.isoformat(),
            start=_midnight(day),
            end=_midnight(day + timedelta(days=1)),
        )
    if kind is PeriodKind.WEEK:
        iso = day.isocalendar()
        start_day = _iso_week_start(iso.year, iso.week)
        return Period(
            kind=kind,
            label=f"{iso.year}-W{iso.week:02d}",
            start=_midnight(start_day),
            end=_midnight(start_day + timedelta(days=7)),
        )
    if kind is PeriodKind.BIWEEK:
        iso = day.isocalendar()
        number = (iso.week + 1) // 2
        first_week = 2 * number - 1
        start_day = _iso_week_start(iso.year, first_week)
        span = 14 if first_week + 1 <= _weeks_in_iso_year(iso.year) else 7
        return Period(
            kind=kind,
            label=f"{iso.year}-BW{number:02d}",
            start=_midnight(start_day),
            end=_midnight(start_day + timedelta(days=span)),
        )
    if kind is PeriodKind.MONTH:
        start_day = day.replace(day=1)
        end_day = (start_day + timedelta(days=32)).replace(day=1)
        return Period(
            kind=kind,
            label=f"{day.year}-{day.month:02d}",
            start=_midnight(start_day),
            end=_midnight(end_day),
        )
    if kind is PeriodKind.QUARTER:
        q = (day.month - 1) // 3 + 1
        start_day = date(day.year, 3 * q - 2, 1)
        end_day = date(day.year + 1, 1, 1) if q == 4 else date(day.year, 3 * q + 1, 1)
        return Period(
            kind=kind, label=f"{day.year}-Q{q}", start=_midnight(start_day), end=_midnight(end_day)
        )
    start_day = date(day.year, 1, 1)
    return Period(
        kind=kind,
        label=str(day.year),
        start=_midnight(start_day),
        end=_midnight(date(day.year + 1, 1, 1)),
    )


_PATTERNS: list[tuple[re.Pattern[str], PeriodKind]] = [
    (re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$"), PeriodKind.SLOT),
    (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), PeriodKind.DAY),
    (re.compile(r"^(\d{4})-W(\d{2})$"), PeriodKind.WEEK),
    (re.compile(r"^(\d{4})-BW(\d{2})$"), PeriodKind.BIWEEK),
    (re.compile(r"^(\d{4})-(\d{2})$"), PeriodKind.MONTH),
    (re.compile(r"^(\d{4})-Q([1-4])$"), PeriodKind.QUARTER),
    (re.compile(r"^(\d{4})$"), PeriodKind.YEAR),
]


@functools.lru_cache(maxsize=1024)  # a run's steps parse the same label over and over
def parse_period(label: str, slot_minutes: int = 5) -> Period:
    """Parse a period label (see the module docstring); InputError (a ValueError) on a bad label."""
    text = label.strip()
    for pattern, kind in _PATTERNS:
        match = pattern.match(text)
        if not match:
            continue
        nums = [int(g) for g in match.groups()]
        try:
            if kind is PeriodKind.SLOT:
                anchor: datetime | date = datetime(nums[0], nums[1], nums[2], nums[3], nums[4])
            elif kind is PeriodKind.DAY:
                anchor = date(nums[0], nums[1], nums[2])
            elif kind is PeriodKind.WEEK:
                anchor = _iso_week_start(nums[0], nums[1])
            elif kind is PeriodKind.BIWEEK:
                anchor = _iso_week_start(nums[0], 2 * nums[1] - 1)
            elif kind is PeriodKind.MONTH:
                anchor = date(nums[0], nums[1], 1)
            elif kind is PeriodKind.QUARTER:
                anchor = date(nums[0], 3 * nums[1] - 2, 1)
            else:
                anchor = date(nums[0], 1, 1)
        except ValueError as exc:
            raise InputError(f"invalid period {label!r}: {exc}") from None
        period = period_containing(kind, anchor, slot_minutes)
        if period.label != text:
            raise InputError(
                f"invalid period {label!r}: not aligned (did you mean {period.label!r}?)"
            )
        return period
    raise InputError(
        f"invalid period {label!r}: use 2026-11-27, 2026-W48, 2026-BW24, 2026-11, 2026-Q4 or 2026"
    )
