"""Model faults through the real OpenAI client during a full improvement-loop iteration.

Each fault either costs one extra call and changes nothing (retry or repair), or ends the
run as failed with one readable line naming the step and the cause, with nothing stored
for the failed step and no action executed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from rel_support import (
    HONOURED_RETRY_AFTER_S,
    action_kinds,
    comparable,
    iterate,
    nexus_for,
    one_readable_line,
    stored_steps,
)

from nexus_agents.config import LLMConfig
from nexus_agents.llm.factory import build_chat_model
from nexus_agents.llm.interface import ChatMessage, ChatRequest
from nexus_agents.testing.faults import Fault, FaultKind
from nexus_agents.testing.mock_server import MockLLMServer
from nexus_agents.testing.playbook_author import PlaybookAuthor

FAULT_AT = 4  # the sprint prioritizer's call: the first one after the parallel ANALYZE pair
FAULT_STEP = "plan"
SLOW_S = 2.0  # the server's delay for "slow"; the client gives up after llm.timeout_s = 0.5

CAUSES: dict[str, str] = {
    "rate_limit": r"HTTP 429",
    "server_error": r"HTTP 500",
    "slow": r"timed out after 0\.5 s",
    "reset": r"connection to http://127.0.0.1:\d+/v1 failed \((RemoteProtocolError|ReadError|ConnectError)\)",
    "invalid_json": r"not valid JSON",
    "schema_invalid": r"did not match the schema",
    "refusal": r"model refused",
    "length": r"cut off \(length\)",
}
RETRIED = {"rate_limit", "server_error", "slow", "reset"}  # 4 attempts (llm.max_attempts)
REPAIRED = {"invalid_json", "schema_invalid", "length"}  # 1 + llm.repair_rounds calls


def fault(kind: str) -> Fault:
    if kind == "rate_limit":
        return Fault(kind=FaultKind.RATE_LIMIT, retry_after_s=HONOURED_RETRY_AFTER_S)
    if kind == "slow":
        return Fault(kind=FaultKind.SLOW, delay_s=SLOW_S)
    return Fault(kind=FaultKind(kind))


class RecordedSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.mark.parametrize("kind", sorted(RETRIED | REPAIRED))
async def test_one_fault_costs_one_call_and_changes_no_artifact(
    kind: str, workspace: Path, clean_run: dict[str, Any]
) -> None:
    sleep = RecordedSleep()
    with MockLLMServer(faults={FAULT_AT: fault(kind)}, responder=PlaybookAuthor()) as server:
        result = await iterate(nexus_for(workspace, server, sleep=sleep))
        stats = server.stats
    assert result.status == "succeeded", result.error
    assert stats.faults == {kind: 1}
    assert stats.requests == clean_run["requests"] + 1
    assert comparable(result.artifacts) == clean_run["artifacts"]
    assert action_kinds(workspace) == ["deploy"]
    if kind == "rate_limit":
        assert sleep.waits == [HONOURED_RETRY_AFTER_S]  # the server's Retry-After, honoured
    elif kind in RETRIED:
        assert len(sleep.waits) == 1 and 0.01 <= sleep.waits[0] <= 0.05
    else:
        assert sleep.waits == []  # a repair round is a new request, not a retry


async def test_a_refusal_fails_the_step_at_once_with_a_readable_reason(workspace: Path) -> None:
    with MockLLMServer(faults={FAULT_AT: "refusal"}, responder=PlaybookAuthor()) as server:
        result = await iterate(nexus_for(workspace, server))
        assert server.stats.requests == FAULT_AT  # no retry of a refusal
    assert result.status == "failed"
    error = one_readable_line(result.error)
    assert f"'{FAULT_STEP}'" in error and "sprint_prioritizer" in error
    assert re.search(CAUSES["refusal"], error)
    steps = await stored_steps(workspace, result.run_id)
    assert "measure" in steps and FAULT_STEP not in steps
    assert action_kinds(workspace) == []


# a fault on every request from request ``start`` on: retries and repairs are bounded
PERSISTENT = [
    ("rate_limit", 1, "measure"),
    ("server_error", FAULT_AT, FAULT_STEP),
    ("slow", 1, "measure"),
    ("reset", 1, "measure"),
    ("invalid_json", 1, "measure"),
    ("schema_invalid", FAULT_AT, FAULT_STEP),
    ("length", 1, "measure"),
]


@pytest.mark.parametrize(("kind", "start", "step"), PERSISTENT)
async def test_a_persistent_fault_fails_the_run_cleanly(
    kind: str, start: int, step: str, workspace: Path
) -> None:
    def schedule(number: int) -> Fault | None:
        return fault(kind) if number >= start else None

    with MockLLMServer(faults=schedule, responder=PlaybookAuthor()) as server:
        result = await iterate(nexus_for(workspace, server))
        calls_at_step = server.stats.requests - (start - 1)
    assert result.status == "failed"
    error = one_readable_line(result.error)
    assert f"step '{step}' failed" in error
    assert re.search(CAUSES[kind], error), error
    assert calls_at_step == (4 if kind in RETRIED else 1 + LLMConfig().repair_rounds)
    steps = await stored_steps(workspace, result.run_id)
    assert step not in steps
    assert ("measure" in steps) == (start > 1)
    assert action_kinds(workspace) == []


async def test_retry_after_is_capped_by_backoff_max() -> None:
    """A server asking for 30 s gets at most llm.backoff_max_s (0.05 s here)."""
    from nexus_agents.config import NexusConfig

    sleep = RecordedSleep()
    schedule = [Fault(kind=FaultKind.RATE_LIMIT, retry_after_s=30)]
    with MockLLMServer(faults=schedule) as server:
        config = NexusConfig.model_validate(
            {"llm": {"base_url": server.base_url, "api_key": "sk-test", "backoff_max_s": 0.05}}
        )
        model = build_chat_model(config, sleep=sleep)
        response = await model.complete(
            ChatRequest(messages=[ChatMessage(role="user", content="hello")])
        )
    assert response.message.content
    assert sleep.waits == [0.05]
