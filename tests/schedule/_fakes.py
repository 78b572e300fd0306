"""Test doubles shared by the DBOS tests and the worker subprocess script."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from nexus_agents.periods import Period
from nexus_agents.schedule.calendar import (
    Calendar,
    ScheduleSettings,
    build_calendar,
    parse_cadences,
)
from nexus_agents.schedule.jobs import CadenceJob, JobOutcome, JobStatus

CALENDAR_YAML = """
queue: {name: test_cadence, concurrency: 2}
defaults:
  retry: {max_attempts: 3, backoff_s: 0}
jobs:
  - {id: daily-metrics-snapshot, cadence: daily, agent: analytics_reporter,
     output: daily_metrics_snapshot, cron: "0 6 * * *", catch_up: all, catch_up_limit: 5}
  - {id: daily-support-ticket-summary, cadence: daily, agent: support_responder,
     output: support_ticket_summary, cron: "10 6 * * *", catch_up: latest}
  - {id: weekly-sprint-plan, cadence: weekly, agent: sprint_prioritizer,
     output: sprint_plan, cron: "30 7 * * 1", period: current}
  - {id: biweekly-insights-report, cadence: biweekly, agent: feedback_synthesizer,
     output: bi_weekly_insights_report, cron: "0 9 * * 1"}
  - {id: incident-detection, cadence: continuous, agent: infrastructure_maintainer,
     graph: incident_response, output: incident, cron: "*/5 * * * *", period: current,
     check: "tests.schedule._fakes:no_such_check", catch_up: skip}
"""


def calendar(**settings: object) -> Calendar:
    parsed, jobs = parse_cadences(CALENDAR_YAML, "test-cadences.yaml")
    return build_calendar(parsed, jobs, ScheduleSettings.model_validate(settings))


class RecordingRunner:
    """Appends one line per call to ``log``; fails for job ids in ``failing``."""

    def __init__(self, log: Path, failing: set[str] | None = None, hold_s: float = 0.0) -> None:
        self.log = log
        self.failing = failing or set()
        self.hold_s = hold_s

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    async def __call__(self, job: CadenceJob, period: Period, thread_id: str) -> JobOutcome:
        with self.log.open("a") as fh:
            fh.write(f"{os.getpid()} start {thread_id}\n")
        if self.hold_s:
            await asyncio.sleep(self.hold_s)  # the fake job "works" for a while
        if job.id in self.failing:
            raise RuntimeError(f"{job.id} data source unreachable")
        with self.log.open("a") as fh:
            fh.write(f"{os.getpid()} done {thread_id}\n")
        return JobOutcome(status=JobStatus.SUCCEEDED, run_id=f"run-{thread_id}")


class DiesOnceRunner(RecordingRunner):
    """The first call kills its own process with SIGKILL (a worker crash mid-run)."""

    def __init__(self, log: Path, marker: Path) -> None:
        super().__init__(log)
        self.marker = marker

    async def __call__(self, job: CadenceJob, period: Period, thread_id: str) -> JobOutcome:
        if not self.marker.exists():
            self.marker.write_text("crashed once")
            with self.log.open("a") as fh:
                fh.write(f"{os.getpid()} start {thread_id}\n")
            os.kill(os.getpid(), signal.SIGKILL)
        return await super().__call__(job, period, thread_id)
