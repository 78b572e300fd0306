"""The seam between a compiled graph and whatever runs an agent step.

A graph never calls a model: for each agent step the run's nodes
(``nexus_agents.runs.nodes``) call an injected ``StepExecutor``; the runtime package
provides the real one, tests use a fake.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from nexus_agents.actions.base import Integration
    from nexus_agents.graphs.spec import AgentStep, GraphSpec
    from nexus_agents.graphs.state import GraphState
    from nexus_agents.runs.store import RunStore

__all__ = ["ModelCall", "RunContext", "StepContext", "StepExecutor", "StepResult"]

ApprovePolicy = Literal["pause", "timeout_default"]


class ModelCall(BaseModel):
    """One model call made by a step (stored in the run's usage table)."""

    model_config = ConfigDict(extra="ignore")

    agent: str | None = None
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    status: str = "ok"


class StepResult(BaseModel):
    """What an agent step produced.

    ``artifact`` is the validated artifact as JSON (it carries its ``kind``);
    ``values`` are extra state values to set (besides the step's ``set`` paths);
    ``usage`` holds totals (calls, prompt_tokens, completion_tokens, total_tokens, cost_usd);
    ``calls`` one record per model call; ``markdown`` the artifact rendered for people.
    """

    model_config = ConfigDict(extra="forbid")

    artifact: dict[str, Any] | None = None
    values: dict[str, Any] = Field(default_factory=dict)
    usage: dict[str, int | float] = Field(default_factory=dict)
    calls: list[ModelCall] = Field(default_factory=list)
    events: list[dict[str, Any]] = Field(default_factory=list)
    markdown: str | None = None


@dataclass
class RunContext:
    """What every node of one run can reach (passed as LangGraph runtime context).

    ``auto_approve_policy="timeout_default"`` makes approval gates take their
    ``on_timeout`` option instead of pausing (unattended runs).
    """

    run_id: str
    graph: str
    store: RunStore | None = None
    integration: Integration | None = None
    auto_approve_policy: ApprovePolicy = "pause"
    config: Any = None
    extras: dict[str, Any] = field(default_factory=dict)
    new_run: bool = False  # started by this call (nothing of it is recorded yet)


@dataclass(frozen=True)
class StepContext:
    """Per-step view handed to executors and ``call`` functions."""

    run: RunContext
    step_id: str
    loop_id: str | None = None
    attempt: int | None = None
    max_attempts: int | None = None

    @property
    def run_id(self) -> str:
        return self.run.run_id


@runtime_checkable
class StepExecutor(Protocol):
    """Runs the agent steps of the runs of an engine.

    ``prepare_run`` is called once when a new run (or a resume) starts executing, before
    its first step: a place to start work early (the real executor builds its steps'
    facts in the background); it must not fail. ``forget_run`` drops what the executor
    holds in memory for a run, e.g. its budget, which is then re-read from the store.
    """

    async def run_agent(
        self, step: AgentStep, state: GraphState, ctx: StepContext
    ) -> StepResult: ...

    def prepare_run(self, spec: GraphSpec, state: dict[str, Any]) -> None: ...

    def forget_run(self, run_id: str) -> None: ...
