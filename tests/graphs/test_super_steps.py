"""Structural steps (routes, loop checks, parallel fan-out / fan-in) cost no super-step of
their own when they can be decided in the node before them: every super-step is a
checkpoint written before the next one starts."""

from __future__ import annotations

from typing import Any

import pytest
from graph_specs import spec_from

from nexus_agents.testing.fake_executor import FakeStepExecutor

SPEC = """
    name: shaped
    state:
      verdict: {enum: [PASS, FAIL]}
      go: {enum: ["yes", "no"]}
    steps:
      - {id: measure, agent: analytics_reporter, set: {go: narrative.go}}
      - route: {id: worth_it, on: go, cases: {"yes": analyze, "no": wrap_up}}
      - parallel:
          id: analyze
          branches:
            - [{id: feedback, agent: feedback_synthesizer}]
            - [{id: data, agent: analytics_reporter}]
      - {id: plan, agent: sprint_prioritizer, inputs: [feedback, data]}
      - loop:
          id: build_validate
          max_attempts: 3
          until: {value: verdict, equals: PASS}
          on_exhausted: wrap_up
          body:
            - {id: build, agent: developer}
            - {id: validate, agent: evidence_collector, set: {verdict: narrative.verdict}}
      - {id: wrap_up, agent: studio_producer}
"""


def _script(go: str, verdicts: list[str]) -> dict[str, list[dict[str, Any]]]:
    return {
        "measure": [{"narrative": {"go": go}}],
        "validate": [{"narrative": {"verdict": v}} for v in verdicts],
    }


async def _checkpoints(engine: Any, run_id: str) -> int:
    config = {"configurable": {"thread_id": run_id}}
    return len([c async for c in engine.checkpointer.alist(config)])


async def test_fused_structure_takes_one_checkpoint_per_executed_step(make_engine: Any) -> None:
    fake = FakeStepExecutor(script=_script("yes", ["FAIL", "PASS"]))
    engine = await make_engine({"shaped": spec_from(SPEC)}, fake)
    result = await engine.start("shaped")
    assert result.status == "succeeded"
    order = fake.ran()
    assert order[:1] == ["measure"] and sorted(order[1:3]) == ["data", "feedback"]
    assert order[3:] == ["plan", "build", "validate", "build", "validate", "wrap_up"]
    assert [c.attempt for c in fake.calls if c.step == "build"] == [1, 2]
    assert result.values["build_validate"] == "passed"
    events = (await engine.graph("shaped").aget_state(
        {"configurable": {"thread_id": result.run_id}})).values["events"]
    routed = [e for e in events if e["event"] == "routed"]
    assert [(e["step"], e["to"]) for e in routed] == [("worth_it", "analyze")]
    # the run store holds each step's finished event; the checkpoints do not repeat them
    assert not [e for e in events if e["event"] == "finished"]
    # LangGraph's input and start checkpoints, then one per super-step: measure,
    # (feedback | data), plan, 2 x (build, validate), wrap_up
    assert await _checkpoints(engine, result.run_id) == 2 + 1 + 1 + 1 + 4 + 1
    nodes = set(engine.graph("shaped").get_graph().nodes)
    assert not nodes & {"worth_it", "analyze", "analyze.join", "build_validate", "build_validate.check"}
    finished = [e.step for e in await engine.store.events_for(result.run_id) if e.event == "finished"]
    assert finished[0] == "measure" and finished[-1] == "wrap_up" and len(finished) == 9


async def test_fused_route_and_exhausted_loop_still_go_where_the_spec_says(make_engine: Any) -> None:
    skipped = FakeStepExecutor(script=_script("no", []))
    engine = await make_engine({"shaped": spec_from(SPEC)}, skipped)
    assert (await engine.start("shaped")).status == "succeeded"
    assert skipped.ran() == ["measure", "wrap_up"]

    failing = FakeStepExecutor(script=_script("yes", ["FAIL"]))
    engine = await make_engine({"shaped": spec_from(SPEC)}, failing)
    result = await engine.start("shaped")
    assert [c.attempt for c in failing.calls if c.step == "validate"] == [1, 2, 3]
    assert result.values["build_validate"] == "exhausted"
    assert failing.ran()[-1] == "wrap_up"


async def test_a_route_reached_from_elsewhere_keeps_its_own_node(make_engine: Any) -> None:
    spec = spec_from("""
        name: jumpy
        state:
          go: {enum: ["yes", "no"]}
        steps:
          - {id: first, agent: analytics_reporter, set: {go: narrative.go}, next: decide}
          - {id: unused, agent: developer}
          - route: {id: decide, on: go, cases: {"yes": done, "no": unused}}
          - {id: done, agent: studio_producer}
    """)
    fake = FakeStepExecutor(script={"first": [{"narrative": {"go": "yes"}}]})
    engine = await make_engine({"jumpy": spec}, fake)
    result = await engine.start("jumpy")
    assert result.status == "succeeded"
    assert fake.ran() == ["first", "done"]
    assert "decide" in set(engine.graph("jumpy").get_graph().nodes)


async def test_a_loop_reached_from_elsewhere_is_still_entered_by_the_leaf_before_it(
    make_engine: Any,
) -> None:
    spec = spec_from("""
        name: two_ways_in
        state:
          path: {enum: [direct, other]}
          verdict: {enum: [PASS, FAIL]}
        steps:
          - {id: triage, agent: analytics_reporter, set: {path: narrative.path}}
          - route: {id: which, on: path, cases: {direct: plain, other: side}}
          - {id: side, agent: developer, next: fixing}
          - {id: plain, agent: developer}
          - FIXING_LOOP
          - {id: done, agent: studio_producer}
    """)
    for path, ran, steps in (
        ("direct", ["triage", "plain", "fix", "check", "done"], 5),
        ("other", ["triage", "side", "fix", "check", "done"], 6),  # + the loop's own node
    ):
        fake = FakeStepExecutor(script={
            "triage": [{"narrative": {"path": path}}],
            "check": [{"narrative": {"verdict": "PASS"}}],
        })
        engine = await make_engine({"two_ways_in": spec}, fake)
        result = await engine.start("two_ways_in")
        assert result.status == "succeeded" and fake.ran() == ran
        assert result.values["fixing"] == "passed"
        assert await _checkpoints(engine, result.run_id) == 2 + steps
    assert "fixing" in set(engine.graph("two_ways_in").get_graph().nodes)


CHAINED = """
    name: chained
    state:
      cause: {enum: [a, b]}
      sev: {enum: [high, low]}
      verdict: {enum: [PASS, FAIL]}
    steps:
      - {id: triage, agent: analytics_reporter, set: {cause: narrative.cause, sev: narrative.sev}}
      - loop:
          id: fix
          max_attempts: 3
          until: {value: verdict, equals: PASS}
          body:
            - route: {id: by_cause, on: cause, cases: {a: fix_a, b: fix_b}}
            - {id: fix_a, agent: developer, next: check}
            - {id: fix_b, agent: developer}
            - {id: check, agent: evidence_collector, set: {verdict: narrative.verdict}}
      - route: {id: gate, on: sev, cases: {high: careful}, default: done}
      - {id: careful, agent: studio_producer, next: end}
      - {id: done, agent: studio_producer}
"""


async def test_a_decision_that_reaches_a_route_node_takes_that_route_in_the_same_step(
    make_engine: Any,
) -> None:
    # the loop's first step and the step after the loop are routes with nodes of their
    # own; entering the loop, retrying it and leaving it decide them on the way
    fake = FakeStepExecutor(
        script={
            "triage": [{"narrative": {"cause": "a", "sev": "high"}}],
            "check": [{"narrative": {"verdict": v}} for v in ("FAIL", "PASS")],
        }
    )
    engine = await make_engine({"chained": spec_from(CHAINED)}, fake)
    result = await engine.start("chained")
    assert result.status == "succeeded"
    assert fake.ran() == ["triage", "fix_a", "check", "fix_a", "check", "careful"]
    state = await engine.graph("chained").aget_state({"configurable": {"thread_id": result.run_id}})
    routed = [(e["step"], e["to"]) for e in state.values["events"] if e["event"] == "routed"]
    assert routed == [("by_cause", "fix_a"), ("by_cause", "fix_a"), ("gate", "careful")]
    # input and start checkpoints, then one per executed step: no route has a step of its own
    assert await _checkpoints(engine, result.run_id) == 2 + 6
    assert {"by_cause", "gate"} <= set(engine.graph("chained").get_graph().nodes)

    other = FakeStepExecutor(
        script={
            "triage": [{"narrative": {"cause": "b", "sev": "low"}}],
            "check": [{"narrative": {"verdict": "PASS"}}],
        }
    )
    engine = await make_engine({"chained": spec_from(CHAINED)}, other)
    assert (await engine.start("chained")).status == "succeeded"
    assert other.ran() == ["triage", "fix_b", "check", "done"]


ALONGSIDE = """
    name: alongside
    state:
      sev: {enum: [high, low]}
    steps:
      - {id: triage, agent: analytics_reporter, set: {sev: narrative.sev}}
      - action: {id: tell, kind: notify, from: triage, alongside: true}
      - route: {id: by_sev, on: sev, cases: {high: respond}, default: log}
      - {id: respond, agent: developer, next: end}
      - {id: log, agent: studio_producer}
"""


async def test_an_alongside_action_runs_beside_the_next_step_which_does_not_wait(
    make_engine: Any, tmp_path: Any
) -> None:
    import asyncio

    from nexus_agents.actions.base import ActionRequest, ActionResult

    responding = asyncio.Event()

    sent: list[str] = []

    class Notifier:
        async def notify(self, request: ActionRequest) -> ActionResult:
            # delivered only once the response is under way: in sequence this would hang
            await asyncio.wait_for(responding.wait(), timeout=10)
            sent.append(request.idempotency_key)
            return ActionResult(ok=True)

    fake = FakeStepExecutor(
        script={"triage": [{"narrative": {"sev": "high"}}]},
        hooks={"respond": lambda *_: responding.set()},
    )
    engine = await make_engine(
        {"alongside": spec_from(ALONGSIDE)}, fake, integration=Notifier()
    )
    result = await engine.start("alongside")
    assert result.status == "succeeded", result.error
    assert fake.ran() == ["triage", "respond"]
    assert result.values["tell"] == "done" and sent == [f"{result.run_id}:tell"]
    # input and start checkpoints, triage, (tell | respond): the action costs no step
    assert await _checkpoints(engine, result.run_id) == 2 + 2
    finished = [e.step for e in await engine.store.events_for(result.run_id) if e.event == "finished"]
    assert sorted(finished) == ["respond", "tell", "triage"]


@pytest.mark.parametrize(
    ("steps", "reason"),
    [
        ("""
      - action: {id: tell, kind: notify, alongside: true}
      - {id: a, agent: developer}""", "must directly follow"),
        ("""
      - {id: a, agent: developer}
      - action: {id: tell, kind: notify, from: a, alongside: true}""", "needs a step after it"),
        ("""
      - {id: a, agent: developer, next: b}
      - action: {id: tell, kind: notify, from: a, alongside: true}
      - {id: b, agent: developer}""", "jumps elsewhere"),
        ("""
      - {id: a, agent: developer}
      - action: {id: tell, kind: notify, from: a, alongside: true, next: end}
      - {id: b, agent: developer}""", "cannot have 'next'"),
        ("""
      - {id: a, agent: developer}
      - action: {id: tell, kind: notify, from: a, alongside: true}
      - {id: b, agent: developer, next: tell}""", "cannot be the target"),
    ],
)
def test_an_alongside_action_that_cannot_hang_off_its_step_is_a_spec_error(
    steps: str, reason: str
) -> None:
    from nexus_agents.exceptions import SpecError

    with pytest.raises(SpecError, match=reason) as caught:
        spec_from("name: bad\nsteps:" + steps)
    assert "tell" in str(caught.value)
