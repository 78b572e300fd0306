"""The quarterly review gathers its five inputs in parallel, then the Studio Producer writes."""

from __future__ import annotations

import asyncio
from typing import Any

from nexus_agents.graphs.executor import StepContext
from nexus_agents.graphs.spec import AgentStep
from nexus_agents.testing.fake_executor import FakeStepExecutor

INPUTS = ("market", "brand", "customers", "tech_debt", "process")


async def test_five_inputs_run_in_parallel_before_the_review(make_engine: Any) -> None:
    # Each input waits until all five have started: run one after another, the first
    # would never see the others and time out; run in parallel, all pass at once.
    started: set[str] = set()
    all_started = asyncio.Event()

    async def barrier(step: AgentStep, state: Any, ctx: StepContext) -> None:
        started.add(step.id)
        if len(started) == len(INPUTS):
            all_started.set()
        await asyncio.wait_for(all_started.wait(), timeout=5)

    review = {"narrative": {"reactivate_nexus": {"mode": "NEXUS-Sprint", "reason": "pivot", "scope": "x"}}}
    fake = FakeStepExecutor({"strategic_review": [review]}, hooks=dict.fromkeys(INPUTS, barrier))
    engine = await make_engine(fake)
    result = await asyncio.wait_for(engine.start("strategic_review", {"period": "2026-Q4"}), timeout=10)
    assert result.status == "succeeded", result.error
    assert set(fake.ran()[:5]) == set(INPUTS) and fake.ran()[5] == "strategic_review"
    assert fake.steps["strategic_review"][0].inputs == list(INPUTS)
    assert result.values["reactivate_nexus"]["mode"] == "NEXUS-Sprint"
    assert {fake.calls[i].agent for i in range(5)} == {
        "trend_researcher", "brand_guardian", "feedback_synthesizer", "tool_evaluator", "workflow_optimizer"
    }
