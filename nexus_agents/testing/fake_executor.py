"""``FakeStepExecutor``: a deterministic step executor for tests of graphs (no model).

It answers every agent step with an artifact built from a script and records what it
was asked, so a test can drive a graph through its branches, loops and approvals::

    fake = FakeStepExecutor({"validate": [{"narrative": {"verdict": "FAIL"}},
                                          {"narrative": {"verdict": "PASS"}}]})
    engine = await Engine.open(specs=specs, executor=fake, workspace=tmp_path)
    ...
    assert fake.ran() == ["build", "validate", "build", "validate"]
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nexus_agents.graphs.executor import ModelCall, StepContext, StepResult
from nexus_agents.graphs.spec import AgentStep

__all__ = ["FakeCall", "FakeStepExecutor", "Hook"]

Hook = Callable[[AgentStep, Any, StepContext], Awaitable[None] | None]


@dataclass(frozen=True)
class FakeCall:
    """One agent step the executor was asked to run."""

    step: str
    agent: str
    attempt: int | None


class FakeStepExecutor:
    """Plays scripted replies per step id; records every call.

    ``script[step]`` is a list of replies played one per call (the last one repeats).
    A reply may give the artifact's ``facts``, ``narrative`` and ``derived`` values; an
    unscripted step's narrative is ``{"summary": "<step> done"}``. ``hooks[step]`` runs
    first (sync or async), to wait, fail or signal. Each call reports one model call of
    10 + 5 tokens costing $0.001.
    """

    def __init__(
        self,
        script: Mapping[str, list[dict[str, Any]]] | None = None,
        hooks: Mapping[str, Hook] | None = None,
    ) -> None:
        self.script = dict(script or {})
        self.hooks = dict(hooks or {})
        self.calls: list[FakeCall] = []
        self.seen_states: dict[str, list[Any]] = defaultdict(list)
        self.contexts: dict[str, list[StepContext]] = defaultdict(list)
        self.steps: dict[str, list[AgentStep]] = defaultdict(list)

    def prepare_run(self, spec: Any, state: dict[str, Any]) -> None:
        """Nothing to start early."""

    def forget_run(self, run_id: str) -> None:
        """Nothing held per run."""

    async def run_agent(self, step: AgentStep, state: Any, ctx: StepContext) -> StepResult:
        self.calls.append(FakeCall(step.id, step.agent, ctx.attempt))
        self.seen_states[step.id].append(state)
        self.contexts[step.id].append(ctx)
        self.steps[step.id].append(step)
        hook = self.hooks.get(step.id)
        if hook is not None:
            out = hook(step, state, ctx)
            if asyncio.iscoroutine(out):
                await out
        replies = self.script.get(step.id) or [{}]
        reply = replies[min(self.count(step.id), len(replies)) - 1]
        artifact: dict[str, Any] = {
            "kind": step.output or "note",
            "facts": reply.get("facts", {}),
            "narrative": reply.get("narrative", {"summary": f"{step.id} done"}),
            "meta": {"step": step.id, "run_id": ctx.run_id},
        }
        if "derived" in reply:
            artifact["derived"] = reply["derived"]
        call = ModelCall(
            agent=step.agent, model="fake-1", prompt_tokens=10, completion_tokens=5,
            total_tokens=15, cost_usd=0.001, latency_ms=1.0,
        )
        return StepResult(artifact=artifact, calls=[call], markdown=f"# {step.id}\n")

    def count(self, step_id: str) -> int:
        """How often ``step_id`` ran."""
        return sum(1 for call in self.calls if call.step == step_id)

    def ran(self) -> list[str]:
        """The step ids in the order they ran."""
        return [call.step for call in self.calls]

    def agents(self) -> set[str]:
        """The agents asked."""
        return {call.agent for call in self.calls}

    def inputs_seen(self, step_id: str, call: int = -1) -> list[str]:
        """Which of ``step_id``'s declared inputs had an artifact in its state (last call)."""
        step = self.steps[step_id][call]
        artifacts = self.seen_states[step_id][call].get("artifacts") or {}
        return sorted(name for name in step.inputs if name in artifacts)
