"""The Schedules page: each cadence job of the workspace's calendar (``graphs/cadences.yaml``
after the ``[schedule]`` overrides), its next fire and the last run the scheduler made.

The last period and status come from the run store (a job's runs carry its id), so the page
needs no scheduler database; a continuous check that found nothing to do leaves no run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from nexus_agents.cli.history import short_id
from nexus_agents.schedule.calendar import Calendar, load_calendar
from nexus_agents.schedule.cron import next_fire, zone

if TYPE_CHECKING:
    from nexus_agents.api import Nexus

__all__ = ["ScheduleRow", "schedule_rows"]


@dataclass
class ScheduleRow:
    job: str
    cadence: str
    what: str
    cron: str
    enabled: bool
    next_fire: str
    last_period: str
    last_status: str
    last_run: str | None
    last_short: str


async def schedule_rows(nexus: Nexus, calendar: Calendar | None = None, now: datetime | None = None) -> tuple[str, list[ScheduleRow]]:
    """(the calendar's timezone, one row per job)."""
    import asyncio

    cal: Calendar = calendar if calendar is not None else await asyncio.to_thread(load_calendar, nexus.config)
    tz = zone(cal.timezone)
    moment = now or datetime.now(UTC)
    rows = []
    async with nexus._using_engine() as engine:
        for job in cal.jobs:
            last = await engine.store.list_runs(job=job.id, limit=1)
            record = last[0] if last else None
            rows.append(
                ScheduleRow(
                    job=job.id,
                    cadence=str(job.cadence.value if hasattr(job.cadence, "value") else job.cadence),
                    what=job.agent or job.graph,
                    cron=job.cron,
                    enabled=job.enabled,
                    next_fire=next_fire(job.cron, tz, moment).strftime("%Y-%m-%d %H:%M %Z")
                    if job.enabled
                    else "off",
                    last_period=(record.period or "-") if record else "-",
                    last_status=record.status if record else "never ran",
                    last_run=record.run_id if record else None,
                    last_short=short_id(record.run_id) if record else "",
                )
            )
    return cal.timezone, rows
