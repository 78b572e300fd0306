"""Approval gates: pause, resume with a decision, reject bad decisions, unattended defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from graph_specs import spec_from

from nexus_agents.graphs.errors import ApprovalError
from nexus_agents.testing.fake_executor import FakeStepExecutor

GATED = """
    name: release
    steps:
      - {id: build, agent: developer, output: change}
      - approval:
          id: go_live
          decider: studio_producer
          question: Deploy this change?
          options: [approve, reject, defer]
          on_timeout: defer
          timeout_minutes: 60
      - route: {id: after, on: go_live, cases: {approve: ship}, default: shelve}
      - {id: ship, agent: devops, next: end}
      - {id: shelve, agent: sprint_prioritizer}
"""


async def _paused(make_engine: Any, fake: FakeStepExecutor, **kw: Any) -> Any:
    engine = await make_engine({"release": spec_from(GATED)}, fake, **kw)
    return engine, await engine.start("release")


@pytest.mark.parametrize(("decision", "next_step"), [("approve", "ship"), ("reject", "shelve")])
async def test_decision_resumes_the_run(make_engine: Any, fake: FakeStepExecutor, decision: str, next_step: str) -> None:
    engine, paused = await _paused(make_engine, fake)
    assert paused.status == "waiting_approval"
    assert paused.pending is not None and paused.pending.options == ["approve", "reject", "defer"]
    assert paused.pending.decider == "studio_producer"
    assert fake.ran() == ["build"]

    done = await engine.resume(paused.run_id, decision, note="looks fine", decided_by="ana")
    assert done.status == "succeeded"
    assert done.values["go_live"] == decision
    assert fake.ran() == ["build", next_step]  # build is not redone
    state = await engine.graph("release").aget_state({"configurable": {"thread_id": paused.run_id}})
    record = state.values["approvals"]["go_live"]
    assert (record["decision"], record["note"], record["decided_by"]) == (decision, "looks fine", "ana")
    assert datetime.fromisoformat(record["decided_at"]).tzinfo is not None


async def test_invalid_decision_is_rejected_and_run_keeps_waiting(make_engine: Any, fake: FakeStepExecutor) -> None:
    engine, paused = await _paused(make_engine, fake)
    with pytest.raises(ApprovalError, match="'ship it' is not an option; choose one of approve, reject, defer"):
        await engine.resume(paused.run_id, "ship it")
    with pytest.raises(ApprovalError, match="give a decision"):
        await engine.resume(paused.run_id)
    still = await engine.result(paused.run_id)
    assert still.status == "waiting_approval"
    assert (await engine.resume(paused.run_id, "defer")).status == "succeeded"


async def test_unattended_run_takes_timeout_default(make_engine: Any, fake: FakeStepExecutor) -> None:
    _, result = await _paused(make_engine, fake, auto_approve_policy="timeout_default")
    assert result.status == "succeeded"
    assert result.values["go_live"] == "defer"
    assert fake.ran() == ["build", "shelve"]


async def test_expired_approval_takes_timeout_default(make_engine: Any, fake: FakeStepExecutor) -> None:
    engine, _ = await _paused(make_engine, fake)
    assert await engine.expire_approvals(datetime.now(UTC)) == []
    expired = await engine.expire_approvals(datetime.now(UTC) + timedelta(minutes=61))
    assert [r.status for r in expired] == ["succeeded"]
    assert expired[0].values["go_live"] == "defer"
