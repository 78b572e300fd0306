"""The generic cadence run: one agent, one period, one artifact.

``graphs/cadence_run.yaml`` has a single agent step marked ``options.agent_from_input:
true``; ``nexus_agents.graphs.agent_from_input.resolve_step`` turns it into the step the
run asked for (``inputs.agent`` and ``inputs.output``), and ``InputAgentExecutor`` applies
that to any ``StepExecutor``. ``check_inputs`` runs first so a bad agent or artifact name
fails with a clear message before any model call.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from nexus_agents.graphs.agent_from_input import FROM_INPUT, resolve_step
from nexus_agents.graphs.executor import StepContext, StepExecutor, StepResult
from nexus_agents.graphs.spec import AgentStep, GraphSpec

__all__ = ["FROM_INPUT", "InputAgentExecutor", "check_inputs", "resolve_step"]


class _AnyTool:
    """Accept every tool name: tool wiring is the executor's concern, not this check's."""

    def __contains__(self, name: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def _inputs(state: Any) -> dict[str, Any]:
    return dict((state or {}).get("inputs") or {})


def check_inputs(state: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    """Validate ``inputs.agent`` (slug, name or alias) and ``inputs.output`` (artifact kind)."""
    from nexus_agents.agents.roster import load_roster
    from nexus_agents.artifacts.registry import get_artifact
    from nexus_agents.playbook._context import workspace_path

    inputs = _inputs(state)
    agent, output = inputs.get("agent"), inputs.get("output")
    if not agent:
        raise ValueError("cadence_run needs inputs.agent (the agent's slug)")
    root = workspace_path(state, ctx)
    roster = load_roster([root / "prompts"] if root is not None else [], known_tools=_AnyTool())
    spec = roster.get(str(agent))
    kind = get_artifact(str(output)).kind if output else spec.output
    return {"values": {"agent": spec.slug, "output": kind}}


class InputAgentExecutor:
    """Wrap a ``StepExecutor`` so ``agent_from_input`` steps run the agent named in inputs."""

    def __init__(self, inner: StepExecutor) -> None:
        self.inner = inner

    async def run_agent(self, step: AgentStep, state: Any, ctx: StepContext) -> StepResult:
        return await self.inner.run_agent(resolve_step(step, state), state, ctx)

    def prepare_run(self, spec: GraphSpec, state: dict[str, Any]) -> None:
        self.inner.prepare_run(spec, state)

    def forget_run(self, run_id: str) -> None:
        self.inner.forget_run(run_id)
