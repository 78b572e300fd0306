"""What a graph's nodes do when a run executes them: the node factory the engine hands to
the graph builder (``nexus_agents.graphs.builder``).

Every node records itself in the run store (``started``; then ``finished`` with its
duration, its model calls and artifact, or ``failed`` with the error) and adds a
``finished`` event to the state when the run has no store to hold it. The leaf steps:

- agent: the step executor's ``StepResult`` becomes a state update (the ``set`` values,
  the artifact, the usage totals) and store records;
- call: the spec's function returns a state update;
- action: dispatched to the run's integration once per run and step (the idempotency key
  ``<run>:<step>``), after its ``only_if`` and approval gates; an action the integration
  could not deliver sets the step's value to ``failed`` and adds an ``action_failed``
  event, and the run goes on;
- approval: pauses the run for a decision, or takes the ``on_timeout`` option in
  unattended runs.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.errors import GraphBubbleUp
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

import nexus_agents.tracing as tracing
from nexus_agents.actions.base import ActionRequest, dispatch
from nexus_agents.graphs.approvals import check_decision, request_for, timeout_decision
from nexus_agents.graphs.builder import LeafStep, Node, NodeBody, build_graph, node_name
from nexus_agents.graphs.errors import StepFailedError
from nexus_agents.graphs.executor import RunContext, StepContext, StepExecutor, StepResult
from nexus_agents.graphs.spec import (
    ActionStep,
    AgentStep,
    ApprovalStep,
    CallStep,
    GraphSpec,
    LoopStep,
    resolve_step_function,
)
from nexus_agents.graphs.state import REDUCERS
from nexus_agents.llm.call_record import UsageRecord

__all__ = ["RunNodes", "compile_run_graph", "dotted"]

_STATE_KEYS = frozenset(REDUCERS)


def compile_run_graph(
    spec: GraphSpec,
    executor: StepExecutor | None,
    *,
    checkpointer: BaseCheckpointSaver[Any] | None = None,
    specs: dict[str, GraphSpec] | None = None,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The LangGraph graph of ``spec`` whose agent steps ``executor`` runs."""
    return build_graph(spec, RunNodes(executor), checkpointer=checkpointer, specs=specs)


class RunNodes:
    """The ``NodeFactory`` of runs: nodes that execute steps and record them."""

    def __init__(self, executor: StepExecutor | None) -> None:
        self.executor = executor

    def leaf(self, step: LeafStep, spec: GraphSpec, loop: LoopStep | None) -> Node:
        if isinstance(step, AgentStep):
            return _Node(step.id, "agent", step.agent, None, (step, loop, self.executor))
        if isinstance(step, CallStep):
            fn = resolve_step_function(spec, step.id, step.function)
            return _Node(step.id, "call", None, _call(step, loop, fn))
        if isinstance(step, ApprovalStep):
            return _Node(step.id, "approval", step.decider, _approval(step))
        approving: set[str] = set()
        if step.requires_approval is not None:
            gate = spec.step(step.requires_approval)
            assert isinstance(gate, ApprovalStep)
            approving = set(gate.approving)
        return _Node(step.id, "action", None, _action(step, approving))

    def structural(self, name: str, kind: str, body: NodeBody) -> Node:
        return _Node(name, kind, None, body)


class _Node:
    """One node: runs ``body`` (an agent step: its executor) and records started /
    finished / failed events.

    A callable object rather than a closure: LangGraph looks for sub-graphs in the
    variables a node *function* reaches (a bytecode walk per node and per compile), which
    costs milliseconds per node on every run and finds nothing here (nested graphs are
    invoked inside ``body``).
    """

    __slots__ = ("__name__", "agent", "agent_step", "body", "kind", "node")

    def __init__(
        self,
        node: str,
        kind: str,
        agent: str | None,
        body: NodeBody | None,
        agent_step: tuple[AgentStep, LoopStep | None, StepExecutor | None] | None = None,
    ) -> None:
        self.node = node
        self.kind = kind
        self.agent = agent
        self.body = body
        self.agent_step = agent_step
        self.__name__ = node_name(node)

    async def __call__(
        self, state: dict[str, Any], config: RunnableConfig, runtime: Runtime[RunContext]
    ) -> Any:
        node, kind, agent = self.node, self.kind, self.agent
        ctx = runtime.context
        if ctx is None:
            raise StepFailedError(node, "the graph was invoked without a RunContext (context=...)")
        store = ctx.store
        started = time.perf_counter()
        if store is not None:
            await store.add_event(ctx.run_id, node, "started", agent=agent, wait=False)
        try:
            with tracing.step_span(node, kind, agent, ctx.run_id, pauses=GraphBubbleUp) as span:
                if self.body is not None:
                    out = await self.body(state, config, ctx)
                else:
                    assert self.agent_step is not None
                    step, loop, executor = self.agent_step
                    if executor is None:
                        raise RuntimeError(
                            "no step executor was given to run the graph's agent steps"
                        )
                    sctx = _step_ctx(ctx, step.id, loop, state)
                    result = await executor.run_agent(step, state, sctx)  # type: ignore[arg-type]
                    if not isinstance(result, StepResult):
                        result = StepResult.model_validate(result)
                    out = _agent_update(step, result, ctx)
                if span:
                    span.values(_set_values(out))
        except GraphBubbleUp:
            raise
        except StepFailedError as exc:
            if store is not None:
                await store.add_event(
                    ctx.run_id, node, "failed", agent=agent, detail={"error": str(exc)}
                )
            raise
        except Exception as exc:
            if store is not None:
                await store.add_event(
                    ctx.run_id, node, "failed", agent=agent, detail={"error": str(exc)}
                )
            raise StepFailedError(node, exc) from exc
        records = None
        if isinstance(out, _Recorded):
            records = out.records
            out = out.update
        duration = (time.perf_counter() - started) * 1000
        if store is not None:
            await store.record_step(
                ctx.run_id,
                node,
                agent=agent,
                duration_ms=duration,
                usage=records.usage if records else (),
                artifact=records.artifact if records else None,
                markdown=records.markdown if records else None,
            )
            return out if out is not None else {}
        # no store to hold it: the state carries the step's finished event
        event = {
            "step": node,
            "kind": kind,
            "event": "finished",
            "agent": agent,
            "duration_ms": duration,
        }
        if isinstance(out, Command):
            update = dict(out.update or {})  # type: ignore[call-overload]
            update["events"] = [*update.get("events", []), event]
            return Command(update=update, goto=out.goto)
        update = dict(out or {})
        update["events"] = [*update.get("events", []), event]
        return update


def _set_values(out: Any) -> dict[str, Any]:
    """The state values a node's output sets (for its span: verdicts, decisions, outcomes)."""
    update = out.update if isinstance(out, _Recorded | Command) else out
    values = update.get("values") if isinstance(update, dict) else None
    return values if isinstance(values, dict) else {}


def _step_ctx(
    ctx: RunContext, step_id: str, loop: LoopStep | None, state: dict[str, Any]
) -> StepContext:
    if loop is None:
        return StepContext(run=ctx, step_id=step_id)
    attempt = int(state.get("attempts", {}).get(loop.id, 1))
    return StepContext(
        run=ctx, step_id=step_id, loop_id=loop.id, attempt=attempt, max_attempts=loop.max_attempts
    )


# ----------------------------------------------------------------------- agent


@dataclass(frozen=True)
class _StepRecords:
    """What a finished agent step adds to the run store, written with its ``finished`` event."""

    usage: list[UsageRecord]
    artifact: dict[str, Any] | None
    markdown: str | None


@dataclass(frozen=True)
class _Recorded:
    """A node's state update and the store records that go with it."""

    update: dict[str, Any]
    records: _StepRecords


def dotted(data: Any, path: str) -> Any:
    """``narrative.verdict`` -> data['narrative']['verdict']; KeyError names the missing part."""
    node = data
    walked: list[str] = []
    for part in path.split("."):
        walked.append(part)
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(".".join(walked))
    return node


def _agent_update(step: AgentStep, result: StepResult, ctx: RunContext) -> _Recorded:
    artifact = result.artifact
    values = dict(result.values)
    if step.set and artifact is None:
        raise ValueError("the step produced no artifact, but 'set' reads from one")
    if artifact is not None:
        kind = artifact.get("kind")
        if step.output and kind is not None and kind != step.output:
            raise ValueError(f"produced a {kind!r} artifact, the spec expects {step.output!r}")
        for name, path in step.set.items():
            try:
                values[name] = dotted(artifact, path)
            except KeyError as exc:
                raise ValueError(f"set.{name}: the artifact has no {exc.args[0]!r}") from None
    usage = dict(result.usage)
    if not usage and result.calls:
        usage = {
            "calls": len(result.calls),
            "prompt_tokens": sum(c.prompt_tokens for c in result.calls),
            "completion_tokens": sum(c.completion_tokens for c in result.calls),
            "total_tokens": sum(c.total_tokens for c in result.calls),
            "cost_usd": sum(c.cost_usd for c in result.calls),
        }
    records = _StepRecords(
        usage=[
            UsageRecord.of_call(call, run_id=ctx.run_id, step=step.id, agent=step.agent)
            for call in result.calls
        ],
        artifact=artifact,
        markdown=result.markdown,
    )
    # only the keys that change: every key written is a channel write in each checkpoint
    update: dict[str, Any] = {"usage": usage}
    if values:
        update["values"] = values
    if result.events:
        update["events"] = list(result.events)
    if artifact is not None:
        update["artifacts"] = {step.id: artifact}
    return _Recorded(update, records)


# ------------------------------------------------------------------------ call


def _call(step: CallStep, loop: LoopStep | None, fn: Any) -> NodeBody:
    async def run(state: dict[str, Any], config: RunnableConfig, ctx: RunContext) -> Any:
        out = fn(state, _step_ctx(ctx, step.id, loop, state))
        if inspect.isawaitable(out):
            out = await out
        if out is None:
            return {}
        if not isinstance(out, dict):
            raise TypeError(
                f"{step.function} must return a dict state update, got {type(out).__name__}"
            )
        unknown = sorted(set(out) - _STATE_KEYS)
        if unknown:
            raise ValueError(f"{step.function} returned unknown state keys {unknown}")
        return out

    return run


# -------------------------------------------------------------------- approval


def _approval(step: ApprovalStep) -> NodeBody:
    async def run(state: dict[str, Any], config: RunnableConfig, ctx: RunContext) -> Any:
        if ctx.auto_approve_policy == "timeout_default":
            decision = timeout_decision(step, "unattended run: took the timeout default")
        else:
            raw = interrupt(request_for(step).model_dump())
            decision = check_decision(step.options, step.id, raw)
        return {
            "values": {step.id: decision.decision},
            "approvals": {step.id: decision.model_dump()},
        }

    return run


# ---------------------------------------------------------------------- action


def _action(step: ActionStep, approving: set[str]) -> NodeBody:
    async def run(state: dict[str, Any], config: RunnableConfig, ctx: RunContext) -> Any:
        key = f"{ctx.run_id}:{step.id}"
        store = ctx.store
        recorded = await store.get_action(key) if store is not None else None
        if recorded is not None:
            if (recorded.result or {}).get("ok", True):
                event = {"step": step.id, "event": "action_skipped", "reason": "already executed"}
                return {"values": {step.id: "done"}, "events": [event]}
            reason = "failed earlier; 'nexus actions retry' sends it again"
            event = {"step": step.id, "event": "action_skipped", "reason": reason}
            return {"values": {step.id: "failed"}, "events": [event]}
        if step.only_if is not None:
            actual = state.get("values", {}).get(step.only_if.value)
            if not step.only_if.accepts(actual):
                reason = f"{step.only_if.value} is {actual!r}, not {step.only_if.equals!r}"
                event = {"step": step.id, "event": "action_skipped", "reason": reason}
                return {"values": {step.id: "skipped"}, "events": [event]}
        if step.requires_approval is not None:
            given = state.get("approvals", {}).get(step.requires_approval)
            if given is None:
                raise ValueError(
                    f"requires approval {step.requires_approval!r}, which was not given"
                )
            if given.get("decision") not in approving:
                event = {
                    "step": step.id,
                    "event": "action_skipped",
                    "reason": f"decision {given.get('decision')!r}",
                }
                return {"values": {step.id: "skipped"}, "events": [event]}
        if ctx.integration is None:
            raise RuntimeError("no integration is configured for actions")
        payload: dict[str, Any] = {}
        if step.source is not None:
            artifact = state.get("artifacts", {}).get(step.source)
            if artifact is None:
                raise ValueError(f"no artifact from step {step.source!r} to {step.action}")
            payload = {"from": step.source, "artifact": artifact}
        request = ActionRequest(
            kind=step.action,
            idempotency_key=key,
            run_id=ctx.run_id,
            step_id=step.id,
            payload=payload,
        )
        result = await dispatch(ctx.integration, request)
        if store is not None:
            await store.record_action(
                key,
                run_id=ctx.run_id,
                step=step.id,
                kind=step.action,
                payload=payload,
                result=result.model_dump(mode="json"),
            )
        if result.ok:
            return {"values": {step.id: "done"}}
        # the run goes on; the failure stays visible in the run's events and the action
        # records (`nexus actions list --status failed`) until a retry delivers it
        if store is not None:
            await store.add_event(
                ctx.run_id, step.id, "action_failed", detail={"error": result.detail}
            )
        event = {"step": step.id, "event": "action_failed", "reason": result.detail}
        return {"values": {step.id: "failed"}, "events": [event]}

    return run
