"""Helpers of the run-queue tests: worker subprocesses, a gated mock model, a fresh
PostgreSQL database per test, and what the run store recorded."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from nexus_agents.testing.playbook_author import AuthorScenario, PlaybookAuthor

REPO = Path(__file__).resolve().parents[2]
NEXUS = Path(sys.executable).parent / "nexus"
URL_VAR = "NEXUS_TEST_POSTGRES_URL"
NOW = "2026-11-27T10:20:00+00:00"
P2_CALLS = 6  # model calls of one P2 incident run (triage .. post-mortem)


def alert(tag: str, n: int) -> dict[str, Any]:
    return {
        "id": f"ALERT-{tag}-{n:03d}",
        "service": f"checkout-{tag}-{n}",
        "title": "exports are slow",
        "detected_at": "2026-11-27T10:00:00+00:00",
    }


def worker_env(db_url: str | None, base_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NEXUS_", "OPENAI_")) and k != "PYTHONPATH"
    }
    env.update(
        PYTHONPATH=str(REPO),
        NEXUS_LLM_BASE_URL=base_url,
        NEXUS_LLM_API_KEY="sk-queue-test",
        NO_COLOR="1",
    )
    if db_url:
        env["NEXUS_DATABASE_URL"] = db_url
    return env


def start_worker(
    ws: Path, env: dict[str, str], log: Path, *args: str
) -> subprocess.Popen[bytes]:
    """``nexus worker --queue runs`` on ``ws``; its output goes to ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(NEXUS), "worker", "-w", str(ws), "--queue", "runs", *args],
            cwd=ws,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def nexus_cli(ws: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(NEXUS), *args, "-w", str(ws)],
        cwd=ws,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class GatedAuthor:
    """``PlaybookAuthor`` proposing P2; after the first ``open_for`` requests it holds
    every answer until ``release()``, counting the held ones (``wait_held``)."""

    def __init__(self, open_for: int) -> None:
        self.author = PlaybookAuthor(AuthorScenario(proposed_severity="P2"))
        self.open_for = open_for
        self.seen = 0
        self.held = 0
        self._gate = threading.Event()
        self._changed = threading.Condition()

    def __call__(self, request: dict[str, Any]) -> Any:
        with self._changed:
            self.seen += 1
            hold = self.seen > self.open_for and not self._gate.is_set()
        answer = self.author(request)
        if not hold:
            return answer

        async def held() -> Any:
            with self._changed:
                self.held += 1
                self._changed.notify_all()
            await asyncio.to_thread(self._gate.wait, 120)
            return answer

        return held()

    def wait_held(self, count: int, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.held >= count, timeout)

    def release(self) -> None:
        self._gate.set()


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new, empty database on the ``NEXUS_TEST_POSTGRES_URL`` server (dropped after)."""
    base = os.environ.get(URL_VAR)
    if not base:
        pytest.skip(f"set {URL_VAR} to a disposable PostgreSQL database to run this")
    psycopg = pytest.importorskip(
        "psycopg", reason="needs the 'postgres' extra: pip install 'nexus-agents[postgres]'"
    )
    name = f"nexus_queue_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(base, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"{URL_VAR} is set but no PostgreSQL server answers: {type(exc).__name__}")
    with admin:
        admin.execute(f"CREATE DATABASE {name}")
        head, _, rest = base.partition("://")
        authority, _, tail = rest.partition("/")
        query = tail.partition("?")[2]
        try:
            yield f"{head}://{authority}/{name}" + (f"?{query}" if query else "")
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def recorded(location: Any) -> dict[str, Any]:
    """What the run store holds: runs, finished steps and model calls per (run, step),
    and the executed actions."""
    from nexus_agents.runs.store import RunStore

    async def read() -> dict[str, Any]:
        store = await RunStore.open(location)
        try:
            runs = await store.list_runs(limit=10_000)
            finished: Counter[tuple[str, str]] = Counter()
            calls: Counter[tuple[str, str]] = Counter()
            for run in runs:
                for event in await store.events_for(run.run_id):
                    if event.event == "finished":
                        finished[(run.run_id, event.step)] += 1
                for usage in await store.usage_for(run.run_id):
                    calls[(run.run_id, usage.step)] += 1
            actions = await store.db.fetchall("SELECT key, run_id FROM actions")
            leases = await store.db.fetchall("SELECT run_id, pid FROM run_leases")
            return {
                "status": {run.run_id: run.status for run in runs},
                "finished": finished,
                "calls": calls,
                "actions": [dict(row) for row in actions],
                "leases": [dict(row) for row in leases],
            }
        finally:
            await store.close()

    return asyncio.run(read())
