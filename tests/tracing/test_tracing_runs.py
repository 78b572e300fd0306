"""Spans of whole runs: the improvement loop through the real openai client against the
mock server, a failing step, and the links of a resumed run to its earlier executions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from opentelemetry.trace import SpanKind, StatusCode
from otel_spans import Spans

from nexus_agents.api import Nexus
from nexus_agents.testing import MockLLMServer
from nexus_agents.testing.faults import FaultKind
from nexus_agents.testing.playbook_author import PlaybookAuthor

AGENT_STEPS = {
    "measure": "analytics_reporter",
    "feedback_insights": "feedback_synthesizer",
    "data_analysis": "analytics_reporter",
    "plan": "sprint_prioritizer",
    "producer_review": "studio_producer",
    "build": "developer",
    "validate": "evidence_collector",
    "release": "reality_checker",
    "deploy_decision": "devops_automator",
}


def nexus(ws: Path, server: MockLLMServer) -> Nexus:
    env = {"NEXUS_LLM_BASE_URL": server.base_url, "NEXUS_LLM_API_KEY": "sk-tracing-test"}
    return Nexus.from_workspace(ws, env=env)


@pytest.fixture
async def author_server() -> AsyncIterator[MockLLMServer]:
    async with MockLLMServer(responder=PlaybookAuthor(), max_lifetime_s=120) as server:
        yield server


async def test_loop_iteration_is_one_span_tree_per_execution(
    spans: Spans, demo_workspace: Path, author_server: MockLLMServer
) -> None:
    nx = nexus(demo_workspace, author_server)
    first = await nx.arun("improvement_loop", period="2026-W47")
    assert first.status == "waiting_approval"
    done = await nx.aresume(first.run_id, "approve")
    assert done.status == "succeeded", done.error

    runs = spans.named("run ")
    assert [r.name for r in runs] == ["run improvement_loop"] * 2
    paused, resumed = sorted(runs, key=lambda s: s.start_time or 0)
    for run in runs:
        attrs = spans.attrs(run)
        assert run.parent is None
        assert attrs["nexus.graph"] == "improvement_loop"
        assert attrs["nexus.run.id"] == attrs["nexus.thread.id"] == done.run_id
        assert attrs["nexus.period"] == "2026-W47"
    assert spans.attrs(paused)["nexus.run.status"] == "waiting_approval"
    assert spans.attrs(paused)["nexus.run.resumed"] is False
    assert spans.attrs(resumed)["nexus.run.status"] == "succeeded"
    assert spans.attrs(resumed)["nexus.run.resumed"] is True
    # the resumed execution is a trace of its own, linked to the first one
    assert resumed.context.trace_id != paused.context.trace_id
    assert [link.context.span_id for link in resumed.links] == [paused.context.span_id]

    steps = {
        spans.attrs(s)["nexus.step.id"]: s
        for s in spans.named("step ")
        if spans.parent(s) is paused
    }
    assert set(AGENT_STEPS) <= set(steps)
    for step_id, agent in AGENT_STEPS.items():
        attrs = spans.attrs(steps[step_id])
        assert steps[step_id].name == f"step {step_id}"
        assert attrs["nexus.step.kind"] == "agent"
        assert attrs["gen_ai.agent.name"] == agent
        assert attrs["nexus.outcome"] == "finished"
        assert attrs["nexus.artifact.kind"] == done.artifacts[step_id]["kind"]
    validate = spans.attrs(steps["validate"])
    assert validate["nexus.step.attempt"] == 1 and validate["nexus.step.max_attempts"] == 3
    assert validate["nexus.step.verdict"] == "PASS"
    assert validate["nexus.step.value.qa_verdict"] == "PASS"
    # the approval paused the first execution and was decided in the second
    assert spans.attrs(steps["deploy_approval"])["nexus.outcome"] == "paused"
    assert steps["deploy_approval"].status.status_code is StatusCode.UNSET
    after = {
        spans.attrs(s)["nexus.step.id"]: s
        for s in spans.named("step ")
        if spans.parent(s) is resumed
    }
    assert spans.attrs(after["deploy_approval"])["nexus.step.value.deploy_approval"] == "approve"
    assert spans.attrs(after["deploy"])["nexus.step.value.deploy"] == "done"

    chats = spans.named("chat ")
    assert len(chats) == done.usage["calls"]
    for chat in chats:
        attrs = spans.attrs(chat)
        step = spans.parent(chat)
        assert step is not None and step.name.startswith("step ")
        assert chat.kind is SpanKind.CLIENT
        assert chat.name == f"chat {attrs['gen_ai.request.model']}"
        assert attrs["gen_ai.operation.name"] == "chat"
        assert attrs["gen_ai.provider.name"] == "openai"
        assert attrs["gen_ai.response.model"]
        assert attrs["gen_ai.agent.name"] == spans.attrs(step)["gen_ai.agent.name"]
        assert tuple(attrs["gen_ai.response.finish_reasons"]) == ("stop",)
        assert attrs["nexus.model.attempts"] == 1 and attrs["nexus.model.retries"] == 0
        assert attrs["server.address"] == "127.0.0.1"
        # no content unless NEXUS_TRACE_CONTENT=1
        assert "gen_ai.input.messages" not in attrs and "gen_ai.output.messages" not in attrs
    # the spans' token counts are the run's recorded usage
    assert (
        sum(spans.attrs(c)["gen_ai.usage.input_tokens"] for c in chats)
        == done.usage["prompt_tokens"]
    )
    assert (
        sum(spans.attrs(c)["gen_ai.usage.output_tokens"] for c in chats)
        == done.usage["completion_tokens"]
    )
    assert spans.attrs(resumed)["nexus.run.total_tokens"] == done.usage["total_tokens"]
    await nx.aclose()


async def test_failed_step_and_its_resume(spans: Spans, demo_workspace: Path) -> None:
    async with MockLLMServer(responder=lambda _: FaultKind.REFUSAL, max_lifetime_s=60) as server:
        nx = nexus(demo_workspace, server)
        failed = await nx.arun("improvement_loop", period="2026-W47")
        assert failed.status == "failed"
        again = await nx.aresume(failed.run_id)
        assert again.status == "failed"
        await nx.aclose()

    first, second = sorted(spans.named("run "), key=lambda s: s.start_time or 0)
    for run in (first, second):
        assert run.status.status_code is StatusCode.ERROR
        assert spans.attrs(run)["nexus.run.status"] == "failed"
        assert spans.attrs(run)["error.type"] == "StepFailedError"
    assert [link.context.span_id for link in first.links] == []
    assert [link.context.span_id for link in second.links] == [first.context.span_id]

    measure = [s for s in spans.named("step measure") if spans.parent(s) is first]
    assert len(measure) == 1
    step = measure[0]
    attrs = spans.attrs(step)
    assert step.status.status_code is StatusCode.ERROR
    assert attrs["error.type"] == "ModelError"
    assert attrs["nexus.outcome"] == "failed"
    assert "refused" in (step.status.description or "")
    assert [e.name for e in step.events] == ["exception"]
    # the call itself answered (with a refusal): its span says so, the step failed on it
    (chat,) = [s for s in spans.named("chat ") if spans.parent(s) is step]
    assert chat.status.status_code is StatusCode.UNSET
    assert tuple(spans.attrs(chat)["gen_ai.response.finish_reasons"]) == ("refusal",)
