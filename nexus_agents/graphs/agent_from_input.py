"""Agent steps that take their agent from the run inputs (``options.agent_from_input``).

``graphs/cadence_run.yaml`` has one such step: its ``agent`` field only satisfies the spec
schema, and ``resolve_step`` turns it into the step the run asked for (``inputs.agent``
and ``inputs.output``, or the values the run checked them into).
"""

from __future__ import annotations

from typing import Any

from nexus_agents.graphs.spec import AgentStep

__all__ = ["FROM_INPUT", "resolve_step"]

FROM_INPUT = "agent_from_input"


def resolve_step(step: AgentStep, state: Any) -> AgentStep:
    """The step with its agent and output taken from the run inputs, when it asks for it."""
    if not step.options.get(FROM_INPUT):
        return step
    inputs = dict((state or {}).get("inputs") or {})
    values = dict((state or {}).get("values") or {})
    agent = values.get("agent") or inputs.get("agent")
    if not agent:
        raise ValueError(f"step {step.id!r} takes its agent from inputs.agent, which is missing")
    output = values.get("output") or inputs.get("output") or None
    options = {k: v for k, v in step.options.items() if k != FROM_INPUT}
    return step.model_copy(update={"agent": str(agent), "output": output, "options": options})
