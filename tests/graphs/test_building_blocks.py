"""Each building block of a spec, run through the compiled LangGraph graph."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from graph_specs import spec_from

from nexus_agents.artifacts.attempts import history_with_artifacts, with_artifacts
from nexus_agents.graphs.executor import StepContext
from nexus_agents.graphs.spec import AgentStep
from nexus_agents.testing.fake_executor import FakeStepExecutor


async def test_agent_steps_pass_artifacts_values_and_usage(make_engine: Any, fake: FakeStepExecutor) -> None:
    spec = spec_from("""
        name: chain
        steps:
          - {id: measure, agent: analytics_reporter, output: kpi_snapshot}
          - {id: plan, agent: sprint_prioritizer, output: sprint_plan, inputs: [measure],
             set: {headline: narrative.summary}}
    """)
    engine = await make_engine({"chain": spec}, fake)
    result = await engine.start("chain", {"week": "2025-W01"})
    assert result.status == "succeeded"
    assert fake.inputs_seen("plan") == ["measure"]
    assert result.values["headline"] == "plan done"
    assert result.usage["calls"] == 2 and result.usage["total_tokens"] == 30
    stored = await engine.store.artifacts_for(result.run_id)
    assert {a.step: a.kind for a in stored} == {"measure": "kpi_snapshot", "plan": "sprint_plan"}
    assert stored[0].markdown.startswith("# ")
    assert len(await engine.store.usage_for(result.run_id)) == 2
    latest = await engine.store.latest_artifact("sprint_plan")
    assert latest is not None and latest.run_id == result.run_id


async def test_parallel_branches_run_concurrently_and_merge(make_engine: Any) -> None:
    # Each branch waits for an event only the other branch sets: sequential execution
    # would deadlock (and hit the timeout), concurrent execution finishes at once.
    left_ready, right_ready = asyncio.Event(), asyncio.Event()

    async def left(step: AgentStep, state: Any, ctx: StepContext) -> None:
        left_ready.set()
        await asyncio.wait_for(right_ready.wait(), timeout=5)

    async def right(step: AgentStep, state: Any, ctx: StepContext) -> None:
        right_ready.set()
        await asyncio.wait_for(left_ready.wait(), timeout=5)

    fake = FakeStepExecutor(hooks={"feedback": left, "review_b": right})
    spec = spec_from("""
        name: fan
        steps:
          - {id: start, agent: orchestrator}
          - parallel:
              id: gather
              branches:
                - [{id: feedback, agent: feedback_synthesizer, set: {fb: narrative.summary}}]
                - - {id: review_a, agent: analytics_reporter}
                  - {id: review_b, agent: analytics_reporter, set: {rv: narrative.summary}}
          - {id: plan, agent: sprint_prioritizer, inputs: [feedback, review_b]}
    """)
    engine = await make_engine({"fan": spec}, fake)
    result = await asyncio.wait_for(engine.start("fan"), timeout=10)
    assert result.status == "succeeded", result.error
    assert {"feedback", "review_a", "review_b", "plan"} <= set(result.artifacts)
    assert result.values["fb"] == "feedback done" and result.values["rv"] == "review_b done"
    assert fake.inputs_seen("plan") == ["feedback", "review_b"]
    assert result.usage["calls"] == 5  # usage of both branches summed, none counted twice
    assert fake.count("plan") == 1


ROUTE = """
    name: triage
    state:
      severity: {enum: [P0, P1, P2, P3]}
    steps:
      - call: {id: classify, function: "graph_fns:set_severity"}
      - route: {id: by_severity, on: severity, cases: {P0: war_room, P1: fix_now}, default: backlog}
      - {id: war_room, agent: incident_commander, next: end}
      - {id: fix_now, agent: developer, next: end}
      - {id: backlog, agent: sprint_prioritizer}
"""


@pytest.mark.parametrize(
    ("severity", "expected"), [("P0", "war_room"), ("P1", "fix_now"), ("P2", "backlog"), ("P3", "backlog")]
)
async def test_route_on_enum_value(make_engine: Any, fake: FakeStepExecutor, severity: str, expected: str) -> None:
    engine = await make_engine({"triage": spec_from(ROUTE)}, fake)
    result = await engine.start("triage", {"severity": severity})
    assert result.status == "succeeded"
    assert fake.ran() == [expected]


async def test_route_without_match_or_default_fails_naming_the_route(make_engine: Any, fake: FakeStepExecutor) -> None:
    spec = spec_from(ROUTE.replace(", default: backlog", ""))
    engine = await make_engine({"triage": spec}, fake)
    result = await engine.start("triage", {"severity": "P3"})
    assert result.status == "failed"
    assert "by_severity" in (result.error or "") and "'P3'" in (result.error or "")


async def test_python_route_picks_the_next_step(make_engine: Any, fake: FakeStepExecutor) -> None:
    spec = spec_from("""
        name: pyroute
        steps:
          - route: {id: choose, call: "graph_fns:pick_by_input"}
          - {id: a, agent: x, next: end}
          - {id: b, agent: x}
    """)
    engine = await make_engine({"pyroute": spec}, fake)
    assert (await engine.start("pyroute", {"goto": "b"})).status == "succeeded"
    assert fake.ran() == ["b"]
    bad = await engine.start("pyroute", {"goto": "nowhere"})
    assert bad.status == "failed" and "'nowhere'" in (bad.error or "")


LOOP = """
    name: improve
    steps:
      - {id: plan, agent: sprint_prioritizer}
      - loop:
          id: build_validate
          max_attempts: 3
          until: {value: qa_verdict, equals: PASS}
          on_exhausted: escalate
          body:
            - {id: build, agent: developer, inputs: [validate]}
            - {id: validate, agent: evidence_collector, set: {qa_verdict: narrative.verdict}}
      - {id: deploy, agent: devops, next: end}
      - {id: escalate, agent: studio_producer}
"""


@pytest.mark.parametrize(
    ("verdicts", "attempts", "last"),
    [(["PASS"], 1, "deploy"), (["FAIL", "PASS"], 2, "deploy"), (["FAIL", "FAIL", "FAIL", "PASS"], 3, "escalate")],
)
async def test_bounded_loop(make_engine: Any, verdicts: list[str], attempts: int, last: str) -> None:
    fake = FakeStepExecutor(script={"validate": [{"narrative": {"verdict": v, "issues": [f"issue {i}"]}} for i, v in enumerate(verdicts)]})
    engine = await make_engine({"improve": spec_from(LOOP)}, fake)
    result = await engine.start("improve")
    assert result.status == "succeeded"
    assert fake.count("build") == attempts and fake.count("validate") == attempts
    assert [c.attempt for c in fake.calls if c.step == "build"] == list(range(1, attempts + 1))
    assert fake.ran()[-1] == last
    assert result.values["build_validate"] == ("passed" if last == "deploy" else "exhausted")
    ctx = fake.contexts["build"][-1]
    assert (ctx.attempt, ctx.max_attempts, ctx.loop_id) == (attempts, 3, "build_validate")
    if attempts > 1:  # a retry sees the last QA verdict and its issues
        seen = fake.seen_states["build"][-1]["artifacts"]["validate"]["narrative"]
        assert seen == {"verdict": "FAIL", "issues": [f"issue {attempts - 2}"]}
    state = await engine.graph("improve").aget_state({"configurable": {"thread_id": result.run_id}})
    history = state.values["history"]["build_validate"]
    assert [h["result"] for h in history] == verdicts[:attempts]
    # earlier attempts keep a copy of what they wrote (the next attempt overwrote it in
    # the state); the last one names its steps, whose artifacts are the state's
    for record, verdict in zip(history[:-1], verdicts, strict=False):
        assert record["artifacts"]["validate"]["narrative"]["verdict"] == verdict
    assert "artifacts" not in history[-1] and history[-1]["steps"] == ["build", "validate"]
    last = with_artifacts(history[-1], state.values["artifacts"])["artifacts"]
    assert last["validate"]["narrative"]["verdict"] == verdicts[attempts - 1]


async def test_a_loop_entered_again_keeps_what_its_earlier_pass_wrote(make_engine: Any) -> None:
    spec = spec_from("""
        name: twice
        state:
          verdict: {enum: [PASS, FAIL]}
          again: {enum: ["yes", "no"]}
        steps:
          - {id: start, agent: analytics_reporter}
          - FIXING_LOOP
          - {id: review, agent: studio_producer, set: {again: narrative.again}}
          - route: {id: more, on: again, cases: {"yes": fixing}, default: end}
    """)
    fake = FakeStepExecutor(script={
        "check": [{"narrative": {"verdict": "PASS", "note": n}} for n in ("first", "second")],
        "review": [{"narrative": {"again": a}} for a in ("yes", "no")],
    })
    engine = await make_engine({"twice": spec}, fake)
    result = await engine.start("twice")
    assert result.status == "succeeded"
    assert fake.ran() == ["start", "fix", "check", "review", "fix", "check", "review"]
    state = await engine.graph("twice").aget_state({"configurable": {"thread_id": result.run_id}})
    records = history_with_artifacts(
        state.values["history"]["fixing"], state.values["artifacts"]
    )
    assert [r["artifacts"]["check"]["narrative"]["note"] for r in records] == ["first", "second"]


async def test_call_step_errors_name_the_step(make_engine: Any, fake: FakeStepExecutor) -> None:
    spec = spec_from("""
        name: calls
        steps:
          - call: {id: bad_return, function: "graph_fns:returns_text"}
    """)
    engine = await make_engine({"calls": spec}, fake)
    result = await engine.start("calls")
    assert result.status == "failed"
    assert "bad_return" in (result.error or "") and "dict" in (result.error or "")
    events = await engine.store.events_for(result.run_id)
    assert [e.event for e in events] == ["started", "failed"]
    assert await engine.store.artifacts_for(result.run_id) == []


async def test_failed_agent_keeps_error_and_no_artifact(make_engine: Any) -> None:
    def boom(step: AgentStep, state: Any, ctx: StepContext) -> None:
        raise RuntimeError("model returned garbage")

    fake = FakeStepExecutor(hooks={"second": boom})
    spec = spec_from("""
        name: fails
        steps:
          - {id: first, agent: a, output: kpi_snapshot}
          - {id: second, agent: b, output: sprint_plan}
    """)
    engine = await make_engine({"fails": spec}, fake)
    result = await engine.start("fails")
    assert result.status == "failed"
    assert result.error == "step 'second' failed: RuntimeError: model returned garbage"
    stored = await engine.store.artifacts_for(result.run_id)
    assert [a.step for a in stored] == ["first"]
    assert await engine.store.latest_artifact("kpi_snapshot") is None  # failed runs are skipped
    run = await engine.store.get_run(result.run_id)
    assert run is not None and run.error == result.error and run.finished_at is not None


async def test_subgraph_runs_child_spec_with_parent_state(make_engine: Any, fake: FakeStepExecutor) -> None:
    child = spec_from("""
        name: postmortem
        inputs:
          triage: {description: the triage artifact of the calling graph}
        steps:
          - {id: analyse, agent: incident_commander, inputs: [triage], set: {cause: narrative.summary}}
    """, "postmortem.yaml")
    parent = spec_from("""
        name: incident
        steps:
          - {id: triage, agent: support_responder}
          - subgraph: {id: pm, graph: postmortem}
          - {id: wrap_up, agent: studio_producer}
    """, "incident.yaml")
    engine = await make_engine({"incident": parent, "postmortem": child}, fake)
    result = await engine.start("incident")
    assert result.status == "succeeded", result.error
    assert "pm/analyse" in result.artifacts and fake.inputs_seen("analyse") == ["triage"]
    assert result.values["cause"] == "analyse done"
    assert fake.ran() == ["triage", "analyse", "wrap_up"]
    assert result.usage["calls"] == 3
