"""Cron expressions (five fields, minute resolution) on top of ``croniter``.

``croniter`` comes with ``dbos`` (DBOS parses its own schedules with it), so nexus and
DBOS agree on what an expression means.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nexus_agents.exceptions import InputError


def validate_cron(expr: str) -> str:
    """Return ``expr`` normalised; ValueError when it is not a five-field cron expression."""
    from croniter import croniter

    text = " ".join(expr.split())
    if len(text.split(" ")) != 5:
        raise InputError(f"cron {expr!r} must have five fields (minute hour day month weekday)")
    if not croniter.is_valid(text):
        raise InputError(f"cron {expr!r} is not a valid cron expression")
    return text


def zone(name: str) -> ZoneInfo:
    """The IANA timezone ``name``; ValueError when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"unknown timezone {name!r} (use an IANA name like Europe/Berlin)"
        ) from None


def fire_times(expr: str, tz: ZoneInfo, t0: datetime, t1: datetime) -> Iterator[datetime]:
    """Fire times of ``expr`` in ``[t0, t1)``, as aware datetimes in ``tz``.

    ``t0`` and ``t1`` must be timezone-aware.
    """
    from croniter import croniter

    if t0.tzinfo is None or t1.tzinfo is None:
        raise InputError("fire_times needs timezone-aware bounds")
    start = t0.astimezone(tz) - timedelta(seconds=1)
    it = croniter(expr, start)
    while True:
        fire: datetime = it.get_next(datetime)
        if fire >= t1:
            return
        if fire >= t0:
            yield fire


def previous_fire(expr: str, tz: ZoneInfo, before: datetime) -> datetime:
    """The last fire time strictly before ``before`` (aware)."""
    from croniter import croniter

    it = croniter(expr, before.astimezone(tz))
    fire: datetime = it.get_prev(datetime)
    return fire


def next_fire(expr: str, tz: ZoneInfo, after: datetime) -> datetime:
    """The first fire time strictly after ``after`` (aware)."""
    from croniter import croniter

    it = croniter(expr, after.astimezone(tz))
    fire: datetime = it.get_next(datetime)
    return fire
