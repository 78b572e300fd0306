"""A process killed inside step 3 resumes in a new process without redoing steps 1-2."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from nexus_agents.runs.store import RunStore, default_db_path

HERE = Path(__file__).parent


def _run(mode: str, workspace: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, str(HERE / "crash_run.py"), mode, str(workspace)],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )


@pytest.mark.slow  # kills a run's process and resumes it in a new one
async def test_killed_run_resumes_from_last_completed_step(tmp_path: Path) -> None:
    first = _run("start", tmp_path)
    assert first.returncode == -signal.SIGKILL, first.stderr
    assert (tmp_path / "died").exists()

    async with await RunStore.open(default_db_path(tmp_path)) as store:
        crashed = await store.get_run("nightly:2025-01-01")
    assert crashed is not None and crashed.status == "running"

    second = _run("resume", tmp_path)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout.strip().splitlines()[-1])["status"] == "succeeded"

    counts = Counter((tmp_path / "steps.log").read_text().split())
    assert counts["step1"] == 1
    assert counts["step2"] == 1
    assert 1 <= counts["step3"] <= 2
    assert counts["step4"] == 1

    async with await RunStore.open(default_db_path(tmp_path)) as store:
        run = await store.get_run("nightly:2025-01-01")
        events = await store.events_for("nightly:2025-01-01")
    assert run is not None and run.status == "succeeded" and run.finished_at is not None
    finished = [e.step for e in events if e.event == "finished"]
    assert finished == ["step1", "step2", "step3", "step4"]
