"""Submitted runs on the DBOS queue, executed by ``nexus worker`` processes.

SQLite (always): submit + one worker, duplicate submissions, ``nexus submit --wait``.
PostgreSQL (``NEXUS_TEST_POSTGRES_URL``): one worker finishes N runs once each, and two
workers where one is SIGKILLed mid-run: the other finishes every run exactly once.
The model is the project's mock server on 127.0.0.1.
"""

from __future__ import annotations

import json
import signal
import uuid
from collections import Counter
from pathlib import Path

import pytest

from nexus_agents.api import Nexus
from nexus_agents.config import load_config
from nexus_agents.runs.store import database_location
from nexus_agents.schedule.queued import derived_thread_id
from nexus_agents.testing import MockLLMServer
from tests.schedule.queue_support import (
    NEXUS,
    NOW,
    P2_CALLS,
    GatedAuthor,
    alert,
    fresh_database,
    nexus_cli,
    recorded,
    start_worker,
    worker_env,
)

pytestmark = pytest.mark.skipif(not NEXUS.exists(), reason="the nexus console script is not installed")
WORKER_TIMEOUT_S = 50


def _nexus(ws: Path, env: dict[str, str]) -> Nexus:
    return Nexus(load_config(ws, env=env))


def _submit_all(nx: Nexus, tag: str, count: int) -> list[str]:
    try:
        return [
            nx.submit(
                "incident_response", {"alert": alert(tag, n), "now": NOW}, unattended=True
            ).run_id
            for n in range(count)
        ]
    finally:
        nx.close_queue()


def _drain(ws: Path, env: dict[str, str], log: Path, *args: str) -> None:
    proc = start_worker(ws, env, log, "--drain", *args)
    try:
        assert proc.wait(timeout=WORKER_TIMEOUT_S) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _assert_each_step_once(seen: dict[str, object], runs: list[str], calls_per_run: int) -> None:
    """Every run succeeded; no graph step finished twice or called the model twice; each
    action was executed once."""
    assert sorted(seen["status"]) == sorted(runs)  # type: ignore[call-overload]
    assert set(seen["status"].values()) == {"succeeded"}, seen["status"]  # type: ignore[attr-defined]
    finished: Counter[tuple[str, str]] = seen["finished"]  # type: ignore[assignment]
    calls: Counter[tuple[str, str]] = seen["calls"]  # type: ignore[assignment]
    assert [key for key, n in finished.items() if n != 1] == []
    assert [key for key, n in calls.items() if n != 1] == []
    per_run = Counter(run for run, _step in calls.elements())
    assert set(per_run.values()) == {calls_per_run}, per_run
    assert {row["run_id"] for row in seen["actions"]} == set(runs)  # type: ignore[attr-defined]


# ------------------------------------------------------------------------ SQLite


@pytest.mark.slow  # a worker subprocess
def test_sqlite_submit_then_one_worker_runs_each_submission_once(
    demo_workspace: Path, tmp_path: Path
) -> None:
    with MockLLMServer(
        responder=GatedAuthor(open_for=10_000), max_requests=500, max_lifetime_s=120
    ) as server:
        env = worker_env(None, server.base_url)
        nx = _nexus(demo_workspace, env)
        try:
            first, second = (
                nx.submit("incident_response", {"alert": alert("sq", n), "now": NOW}).run_id
                for n in range(2)
            )
            # the same submission again (same graph, period, inputs) is the same run
            again = nx.submit("incident_response", {"alert": alert("sq", 0), "now": NOW})
        finally:
            nx.close_queue()
        assert again.run_id == first and again.already_submitted
        assert again.status == "queued"
        # ... also from the command line
        alert_file = tmp_path / "alert.json"
        alert_file.write_text(json.dumps(alert("sq", 1)))
        cli = nexus_cli(
            demo_workspace,
            env,
            "submit",
            "incident",
            "--alert",
            str(alert_file),
            "--input",
            json.dumps({"now": NOW}),
        )
        assert cli.returncode == 0, cli.stderr
        assert f"already submitted: run {second}" in cli.stdout

        _drain(demo_workspace, env, tmp_path / "worker.log")
        assert server.stats.requests == 2 * P2_CALLS

    seen = recorded(database_location(load_config(demo_workspace)))
    _assert_each_step_once(seen, [first, second], P2_CALLS)
    log = (tmp_path / "worker.log").read_text()
    assert f"run {first} (incident_response): succeeded" in log

    # a finished run: --wait prints its result at once, exit code as for `nexus run`
    done = nexus_cli(
        demo_workspace,
        env,
        "submit",
        "incident",
        "--alert",
        str(alert_file),
        "--input",
        json.dumps({"now": NOW}),
        "--wait",
    )
    assert done.returncode == 0, done.stderr
    assert f"run {second} (incident_response): succeeded" in done.stdout


def test_submit_refuses_an_unknown_graph_and_a_bad_period(demo_workspace: Path) -> None:
    from nexus_agents.exceptions import UnknownNameError

    nx = Nexus.from_workspace(demo_workspace)
    with pytest.raises(UnknownNameError):
        nx.submit("no_such_graph")
    with pytest.raises(ValueError):
        nx.submit("improvement_loop", period="2026-W99")
    assert nx._queue is None  # nothing was queued: the queue was never even opened


def test_derived_thread_id_is_stable_and_input_sensitive() -> None:
    a = derived_thread_id("incident_response", "2026-11-27", {"alert": {"id": "A", "x": 1}})
    b = derived_thread_id("incident_response", "2026-11-27", {"alert": {"x": 1, "id": "A"}})
    c = derived_thread_id("incident_response", "2026-11-27", {"alert": {"id": "B", "x": 1}})
    assert a == b != c


# -------------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
@pytest.mark.slow  # a worker subprocess
def test_postgres_one_worker_finishes_n_runs_exactly_once(
    demo_workspace: Path, tmp_path: Path
) -> None:
    with fresh_database() as url, MockLLMServer(
        latency_s=0.02,
        responder=GatedAuthor(open_for=10_000),
        max_requests=500,
        max_lifetime_s=120,
    ) as server:
        env = worker_env(url, server.base_url)
        nx = _nexus(demo_workspace, env)
        runs = _submit_all(nx, "one", 5)
        assert _submit_all(nx, "one", 5) == runs  # submitted twice: still five runs
        _drain(demo_workspace, env, tmp_path / "worker.log", "--concurrency", "3")
        assert server.stats.requests == 5 * P2_CALLS
        seen = recorded(database_location(load_config(demo_workspace, env=env)))
        assert not (demo_workspace / ".nexus" / "nexus.sqlite").exists()
    _assert_each_step_once(seen, runs, P2_CALLS)


@pytest.mark.postgres
@pytest.mark.slow  # two worker subprocesses, one killed
def test_postgres_worker_killed_mid_run_other_worker_finishes_every_run_once(
    demo_workspace: Path, tmp_path: Path
) -> None:
    runs_total, per_worker = 6, 2
    # the first 12 answers flow; later ones are held until the kill, so at the kill
    # every run being executed waits inside a model call
    author = GatedAuthor(open_for=12)
    with fresh_database() as url, MockLLMServer(
        latency_s=0.05, responder=author, max_requests=500, max_lifetime_s=120
    ) as server:
        env = worker_env(url, server.base_url)
        location = database_location(load_config(demo_workspace, env=env))
        nx = _nexus(demo_workspace, env)
        runs = _submit_all(nx, f"kill{uuid.uuid4().hex[:6]}", runs_total)
        common = ("--concurrency", str(per_worker), "--no-sync")
        doomed = start_worker(
            demo_workspace, env, tmp_path / "doomed.log", "--worker-id", "doomed", *common
        )
        survivor = None
        try:
            survivor = start_worker(
                demo_workspace, env, tmp_path / "survivor.log", "--worker-id", "survivor",
                "--drain", *common,
            )
            # both workers busy: one held model call per run being executed
            assert author.wait_held(2 * per_worker, timeout=WORKER_TIMEOUT_S), (
                f"{author.seen} requests, {author.held} held; "
                + (tmp_path / "doomed.log").read_text()[-2000:]
                + (tmp_path / "survivor.log").read_text()[-2000:]
            )
            at_kill = recorded(location)
            held_by_doomed = {
                row["run_id"] for row in at_kill["leases"] if row["pid"] == doomed.pid
            } - {"worker:doomed"}
            # each worker executes at most its --concurrency runs at once
            assert 0 < len(held_by_doomed) <= per_worker, at_kill["leases"]
            # mid-run: each of the doomed worker's runs has finished steps already
            done_before = {
                (run, step): n
                for (run, step), n in at_kill["calls"].items()
                if run in held_by_doomed
            }
            assert {run for run, _ in done_before} == held_by_doomed
            doomed.send_signal(signal.SIGKILL)
            assert doomed.wait(timeout=10) == -signal.SIGKILL
            author.release()
            assert survivor.wait(timeout=WORKER_TIMEOUT_S) == 0, (
                (tmp_path / "survivor.log").read_text()[-3000:]
            )
        finally:
            author.release()
            for proc in (doomed, survivor):
                if proc is not None and proc.poll() is None:
                    proc.kill()
                    proc.wait()
        seen = recorded(location)
        # the survivor finished the doomed worker's runs, through the queue
        finished_by = {run: nx.submission(run) for run in held_by_doomed}
        nx.close_queue()
        requests = server.stats.requests

    _assert_each_step_once(seen, runs, P2_CALLS)
    for key, count in done_before.items():  # steps finished before the kill: not redone
        assert seen["calls"][key] == count
    for run, sub in finished_by.items():
        assert sub is not None and sub.outcome is not None, run
        assert (sub.status, sub.outcome.worker) == ("succeeded", "survivor")
    # only the doomed worker's unanswered calls (one per run it held) were asked twice
    assert requests == runs_total * P2_CALLS + len(held_by_doomed)
    log = (tmp_path / "survivor.log").read_text()
    assert "took over the unfinished runs of worker doomed" in log
    lines = [json.loads(line) for line in (demo_workspace / "actions.jsonl").read_text().splitlines()]
    keys = Counter(line.get("idempotency_key") for line in lines)
    assert [k for k, n in keys.items() if n != 1] == []
