"""Run budgets stop a run cleanly with a clear reason; the Dev<->QA loop is bounded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rel_support import action_kinds, iterate, nexus_for, one_readable_line, stored_steps

from nexus_agents.testing.mock_server import MockLLMServer
from nexus_agents.testing.playbook_author import AuthorScenario, PlaybookAuthor


@pytest.mark.parametrize(
    ("limit", "value", "reason", "calls"),
    [
        ("max_model_calls", 3, r"3 model calls made, limit is 3", 3),
        ("max_tokens", 1000, r"tokens used, limit is 1000", 1),
        ("max_cost_usd", 0.0001, r"spent, limit is \$0\.00", 1),
    ],
)
async def test_a_budget_stops_the_run_before_the_next_call(
    limit: str, value: Any, reason: str, calls: int, workspace: Path
) -> None:
    import re

    with MockLLMServer(responder=PlaybookAuthor()) as server:
        nx = nexus_for(workspace, server, overrides={f"limits.{limit}": value})
        result = await iterate(nx)
        assert server.stats.requests == calls  # no call started past the limit
    assert result.status == "failed"
    error = one_readable_line(result.error)
    assert "budget" in error and re.search(reason, error), error
    stored = await stored_steps(workspace, result.run_id)
    assert "measure" in stored and "plan" not in stored
    assert action_kinds(workspace) == []


async def test_dev_qa_loop_stops_after_three_attempts_and_escalates(workspace: Path) -> None:
    author = PlaybookAuthor(AuthorScenario(qa_failures=99))
    with MockLLMServer(responder=author) as server:
        nx = nexus_for(workspace, server)
        paused = await nx.arun_loop_iteration()
        agents = [r.headers.get("x-nexus-agent") for r in server.requests]
        assert paused.status == "waiting_approval", paused.error
        assert paused.pending is not None
        assert paused.pending.approval_id == "escalation_decision"
        assert agents.count("developer") == 3 and agents.count("evidence_collector") == 3
        assert paused.artifacts["escalation"]["kind"] == "escalation"
        done = await nx.aresume(paused.run_id, "defer")
        agents = [r.headers.get("x-nexus-agent") for r in server.requests]
    assert done.status == "succeeded", done.error
    assert agents.count("developer") == 3  # never a 4th build
    assert "deploy" not in action_kinds(workspace)
