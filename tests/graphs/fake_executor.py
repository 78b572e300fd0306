"""A deterministic StepExecutor for graph tests (no model)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from nexus_agents.graphs.executor import ModelCall, StepContext, StepResult
from nexus_agents.graphs.spec import AgentStep

Hook = Callable[[AgentStep, dict[str, Any], StepContext], Awaitable[None] | None]


class FakeExecutor:
    """Returns ``{"kind": output, "step": id, "narrative": {...}}`` for every agent step.

    ``script[step_id]`` is a list of narratives played one per call (the last repeats);
    ``hooks[step_id]`` runs before the step returns (to block, fail, or signal).
    """

    def __init__(
        self,
        script: dict[str, list[dict[str, Any]]] | None = None,
        hooks: dict[str, Hook] | None = None,
    ) -> None:
        self.script = script or {}
        self.hooks = hooks or {}
        self.calls: list[tuple[str, int | None]] = []
        self.seen_states: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.contexts: dict[str, list[StepContext]] = defaultdict(list)

    def prepare_run(self, spec: Any, state: dict[str, Any]) -> None:
        """Nothing to start early."""

    def forget_run(self, run_id: str) -> None:
        """Nothing held per run."""

    async def run_agent(self, step: AgentStep, state: Any, ctx: StepContext) -> StepResult:
        self.calls.append((step.id, ctx.attempt))
        self.seen_states[step.id].append(state)
        self.contexts[step.id].append(ctx)
        hook = self.hooks.get(step.id)
        if hook is not None:
            out = hook(step, state, ctx)
            if asyncio.iscoroutine(out):
                await out
        played = sum(1 for sid, _ in self.calls if sid == step.id)
        narratives = self.script.get(step.id) or [{"summary": f"{step.id} done"}]
        narrative = narratives[min(played, len(narratives)) - 1]
        artifact = {
            "kind": step.output or "note",
            "step": step.id,
            "attempt": ctx.attempt,
            "inputs_seen": sorted(k for k in step.inputs if k in state.get("artifacts", {})),
            "narrative": narrative,
        }
        call = ModelCall(agent=step.agent, model="fake-1", prompt_tokens=10, completion_tokens=5,
                         total_tokens=15, cost_usd=0.001, latency_ms=1.0)
        return StepResult(artifact=artifact, calls=[call], markdown=f"# {step.id}\n")

    def count(self, step_id: str) -> int:
        return sum(1 for sid, _ in self.calls if sid == step_id)
