"""Several processes on one system database: dedupe, crash recovery, clean shutdown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _start(url: str, log: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.schedule._app", url, str(log), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _lines(log: Path, word: str) -> list[str]:
    return [ln for ln in log.read_text().splitlines() if f" {word} " in ln] if log.exists() else []


@pytest.mark.slow  # starts two worker processes
def test_two_processes_running_the_same_period_execute_it_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dbos.sqlite'}"
    log = tmp_path / "runs.log"
    # create the schema once so the two racers do not both migrate
    first = _start(url, log, "run", "daily-metrics-snapshot", "2026-11-25")
    assert first.wait(timeout=20) == 0, first.stderr.read() if first.stderr else ""
    procs = [_start(url, log, "run", "weekly-sprint-plan", "2026-W48") for _ in range(2)]
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1]))
    assert len(_lines(log, "done")) == 2  # one per distinct JOB:PERIOD
    assert [ln.split()[-1] for ln in _lines(log, "done")].count("weekly-sprint-plan:2026-W48") == 1
    assert outs[0]["run_id"] == outs[1]["run_id"] == "run-weekly-sprint-plan:2026-W48"


@pytest.mark.slow  # starts, kills and restarts worker processes
def test_worker_killed_mid_run_finishes_the_period_once_after_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dbos.sqlite'}"
    log = tmp_path / "runs.log"
    key = "daily-metrics-snapshot:2026-11-26"
    crashed = _start(url, log, "worker-enqueue", key)
    crashed.communicate(timeout=20)
    assert crashed.returncode == -signal.SIGKILL
    assert len(_lines(log, "start")) == 1 and _lines(log, "done") == []

    restarted = _start(url, log, "worker-drain")
    _out, err = restarted.communicate(timeout=20)
    assert restarted.returncode == 0, err
    assert [ln.split()[-1] for ln in _lines(log, "done")] == [key]

    again = _start(url, log, "worker-drain")  # nothing left: runs nothing
    again.communicate(timeout=20)
    assert again.returncode == 0
    assert len(_lines(log, "done")) == 1


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_worker_stops_cleanly_on_signal(tmp_path: Path, sig: signal.Signals) -> None:
    url = f"sqlite:///{tmp_path / 'dbos.sqlite'}"
    proc = _start(url, tmp_path / "runs.log", "worker-forever")
    assert proc.stdout is not None
    for line in proc.stdout:  # blocks until the worker reports it is running
        if "running" in line:
            break
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "worker stopping" in out


@pytest.mark.postgres
def test_postgres_system_database(tmp_path: Path) -> None:
    url = os.environ.get("NEXUS_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("set NEXUS_TEST_POSTGRES_URL to a disposable PostgreSQL database to run this")
    pytest.importorskip("psycopg", reason="needs the 'postgres' extra: pip install 'nexus-agents[postgres]'")
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect():
            pass
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(
            f"no PostgreSQL server reachable at NEXUS_TEST_POSTGRES_URL: {type(exc).__name__}"
        )
    log = tmp_path / "runs.log"
    # a day no earlier session of this database can have used
    day = (date(2100, 1, 1) + timedelta(days=uuid.uuid4().int % 30000)).isoformat()
    procs = [_start(url, log, "run", "daily-metrics-snapshot", day) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
    assert [ln.split()[-1] for ln in _lines(log, "done")] == [f"daily-metrics-snapshot:{day}"]
