"""The real ``StepExecutor``: an agent step = facts builder + one structured model call.

For each agent step it resolves the agent, picks the facts builder of the step's output
kind, hands the agent only the upstream artifacts the step lists, runs the model under
the run's budget, and returns the artifact (with the values code derives from it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pydantic_core import to_jsonable_python

import nexus_agents.tracing as tracing
from nexus_agents.artifacts.base import Artifact, ArtifactMeta
from nexus_agents.artifacts.registry import get_artifact
from nexus_agents.config import NexusConfig
from nexus_agents.exceptions import ModelError
from nexus_agents.facts import LoopBoundStore, prepare_facts
from nexus_agents.graphs.agent_from_input import resolve_step
from nexus_agents.graphs.executor import ModelCall, StepContext, StepResult
from nexus_agents.llm.call_record import UsageRecord
from nexus_agents.llm.interface import ChatModel, ChatRequest, ChatResponse
from nexus_agents.llm.pricing import PriceTable
from nexus_agents.llm.trace import call_trace, shared_prefix
from nexus_agents.periods import Period, parse_period
from nexus_agents.runtime.agent_runner import AgentOutcome, run_agent
from nexus_agents.runtime.budget import BudgetState, MeteredModel, RunBudget
from nexus_agents.runtime.lookahead import FactsLookahead

if TYPE_CHECKING:
    from nexus_agents.agents.roster import Roster
    from nexus_agents.data.workspace import Workspace
    from nexus_agents.graphs.spec import AgentStep, GraphSpec
    from nexus_agents.graphs.state import GraphState

ProgressListener = Callable[[dict[str, Any]], Awaitable[None] | None]


def derived_values(artifact: Artifact) -> dict[str, Any]:
    """The values an artifact class computes by code (its properties), as JSON."""
    out: dict[str, Any] = {}
    for cls in type(artifact).__mro__:
        if cls in (Artifact,) or not issubclass(cls, Artifact):
            continue
        for name, attr in vars(cls).items():
            if isinstance(attr, property) and not name.startswith("_") and name not in out:
                out[name] = to_jsonable_python(getattr(artifact, name))
    return out


def artifact_json(artifact: Artifact) -> dict[str, Any]:
    data = artifact.model_dump(mode="json")
    data["kind"] = artifact.kind
    data["title"] = artifact.title
    derived = derived_values(artifact)
    if derived:
        data["derived"] = derived
    return data


def upstream_view(data: dict[str, Any]) -> dict[str, Any]:
    """What a downstream agent sees of an artifact: its content, not run bookkeeping."""
    return {
        k: v for k, v in data.items() if k in ("kind", "title", "facts", "narrative", "derived")
    }


@dataclass
class AgentExecutor:
    """Runs agent steps for one workspace with one model."""

    config: NexusConfig
    workspace: Workspace
    roster: Roster
    model_factory: Callable[[], ChatModel]
    as_of: datetime | None = None
    listeners: list[ProgressListener] = field(default_factory=list)
    _model: ChatModel | None = None
    _budgets: dict[str, RunBudget] = field(default_factory=dict)
    # shared by every executor of one Nexus, so a run's early start is seen by its engine
    shared_lookahead: FactsLookahead | None = None

    @property
    def model(self) -> ChatModel:
        if self._model is None:
            self._model = self.model_factory()
        return self._model

    @property
    def lookahead(self) -> FactsLookahead:
        if self.shared_lookahead is None:
            self.shared_lookahead = FactsLookahead(self.workspace, self.roster)
        return self.shared_lookahead

    def prepare_run(self, spec: GraphSpec, state: dict[str, Any]) -> None:
        """A run of ``spec`` starts: build its agent steps' facts in the background (the
        steps then find their data work done or under way)."""
        from nexus_agents.graphs.spec import AgentStep, iter_steps

        steps = tuple(s for s in iter_steps(spec.steps) if isinstance(s, AgentStep))
        try:
            period = self._period(state)  # type: ignore[arg-type]
        except ModelError:
            return  # no period: the first step reports it
        self.lookahead.start(spec.name, steps, state, period, self._as_of(period))

    @cached_property
    def _secrets(self) -> tuple[str, ...]:
        """Configured secret values, kept out of stored call traces."""
        found = [self.config.llm.api_key, self.config.database_url]
        return tuple(s.get_secret_value() for s in found if s is not None)

    async def _budget(self, ctx: StepContext) -> RunBudget:
        """The one budget of the run, shared by its parallel branches; it starts from every
        call the store recorded for the run (earlier attempts and failed steps included)."""
        budget = self._budgets.get(ctx.run_id)
        if budget is None:
            spent = BudgetState()
            if ctx.run.store is not None and not ctx.run.new_run:  # a new run spent nothing
                totals = await ctx.run.store.usage_totals(ctx.run_id)
                spent = BudgetState(
                    calls=int(totals.get("calls", 0)),
                    prompt_tokens=int(totals.get("prompt_tokens", 0)),
                    completion_tokens=int(totals.get("completion_tokens", 0)),
                    total_tokens=int(totals.get("total_tokens", 0)),
                    cost_usd=float(totals.get("cost_usd", 0.0)),
                )
            # branches starting together all read the store: the first one's budget is kept
            budget = self._budgets.setdefault(ctx.run_id, self._new_budget(spent))
        return budget

    def _new_budget(self, spent: BudgetState | None = None) -> RunBudget:
        prices = PriceTable(self.config.llm.prices)
        return RunBudget(self.config.limits, spent or BudgetState(), prices)

    def forget_run(self, run_id: str) -> None:
        """Drop the in-memory budget of ``run_id`` (a later step re-reads it from the store)."""
        self._budgets.pop(run_id, None)

    def _period(self, state: GraphState) -> Period:
        label = state.get("period") or (state.get("inputs") or {}).get("period")
        if not label:
            raise ModelError("the run has no reporting period (give inputs.period)")
        return parse_period(str(label))

    def _as_of(self, period: Period) -> datetime:
        """Reports on a past period are written as of its end; a current one as of now."""
        if self.as_of is not None:
            return self.as_of
        return min(self.workspace.now(), period.end)

    async def _emit(self, event: dict[str, Any]) -> None:
        for listener in self.listeners:
            result = listener(event)
            if result is not None:
                await result

    async def run_agent(self, step: AgentStep, state: GraphState, ctx: StepContext) -> StepResult:
        """A graph's agent step: the artifact as JSON, with its usage, calls and events."""
        started = time.perf_counter()
        agent = ""

        async def announce(slug: str) -> None:
            nonlocal agent, started
            agent, started = slug, time.perf_counter()
            await self._emit(
                {
                    "event": "agent_started",
                    "run_id": ctx.run_id,
                    "step": ctx.step_id,
                    "agent": slug,
                    "attempt": ctx.attempt,
                }
            )

        calls: list[ModelCall] = []
        outcome = await self._produce(step, state, ctx, calls, announce)
        usage = outcome.usage
        artifact = artifact_json(outcome.artifact)
        tracing.step_info(
            agent=agent,
            artifact=artifact,
            attempt=ctx.attempt,
            max_attempts=ctx.max_attempts,
            usage=usage,
        )
        await self._emit(
            {
                "event": "agent_finished",
                "run_id": ctx.run_id,
                "step": ctx.step_id,
                "agent": agent,
                "tokens": usage.total_tokens,
                "cost_usd": usage.cost_usd,
                "seconds": round(time.perf_counter() - started, 3),
            }
        )
        return StepResult(
            artifact=artifact,
            markdown=None,  # rendered from the stored JSON when someone reads it
            usage={
                "calls": float(outcome.calls),
                "prompt_tokens": float(usage.prompt_tokens),
                "completion_tokens": float(usage.completion_tokens),
                "total_tokens": float(usage.total_tokens),
                "cost_usd": usage.cost_usd,
            },
            # already stored one by one; handed on only when there is no store to hold them
            calls=calls if ctx.run.store is None else [],
            events=[
                {
                    "event": "tool_call",
                    "step": ctx.step_id,
                    "agent": agent,
                    **tc.model_dump(mode="json"),
                }
                for tc in outcome.tool_calls
            ],
        )

    async def ask(self, step: AgentStep, state: GraphState) -> AgentOutcome:
        """The same agent step outside any run: nothing is stored, the budget is its own."""
        return await self._produce(step, state, None, [])

    async def _produce(
        self,
        step: AgentStep,
        state: GraphState,
        ctx: StepContext | None,
        calls: list[ModelCall],
        announce: Callable[[str], Awaitable[None]] | None = None,
    ) -> AgentOutcome:
        """Facts (from code) + the agent's structured answer -> the artifact; each model
        call is appended to ``calls`` and, in a run with a store, stored as it happens.
        ``announce`` gets the agent's slug once the step is checked, before its work."""
        from nexus_agents.data.context import use_workspace

        step = resolve_step(step, state)  # cadence_run: the agent named in the run inputs
        spec = self.roster.get(step.agent)
        kind = step.output or spec.output
        artifact_cls = get_artifact(kind)
        period = self._period(state)
        as_of = self._as_of(period)
        store = ctx.run.store if ctx is not None else None
        artifacts = state.get("artifacts") or {}
        upstream = {
            name: upstream_view(artifacts[name]) for name in step.inputs if name in artifacts
        }

        traced: list[Any] = []  # the messages of the step's call before, for its trace

        async def record(
            req: ChatRequest, resp: ChatResponse | None, err: BaseException | None
        ) -> None:
            nonlocal traced
            usage = resp.usage if resp is not None else None
            call = ModelCall(
                agent=req.agent,
                model=(resp.model if resp is not None else None)
                or req.model
                or self.model.default_model,
                prompt_tokens=usage.prompt_tokens if usage else 0,
                completion_tokens=usage.completion_tokens if usage else 0,
                total_tokens=usage.total_tokens if usage else 0,
                cost_usd=usage.cost_usd if usage else 0.0,
                latency_ms=usage.latency_ms if usage else 0.0,
                status="ok" if err is None else type(err).__name__,
            )
            calls.append(call)
            if store is not None and ctx is not None:
                # stored as it happens, so a step that fails later (or a killed process)
                # still leaves its calls, repair rounds included, in the run's usage
                await store.add_usage(
                    UsageRecord.of_call(call, run_id=ctx.run_id, step=ctx.step_id, agent=spec.slug),
                    wait=False,
                )
                # for `nexus runs trace`: what was sent (the messages the step's call
                # before did not already send) and what came back
                earlier = shared_prefix(traced, req.messages)
                traced = list(req.messages)
                await store.add_event(
                    ctx.run_id,
                    ctx.step_id,
                    "model_call",
                    agent=req.agent,
                    detail=call_trace(req, resp, err, self._secrets, earlier=earlier),
                    wait=False,
                )

        budget = await self._budget(ctx) if ctx is not None else self._new_budget()
        metered = MeteredModel(self.model, budget, [record])
        if announce is not None:
            await announce(spec.slug)
        with use_workspace(self.workspace), self.workspace.pinned():
            # Off the event loop, so parallel branches compute their facts concurrently;
            # the thread gets a copy of this context (the bound workspace included).
            with tracing.facts_span(kind):
                bundle = await asyncio.to_thread(
                    prepare_facts,
                    self.workspace,
                    kind,
                    period,
                    as_of,
                    state,
                    options=step.options,
                    step_id=ctx.step_id if ctx is not None else None,
                    attempt=ctx.attempt if ctx is not None else None,
                    max_attempts=ctx.max_attempts if ctx is not None else None,
                    store=LoopBoundStore(store, asyncio.get_running_loop())
                    if store is not None
                    else None,
                )
            task = step.task or f"Write the {artifact_cls.title} for {period.label}."
            if ctx is not None and ctx.attempt is not None and ctx.max_attempts is not None:
                task += f" (attempt {ctx.attempt}/{ctx.max_attempts})"
            return await run_agent(
                metered,
                spec,
                bundle=bundle,
                task=task,
                upstream=upstream,
                output=kind,
                llm=self.config.llm,
                meta=ArtifactMeta(
                    period=period.label,
                    run_id=ctx.run_id if ctx is not None else None,
                    step=ctx.step_id if ctx is not None else None,
                    created_at=as_of.isoformat(timespec="seconds"),
                ),
            )
