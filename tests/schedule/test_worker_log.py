"""The worker's JSON log: one line per fire, attempt, retry (with its cause), skip and
final failure, with job, period, run id and duration (schedule fires are driven by
``engine.fire``, not by waiting on cron)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from nexus_agents.logging_setup import ROOT, configure_logging
from nexus_agents.schedule.engine import ScheduleEngine
from nexus_agents.schedule.jobs import JobStatus
from tests.schedule._fakes import RecordingRunner, calendar

FAILING = "daily-support-ticket-summary"
GOOD = "daily-metrics-snapshot"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    logger = logging.getLogger(ROOT)
    level = logger.level
    handler = configure_logging("INFO", "json", stream=stream)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_log_of_a_fired_retried_failed_and_skipped_job(
    tmp_path: Path, json_log: io.StringIO
) -> None:
    runner = RecordingRunner(tmp_path / "runs.log", failing={FAILING})
    engine = ScheduleEngine(
        calendar(),
        runner,
        database_url=f"sqlite:///{tmp_path / 'dbos.sqlite'}",
        workspace=tmp_path,
        poll_interval_s=0.05,
    )
    with engine:
        bad = engine.fire(FAILING, datetime(2026, 11, 27, 6, 10, tzinfo=UTC))
        good = engine.fire(GOOD, datetime(2026, 11, 27, 6, 0, tzinfo=UTC))
        assert bad is not None and good is not None
        assert engine.wait(bad).status is JobStatus.FAILED
        assert engine.wait(good).status is JobStatus.SUCCEEDED
        again = engine.run(GOOD, "2026-11-26")
    assert again.already_done and again.status is JobStatus.SUCCEEDED

    lines = _lines(json_log)
    assert all({"ts", "level", "logger", "msg", "event"} <= set(line) for line in lines)

    def of(event: str, job: str) -> list[dict[str, Any]]:
        return [ln for ln in lines if ln["event"] == event and ln["job"] == job]

    (fired,) = of("fire", FAILING)
    assert fired["period"] == "2026-11-26" and fired["thread_id"] == bad
    assert [ln["attempt"] for ln in of("attempt", FAILING)] == [1, 2, 3]
    retries = of("retry", FAILING)
    assert [ln["attempt"] for ln in retries] == [1, 2]
    assert all(ln["level"] == "WARNING" for ln in retries)
    assert all(ln["cause"] == f"RuntimeError: {FAILING} data source unreachable" for ln in retries)
    (failed,) = of("failed", FAILING)
    assert failed["level"] == "ERROR" and failed["attempts"] == 3
    assert "data source unreachable" in failed["reason"]

    (done,) = of("attempt_succeeded", GOOD)
    assert done["run_id"] == f"run-{good}"
    assert isinstance(done["duration_s"], float) and done["duration_s"] >= 0
    (skipped,) = of("skip", GOOD)
    assert skipped["period"] == "2026-11-26" and skipped["run_id"] == f"run-{good}"
