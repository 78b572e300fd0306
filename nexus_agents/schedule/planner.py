"""Pure scheduling decisions: which (job, period) pairs are due.

No clock, no database: callers pass the interval of clock time, the timezone and the
set of thread ids (``JOB:PERIOD``) already recorded, and get the runs to start.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from nexus_agents.periods import Period, period_containing
from nexus_agents.schedule.cron import fire_times, previous_fire, zone
from nexus_agents.schedule.jobs import CadenceJob, CatchUp, PeriodMode


class Due(BaseModel):
    """One run to start."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    period: Period
    fired_at: datetime

    @property
    def thread_id(self) -> str:
        return thread_id(self.job_id, self.period)


def thread_id(job_id: str, period: Period | str) -> str:
    """The idempotency key of one run: ``JOB:PERIOD`` (e.g. ``weekly-sprint-plan:2026-W48``)."""
    return f"{job_id}:{period}"


def split_thread_id(value: str) -> tuple[str, str]:
    job_id, sep, label = value.partition(":")
    if not sep or not job_id or not label:
        raise ValueError(f"{value!r} is not a JOB:PERIOD thread id")
    return job_id, label


def period_for_fire(job: CadenceJob, fired_at: datetime, timezone: str) -> Period:
    """The period a fire at ``fired_at`` reports on (its local time in ``timezone``)."""
    local = (
        fired_at.astimezone(zone(timezone)).replace(tzinfo=None) if fired_at.tzinfo else fired_at
    )
    current = period_containing(job.reports_on, local, job.slot_minutes)
    return current if job.period is PeriodMode.CURRENT else current.previous()


def fires(job: CadenceJob, timezone: str, t0: datetime, t1: datetime) -> list[Due]:
    """Every fire of ``job`` in ``[t0, t1)`` with its period (one per distinct period)."""
    out: list[Due] = []
    seen: set[str] = set()
    for fired_at in fire_times(job.cron, zone(timezone), t0, t1):
        period = period_for_fire(job, fired_at, timezone)
        if period.label in seen:
            continue
        seen.add(period.label)
        out.append(Due(job_id=job.id, period=period, fired_at=fired_at))
    return out


def due(
    jobs: Iterable[CadenceJob],
    timezone: str,
    t0: datetime,
    t1: datetime,
    done: Collection[str] = (),
) -> list[Due]:
    """Runs due in ``[t0, t1)`` for the enabled ``jobs``, leaving out thread ids in ``done``.

    Several fires that report on the same period (a bi-weekly report fired every Monday)
    give one run. Sorted by fire time, then job id.
    """
    out: list[Due] = []
    for job in jobs:
        if not job.enabled:
            continue
        out.extend(d for d in fires(job, timezone, t0, t1) if d.thread_id not in done)
    return sorted(out, key=lambda d: (d.fired_at, d.job_id))


def missed(
    job: CadenceJob,
    timezone: str,
    since: datetime,
    now: datetime,
    done: Collection[str] = (),
) -> list[Due]:
    """Periods of ``job`` that fired in ``(since, now]`` and never ran, per its catch-up policy.

    ``since`` is the last moment the schedule is known to have been served (the last
    recorded fire). ``all`` keeps the latest ``catch_up_limit`` periods, ``latest`` only
    the most recent one (nothing if that one ran), ``skip`` none. Continuous checks are never caught up.
    """
    if not job.enabled or job.catch_up is CatchUp.SKIP or job.is_check or now <= since:
        return []
    # Walk back from ``now``: bounded by the limit even after a year offline.
    tz = zone(timezone)
    limit = 1 if job.catch_up is CatchUp.LATEST else job.catch_up_limit
    found: list[Due] = []
    seen: set[str] = set()
    # A fire exactly at ``now`` counts as missed (previous_fire is strictly before).
    cursor_fire = previous_fire(job.cron, tz, now + timedelta(seconds=1))
    steps = 0
    while cursor_fire > since and len(seen) < limit and steps < 100_000:
        steps += 1
        period = period_for_fire(job, cursor_fire, timezone)
        if period.label not in seen:
            seen.add(period.label)
            if thread_id(job.id, period) not in done:
                found.append(Due(job_id=job.id, period=period, fired_at=cursor_fire))
        cursor_fire = previous_fire(job.cron, tz, cursor_fire)
    return sorted(found, key=lambda d: d.fired_at)
