"""Run budgets stop a run cleanly with a clear reason; the Dev<->QA loop is bounded.

A budget is per run: it holds across resumes, counts every call (those of failed steps
and their repair rounds included) and is shared by parallel branches, which reserve
before they call, so together they cannot overshoot it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from rel_support import action_kinds, iterate, nexus_for, one_readable_line, stored_steps

from nexus_agents.artifacts.registry import get_artifact
from nexus_agents.config import LLMConfig
from nexus_agents.runs.store import RunStore, default_db_path
from nexus_agents.testing.mock_server import MockLLMServer
from nexus_agents.testing.playbook_author import AuthorScenario, PlaybookAuthor

# The loop's first step (measure) costs about 2,300 tokens and $0.0005 with the demo data;
# the two parallel analyze branches then ask with about 3,600 and 4,100 prompt tokens.


@pytest.mark.parametrize(
    ("limit", "value", "reason", "calls"),
    [
        ("max_model_calls", 3, r"3 model calls made, limit is 3", 3),
        (
            "max_tokens",
            5000,
            r"tokens used, limit is 5000; the next call \(by \w+\) needs about \d+ prompt tokens",
            1,
        ),
        (
            "max_cost_usd",
            0.001,
            r"spent, limit is \$0\.0010; the next call \(by \w+\) would cost about \$0\.\d+",
            1,
        ),
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


class JunkFor:
    """PlaybookAuthor, except that one artifact kind's answers are never valid JSON."""

    def __init__(self, kind: str) -> None:
        self.schema_name = get_artifact(kind).narrative_model().__name__
        self.author = PlaybookAuthor()

    def __call__(self, request: Mapping[str, Any]) -> dict[str, Any] | None:
        fmt = request.get("response_format") or {}
        if (fmt.get("json_schema") or {}).get("name") == self.schema_name:
            return {"content": "I cannot answer in JSON today."}
        return self.author(request)


async def _totals(workspace: Path, run_id: str) -> dict[str, float]:
    async with await RunStore.open(default_db_path(workspace)) as store:
        return await store.usage_totals(run_id)


async def test_the_calls_of_a_failed_step_and_its_repairs_are_counted(workspace: Path) -> None:
    with MockLLMServer(responder=JunkFor("weekly_analytics_report")) as server:
        nx = nexus_for(workspace, server)
        result = await iterate(nx)
        requests = server.stats.requests
        shown = await nx.aresult(result.run_id)  # what `nexus runs show` prints
    assert result.status == "failed" and "measure" in (result.error or "")
    assert requests == 1 + LLMConfig().repair_rounds  # the answer, then its repair rounds
    totals = await _totals(workspace, result.run_id)
    assert totals["calls"] == requests and totals["total_tokens"] > 0
    assert result.usage["calls"] == requests and shown.usage["calls"] == requests
    assert shown.usage["total_tokens"] == totals["total_tokens"]


async def test_a_calls_budget_holds_across_resumes(workspace: Path) -> None:
    # measure fails after its repair round; every resume retries it
    with MockLLMServer(responder=JunkFor("weekly_analytics_report")) as server:
        nx = nexus_for(workspace, server, overrides={"limits.max_model_calls": 3})
        result = await iterate(nx)
        for _ in range(5):
            assert result.status == "failed"
            result = await nx.aresume(result.run_id)
        requests = server.stats.requests
    assert requests == 3  # not 2 per attempt: 12
    assert result.status == "failed"
    assert "3 model calls made, limit is 3" in one_readable_line(result.error)
    assert (await _totals(workspace, result.run_id))["calls"] == 3
    assert result.usage["calls"] == 3


@pytest.mark.parametrize("limit", [2, 3])
async def test_parallel_branches_share_one_calls_budget(limit: int, workspace: Path) -> None:
    # with 2, after measure both analyze branches would pass a check of "calls made < 2"
    with MockLLMServer(responder=PlaybookAuthor()) as server:
        nx = nexus_for(workspace, server, overrides={"limits.max_model_calls": limit})
        result = await iterate(nx)
        requests = server.stats.requests
    assert result.status == "failed" and f"limit is {limit}" in (result.error or "")
    # a branch cancelled when the other failed may not have reached the server; it is
    # counted all the same
    assert requests <= limit
    assert (await _totals(workspace, result.run_id))["calls"] == limit


@pytest.mark.parametrize(
    ("limit", "value", "reason"),
    [
        ("max_tokens", 1000, r"0 tokens used, limit is 1000; the next call .* needs about \d+ prompt"),
        ("max_cost_usd", 0.0001, r"\$0\.0000 spent, limit is \$0\.0001; the next call"),
    ],
)
async def test_a_first_call_that_cannot_fit_is_not_sent(
    limit: str, value: Any, reason: str, workspace: Path
) -> None:
    import re

    with MockLLMServer(responder=PlaybookAuthor()) as server:
        nx = nexus_for(workspace, server, overrides={f"limits.{limit}": value})
        result = await iterate(nx)
        assert server.stats.requests == 0  # its prompt alone would pass the limit
    assert result.status == "failed"
    assert re.search(reason, one_readable_line(result.error)), result.error


async def test_parallel_branches_share_one_tokens_budget(workspace: Path) -> None:
    limit = 9000  # room for measure and one analyze branch, not for both
    with MockLLMServer(responder=PlaybookAuthor()) as server:
        nx = nexus_for(workspace, server, overrides={"limits.max_tokens": limit})
        result = await iterate(nx)
        served = server.stats.prompt_tokens + server.stats.completion_tokens
        requests = server.stats.requests
    assert result.status == "failed" and "limit is 9000" in (result.error or "")
    assert requests <= 2 and served <= limit
    # the branch still in flight when the other failed may be cancelled before its usage
    # is read: it is then recorded as a call without tokens
    totals = await _totals(workspace, result.run_id)
    assert totals["calls"] == 2 and totals["total_tokens"] <= served


async def test_max_cost_is_kept_within_one_call(workspace: Path) -> None:
    limit = 0.002  # the whole iteration costs about $0.0035 at gpt-4o-mini prices
    with MockLLMServer(responder=PlaybookAuthor()) as server:
        nx = nexus_for(workspace, server, overrides={"limits.max_cost_usd": limit})
        result = await iterate(nx)
    assert result.status == "failed" and "would cost about" in (result.error or "")
    async with await RunStore.open(default_db_path(workspace)) as store:
        calls = await store.usage_for(result.run_id)
    spent = sum(c.cost_usd for c in calls)
    assert len(calls) >= 2 and spent <= limit + max(c.cost_usd for c in calls)


async def test_max_tokens_of_a_request_is_capped_by_what_is_left(workspace: Path) -> None:
    limit = 5000
    with MockLLMServer(responder=PlaybookAuthor()) as server:
        nx = nexus_for(workspace, server, overrides={"limits.max_tokens": limit})
        await iterate(nx)
        [first] = server.requests
        prompt = server.stats.prompt_tokens
    asked = first.body.get("max_tokens")
    assert isinstance(asked, int) and 256 <= asked <= limit - prompt


async def test_far_from_the_limits_no_max_tokens_is_sent(workspace: Path) -> None:
    # some servers reject a max_tokens above their own output limit: only a budget that
    # is nearly spent sets one
    with MockLLMServer(responder=PlaybookAuthor()) as server:
        result = await iterate(nexus_for(workspace, server))
        bodies = [r.body for r in server.requests]
    assert result.status == "succeeded"
    assert bodies and all("max_tokens" not in body for body in bodies)
