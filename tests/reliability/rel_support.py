"""Shared helpers of the reliability tests: a demo workspace per test, a Nexus pointed at
the mock model server, a bounded loop iteration and artifact comparison."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path
from typing import Any

from nexus_agents.api import Nexus
from nexus_agents.config import load_config
from nexus_agents.llm.factory import build_chat_model
from nexus_agents.llm.retry import SleepFn
from nexus_agents.runs.engine import RunResult
from nexus_agents.runs.store import RunStore, default_db_path
from nexus_agents.testing.mock_server import MockLLMServer

TEST_KEY = "sk-test-reliability"
RUN_TIMEOUT_S = 60.0
# tiny retry sleeps and a short client timeout, so faults cost milliseconds, not minutes
FAST_LLM: dict[str, Any] = {
    "llm.backoff_base_s": 0.01,
    "llm.backoff_max_s": 0.05,
    "llm.timeout_s": 0.5,
}
# a Retry-After the client must honour (it is below backoff_max_s here)
HONOURED_RETRY_AFTER_S = 0.04
# agent steps of one improvement-loop iteration, in the order their model calls happen
LOOP_AGENT_STEPS = (
    "measure",
    "analyze",  # feedback_insights + data_analysis, in parallel
    "analyze",
    "plan",
    "producer_review",
    "build",
    "validate",
    "release",
    "deploy_decision",
)


def env_for(server: MockLLMServer, key: str = TEST_KEY) -> dict[str, str]:
    return {"NEXUS_LLM_BASE_URL": server.base_url, "NEXUS_LLM_API_KEY": key}


def nexus_for(
    workspace: Path,
    server: MockLLMServer,
    *,
    key: str = TEST_KEY,
    overrides: dict[str, Any] | None = None,
    sleep: SleepFn | None = None,
    **kwargs: Any,
) -> Nexus:
    """A Nexus on ``workspace`` whose real OpenAI client talks to ``server``.

    ``sleep`` replaces the retry policy's sleep (to record the waits instead of waiting).
    """
    config = load_config(
        workspace, env=env_for(server, key), overrides={**FAST_LLM, **(overrides or {})}
    )
    model = build_chat_model(config, sleep=sleep) if sleep is not None else None
    return Nexus(config, model=model, **kwargs)


async def iterate(nx: Nexus, decision: str = "approve", *, unattended: bool = False) -> RunResult:
    """One loop iteration, answering every approval gate with ``decision``; bounded in time."""

    async def go() -> RunResult:
        result = await nx.arun_loop_iteration(unattended=unattended)
        while result.status == "waiting_approval" and result.pending is not None:
            chosen = decision if decision in result.pending.options else result.pending.on_timeout
            result = await nx.aresume(result.run_id, chosen)
        return result

    return await asyncio.wait_for(go(), RUN_TIMEOUT_S)


def comparable(artifacts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What must match between two runs: each step's facts, narrative and derived values
    (or the whole record of a code step), without meta (run id, timestamps)."""
    out: dict[str, Any] = {}
    for step, data in artifacts.items():
        if "narrative" in data or "facts" in data:
            out[step] = {k: data.get(k) for k in ("kind", "facts", "narrative", "derived")}
        else:
            out[step] = {k: v for k, v in data.items() if k != "meta"}
    return out


async def stored_steps(workspace: Path, run_id: str) -> set[str]:
    """Steps that have a complete artifact in the run store."""
    async with await RunStore.open(default_db_path(workspace)) as store:
        return {a.step for a in await store.artifacts_for(run_id)}


def action_rows(workspace: Path) -> list[dict[str, Any]]:
    path = workspace / "actions.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def action_kinds(workspace: Path) -> list[str]:
    return [row["kind"] for row in action_rows(workspace)]


def backlog_ids(workspace: Path) -> list[str]:
    with (workspace / "data" / "backlog.csv").open(newline="", encoding="utf-8") as fh:
        return [row["id"] for row in csv.DictReader(fh)]


def one_readable_line(error: str | None) -> str:
    """The run's error, checked to be a single readable line without a traceback."""
    assert error, "a failed run must say why"
    assert "\n" not in error.strip(), error
    assert "Traceback" not in error and 'File "' not in error, error
    assert len(error) < 500, error
    return error


def backlog_statuses(workspace: Path) -> dict[str, str]:
    with (workspace / "data" / "backlog.csv").open(newline="", encoding="utf-8") as fh:
        return {row["id"]: row["status"] for row in csv.DictReader(fh)}
