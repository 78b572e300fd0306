"""The DBOS-backed engine on a SQLite file in a temporary workspace (one process)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from nexus_agents.exceptions import NexusError
from nexus_agents.schedule.checks import CheckContext
from nexus_agents.schedule.engine import ScheduleEngine
from nexus_agents.schedule.jobs import JobStatus, Trigger
from tests.schedule._fakes import RecordingRunner, calendar

CHECK = "tests.schedule._fakes:no_such_check"


@pytest.fixture
def runner(tmp_path: Path) -> RecordingRunner:
    return RecordingRunner(tmp_path / "runs.log", failing={"daily-support-ticket-summary"})


@pytest.fixture
def engine(tmp_path: Path, runner: RecordingRunner) -> Iterator[ScheduleEngine]:
    found: list[Trigger | None] = [None]

    def fake_check(context: CheckContext) -> Trigger | None:
        return found[0]

    eng = ScheduleEngine(
        calendar(),
        runner,
        database_url=f"sqlite:///{tmp_path / 'dbos.sqlite'}",
        workspace=tmp_path,
        checks={CHECK: fake_check},
        poll_interval_s=0.05,
    )
    eng.found = found  # type: ignore[attr-defined]
    with eng:
        yield eng


def _done(runner: RecordingRunner) -> list[str]:
    return [line.split(" ", 2)[2] for line in runner.lines() if " done " in line]


def test_same_job_period_twice_runs_the_runner_once(
    engine: ScheduleEngine, runner: RecordingRunner
) -> None:
    first = engine.run("weekly-sprint-plan", "2026-W48")
    again = engine.run("weekly-sprint-plan", "2026-W48")
    queued = engine.enqueue("weekly-sprint-plan", "2026-W48")
    assert queued == "weekly-sprint-plan:2026-W48"
    assert first.status is JobStatus.SUCCEEDED
    assert again.run_id == first.run_id == "run-weekly-sprint-plan:2026-W48"
    assert engine.wait(queued).run_id == first.run_id
    assert _done(runner) == ["weekly-sprint-plan:2026-W48"]


def test_schedule_fires_map_to_periods_and_dedupe(
    engine: ScheduleEngine, runner: RecordingRunner
) -> None:
    # both Mondays of bi-week 24 report on bi-week 23: one run
    first = engine.fire("biweekly-insights-report", datetime(2026, 11, 16, 9, 0, tzinfo=UTC))
    second = engine.fire("biweekly-insights-report", datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    assert first == second == "biweekly-insights-report:2026-BW23"
    assert engine.wait(first).status is JobStatus.SUCCEEDED
    assert _done(runner) == ["biweekly-insights-report:2026-BW23"]


def test_failing_job_is_recorded_failed_and_others_still_run(
    engine: ScheduleEngine, runner: RecordingRunner
) -> None:
    bad = engine.enqueue("daily-support-ticket-summary", "2026-11-26")
    good = engine.enqueue("daily-metrics-snapshot", "2026-11-26")
    failed = engine.wait(bad)
    assert failed.status is JobStatus.FAILED
    assert failed.attempts == 3  # the job's retry policy
    assert failed.error == "RuntimeError: daily-support-ticket-summary data source unreachable"
    assert engine.wait(good).status is JobStatus.SUCCEEDED
    starts = [line for line in runner.lines() if f"start {bad}" in line]
    assert len(starts) == 3
    record = engine.record(bad)
    assert record is not None and record.status == "failed"
    rows = {r.job_id: r for r in engine.job_rows()}
    assert rows["daily-support-ticket-summary"].last_status == "failed"
    assert rows["daily-metrics-snapshot"].last_period == "2026-11-26"
    # a failed period is only run again on request
    assert engine.run("daily-support-ticket-summary", "2026-11-26").attempts == 3
    assert len([ln for ln in runner.lines() if f"start {bad}" in ln]) == 3
    runner.failing.clear()
    rerun = engine.run("daily-support-ticket-summary", "2026-11-26", rerun_failed=True)
    assert rerun.status is JobStatus.SUCCEEDED


def test_catch_up_on_start_queues_missed_periods_per_policy(
    engine: ScheduleEngine, runner: RecordingRunner
) -> None:
    # Nothing recorded yet: nothing was missed.
    assert engine.catch_up(datetime(2026, 12, 30, tzinfo=UTC)) == []
    engine.run("daily-metrics-snapshot", "2026-11-01")
    engine.run("weekly-sprint-plan", "2026-W45")
    later = datetime.now(UTC).replace(microsecond=0)
    later = later.replace(year=later.year + 1)  # a year offline
    queued = engine.catch_up(later)
    by_job: dict[str, list[str]] = {}
    for item in queued:
        by_job.setdefault(item.job_id, []).append(item.thread_id)
    assert len(by_job["daily-metrics-snapshot"]) == 5  # catch_up: all, limit 5
    assert len(by_job["weekly-sprint-plan"]) == 1  # catch_up: latest
    assert "incident-detection" not in by_job  # checks are never caught up
    for key in by_job["daily-metrics-snapshot"] + by_job["weekly-sprint-plan"]:
        assert engine.wait(key).status is JobStatus.SUCCEEDED
    assert engine.catch_up(later) == []  # the same missed periods are not queued again


def test_continuous_check_starts_its_job_only_when_something_is_wrong(
    engine: ScheduleEngine, runner: RecordingRunner
) -> None:
    quiet = engine.fire("incident-detection", datetime(2026, 11, 27, 6, 55, tzinfo=UTC))
    assert quiet is None
    engine.found[0] = Trigger(kind="incident", summary="checkout 5xx at 60%", severity="P1")  # type: ignore[attr-defined]
    key = engine.fire("incident-detection", datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    assert key == "incident-detection:2026-11-27T07:00"
    assert engine.wait(key).status is JobStatus.SUCCEEDED
    assert _done(runner) == [key]


def test_bad_period_and_unknown_job_are_clear_errors(engine: ScheduleEngine) -> None:
    with pytest.raises(NexusError, match="reports on week periods, not month"):
        engine.run("weekly-sprint-plan", "2026-11")
    with pytest.raises(NexusError, match="invalid period"):
        engine.run("weekly-sprint-plan", "2026-W99")
    with pytest.raises(KeyError, match="unknown job 'nope'"):
        engine.enqueue("nope", "2026-11-01")


def test_sync_stores_enabled_schedules_and_removes_switched_off_ones(
    engine: ScheduleEngine,
) -> None:
    applied, removed = engine.sync()
    assert "daily-metrics-snapshot" in applied and removed == []
    stored = engine.schedules()
    assert stored["weekly-sprint-plan"]["schedule"] == "30 7 * * 1"
    assert engine.sync() == (applied, [])  # idempotent
    engine.calendar = calendar(jobs={"weekly-sprint-plan": {"enabled": False}})
    _applied2, removed2 = engine.sync()
    assert removed2 == ["weekly-sprint-plan"]
    assert "weekly-sprint-plan" not in engine.schedules()
