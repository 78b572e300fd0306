"""Compile a GraphSpec into a LangGraph ``StateGraph``.

Every leaf step becomes a node named after its id. Structural steps get a node only when
they must: a route or a loop check right after a leaf is decided inside that leaf's
node, a loop is entered by the leaf before it, and a parallel group fans out by edges
from its predecessor to its branch heads and meets at a waiting edge into its successor
(each LangGraph super-step is a checkpoint write, so these save one write each).
Synthetic nodes carry a dot in their name (``<loop>.check``, ``<parallel>.b0``), which
step ids cannot. A branch of more than one step runs as its own compiled sub-graph so
every branch proceeds at its own pace. Routes and loop checks pick their successor with
``Command(goto=...)``. The run context (``RunContext``) arrives as LangGraph runtime
context.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.errors import GraphBubbleUp
from langgraph.graph import END as LG_END
from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from nexus_agents.actions.base import ActionRequest, dispatch
from nexus_agents.exceptions import SpecError
from nexus_agents.graphs.approvals import check_decision, request_for, timeout_decision
from nexus_agents.graphs.errors import StepFailedError
from nexus_agents.graphs.executor import RunContext, StepContext, StepExecutor, StepResult
from nexus_agents.graphs.loader import load_graph_specs, load_spec
from nexus_agents.graphs.mermaid import to_mermaid
from nexus_agents.graphs.spec import (
    END,
    ActionStep,
    AgentStep,
    ApprovalStep,
    CallStep,
    GraphSpec,
    LoopStep,
    ParallelStep,
    RouteStep,
    Step,
    SubgraphStep,
    case_key,
    resolve_function,
)
from nexus_agents.graphs.state import GraphState
from nexus_agents.llm.call_record import UsageRecord

__all__ = ["compile_graph", "load_graph_specs", "load_spec", "to_mermaid"]

STATE_KEYS = frozenset(GraphState.__annotations__)
_DICT_KEYS = ("values", "artifacts", "attempts", "history", "approvals")
_LIST_KEYS = ("events", "errors")
_LEAF = (AgentStep, CallStep, ActionStep, ApprovalStep, SubgraphStep)

NodeBody = Callable[[dict[str, Any], RunnableConfig, RunContext], Awaitable[Any]]


@dataclass(frozen=True)
class _Loop:
    step: LoopStep
    succ: str  # where the loop continues once it passed

    @property
    def id(self) -> str:
        return self.step.id

    @property
    def max_attempts(self) -> int:
        return self.step.max_attempts


def _direct_branch(branch: list[Step]) -> bool:
    """A parallel branch of one plain leaf runs as a node of the graph itself."""
    return len(branch) == 1 and isinstance(branch[0], _LEAF) and not branch[0].next


def _loop_entry(step: LoopStep) -> Decider:
    async def enter(state: dict[str, Any], ctx: RunContext) -> tuple[dict[str, Any], Any]:
        return {"attempts": {step.id: 1}, "values": {step.id: "running"}}, None

    return enter


# A decision taken after a step: extra state update, and where to go (None: static edges).
Decider = Callable[[dict[str, Any], RunContext], Awaitable[tuple[dict[str, Any], Any]]]


@dataclass
class _Compiler:
    spec: GraphSpec
    executor: StepExecutor | None
    specs: Mapping[str, GraphSpec]
    cache: dict[str, CompiledStateGraph[Any, Any, Any, Any]] = field(default_factory=dict)
    _entries: dict[str, list[str]] = field(default_factory=dict)
    _referenced: set[str] = field(default_factory=set)
    _joins: list[tuple[Any, list[str], str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        from nexus_agents.graphs.spec import iter_steps

        every = list(iter_steps(self.spec.steps))
        for step in every:
            targets = [step.next]
            if isinstance(step, RouteStep):
                targets += [*step.cases.values(), step.default]
            elif isinstance(step, LoopStep):
                targets.append(step.on_exhausted)
            self._referenced.update(t for t in targets if t)
        for step in reversed(every):  # nested steps first: a parallel's entries are its branches'
            self._entries[step.id] = self._entry_nodes(step)

    # ----------------------------------------------------------------- structure
    #
    # Every LangGraph super-step costs a checkpoint write, so structural steps do not get
    # nodes of their own where they can ride along with the step before them: a route or
    # a loop's check that directly follows a leaf is decided inside that leaf's node, a
    # loop is entered by the leaf before it, and a parallel group fans out by edges from
    # its predecessor to the branch heads and fans in by a waiting edge to its successor.

    def _entry_nodes(self, step: Step) -> list[str]:
        if isinstance(step, ParallelStep):
            heads: list[str] = []
            for number, branch in enumerate(step.branches):
                if _direct_branch(branch):
                    heads += self._entries[branch[0].id]
                else:
                    heads.append(f"{step.id}.b{number}")
            return heads
        return [step.id]

    def _goto(self, step_id: str | None) -> list[str]:
        """The nodes that start step ``step_id`` (``END`` for the end of the graph)."""
        target = _target(step_id)
        if target == LG_END:
            return [LG_END]
        return list(self._entries.get(target, [target]))

    def _edges(self, builder: StateGraph[Any, Any, Any, Any], source: str, step_id: str) -> None:
        for node in self._goto(step_id):
            builder.add_edge(source, node)

    def _fusible(self, steps: list[Step], index: int) -> bool:
        """Whether ``steps[index]`` (a route or loop) can be decided by the leaf before it."""
        if index == 0 or steps[index].id in self._referenced:
            return False
        before = steps[index - 1]
        return isinstance(before, _LEAF) and not before.next

    def build(self, steps: list[Step]) -> StateGraph[Any, Any, Any, Any]:
        builder: StateGraph[Any, Any, Any, Any] = StateGraph(GraphState, context_schema=RunContext)
        self._block(builder, steps, LG_END, None)
        for node in self._entries[steps[0].id]:
            builder.add_edge(START, node)
        # waiting edges need their target node to exist, so they go in last
        for _owner, tails, node in [j for j in self._joins if j[0] is builder]:
            builder.add_edge(tails, node)
        self._joins = [j for j in self._joins if j[0] is not builder]
        return builder

    def _block(
        self, builder: StateGraph[Any, Any, Any, Any], steps: list[Step], cont: str, loop: _Loop | None
    ) -> None:
        """Add ``steps``; the last one continues to ``cont`` (a step id, ``<loop>.check``
        or END)."""
        for index, step in enumerate(steps):
            default = steps[index + 1].id if index + 1 < len(steps) else cont
            succ = _target(step.next) if step.next else default
            if isinstance(step, _LEAF):
                after = steps[index + 1] if index + 1 < len(steps) else None
                decider: Decider | None = None
                if after is not None and self._fusible(steps, index + 1):
                    if isinstance(after, RouteStep):
                        decider = self._route_decider(after)
                    elif isinstance(after, LoopStep):
                        decider = _loop_entry(after)
                        succ = after.body[0].id
                elif loop is not None and after is None and not step.next:
                    decider = self._check_decider(loop.step, loop.succ)
                node = self._leaf(step, loop)
                node.then = decider
                builder.add_node(step.id, node)
                if decider is None or isinstance(after, LoopStep):
                    self._edges(builder, step.id, succ)
            elif isinstance(step, RouteStep):
                if not self._fusible(steps, index):
                    builder.add_node(step.id, self._wrap(step.id, "route", None, self._route(step)))
            elif isinstance(step, LoopStep):
                self._loop(builder, step, succ, enter=not self._fusible(steps, index))
            elif isinstance(step, ParallelStep):
                self._parallel(builder, step, succ, loop)

    def _loop(
        self, builder: StateGraph[Any, Any, Any, Any], step: LoopStep, succ: str, *, enter: bool
    ) -> None:
        check = f"{step.id}.check"
        inner = _Loop(step, succ)
        if enter:
            entry = _loop_entry(step)

            async def enter_body(state: dict[str, Any], config: RunnableConfig, ctx: RunContext) -> Any:
                update, _ = await entry(state, ctx)
                return update

            builder.add_node(step.id, self._wrap(step.id, "loop", None, enter_body))
            self._edges(builder, step.id, step.body[0].id)
        last = step.body[-1]
        checked_by_leaf = isinstance(last, _LEAF) and not last.next
        self._block(builder, step.body, check, inner)
        if not checked_by_leaf:
            decide = self._check_decider(step, succ)

            async def check_body(state: dict[str, Any], config: RunnableConfig, ctx: RunContext) -> Any:
                update, goto = await decide(state, ctx)
                return Command(update=update, goto=goto)

            builder.add_node(check, self._wrap(check, "loop_check", None, check_body))

    def _check_decider(self, step: LoopStep, succ: str) -> Decider:
        body_ids = [s.id for s in step.body]
        exhausted = self._goto(step.on_exhausted) if step.on_exhausted else self._goto(succ)
        passed_to, again = self._goto(succ), self._goto(step.body[0].id)

        async def decide(state: dict[str, Any], ctx: RunContext) -> tuple[dict[str, Any], Any]:
            attempt = int(state.get("attempts", {}).get(step.id, 1))
            actual = state.get("values", {}).get(step.until.value)
            record = {
                "attempt": attempt,
                "result": case_key(actual) if actual is not None else None,
                "artifacts": {
                    sid: art for sid, art in state.get("artifacts", {}).items() if sid in body_ids
                },
            }
            history = [*state.get("history", {}).get(step.id, []), record]
            update: dict[str, Any] = {"history": {step.id: history}}
            if step.until.accepts(actual):
                update["values"] = {step.id: "passed"}
                return update, passed_to
            if attempt >= step.max_attempts:
                update["values"] = {step.id: "exhausted"}
                return update, exhausted
            update["attempts"] = {step.id: attempt + 1}
            return update, again

        return decide

    def _parallel(
        self,
        builder: StateGraph[Any, Any, Any, Any],
        step: ParallelStep,
        succ: str,
        loop: _Loop | None,
    ) -> None:
        tails: list[str] = []
        for number, branch in enumerate(step.branches):
            if _direct_branch(branch):
                name = branch[0].id
                builder.add_node(name, self._leaf(branch[0], loop))
            else:
                name = f"{step.id}.b{number}"
                sub = self.build(branch).compile()
                builder.add_node(name, self._wrap(name, "branch", None, _run_nested(sub, None)))
            tails.append(name)
        for node in self._goto(succ):
            if node == LG_END:
                for tail in tails:
                    builder.add_edge(tail, LG_END)
            else:
                self._joins.append((builder, tails, node))  # waits for every branch

    # --------------------------------------------------------------------- leaves

    def _leaf(self, step: Step, loop: _Loop | None) -> _Node:
        if isinstance(step, AgentStep):
            return self._wrap(step.id, "agent", step.agent, self._agent(step, loop))
        if isinstance(step, CallStep):
            return self._wrap(step.id, "call", None, self._call(step, loop))
        if isinstance(step, ApprovalStep):
            return self._wrap(step.id, "approval", step.decider, _approval(step))
        if isinstance(step, ActionStep):
            approving: set[str] = set()
            if step.requires_approval is not None:
                gate = self.spec.step(step.requires_approval)
                assert isinstance(gate, ApprovalStep)
                approving = set(gate.approving)
            return self._wrap(step.id, "action", None, _action(step, approving))
        if isinstance(step, SubgraphStep):
            return self._wrap(step.id, "subgraph", None, self._subgraph(step))
        raise TypeError(f"not a leaf step: {step!r}")

    def _agent(self, step: AgentStep, loop: _Loop | None) -> NodeBody:
        executor = self.executor

        async def run(state: dict[str, Any], config: RunnableConfig, ctx: RunContext) -> Any:
            if executor is None:
                raise RuntimeError("no step executor was given to compile_graph")
            sctx = _step_ctx(ctx, step.id, loop, state)
            result = await executor.run_agent(step, state, sctx)  # type: ignore[arg-type]
            if not isinstance(result, StepResult):
                result = StepResult.model_validate(result)
            return await _agent_update(step, result, ctx)

        return run

    def _call(self, step: CallStep, loop: _Loop | None) -> NodeBody:
        fn = _resolve(self.spec, step.id, step.function)

        async def run(state: dict[str, Any], config: RunnableConfig, ctx: RunContext) -> Any:
            out = fn(state, _step_ctx(ctx, step.id, loop, state))
            if inspect.isawaitable(out):
                out = await out
            if out is None:
                return {}
            if not isinstance(out, dict):
                raise TypeError(f"{step.function} must return a dict state update, got {type(out).__name__}")
            unknown = sorted(set(out) - STATE_KEYS)
            if unknown:
                raise ValueError(f"{step.function} returned unknown state keys {unknown}")
            return out

        return run

    def _route_decider(self, step: RouteStep) -> Decider:
        fn = _resolve(self.spec, step.id, step.call) if step.call else None

        async def decide(state: dict[str, Any], ctx: RunContext) -> tuple[dict[str, Any], Any]:
            if fn is not None:
                chosen = fn(state, StepContext(run=ctx, step_id=step.id))
                if inspect.isawaitable(chosen):
                    chosen = await chosen
                if not isinstance(chosen, str) or (chosen != END and chosen not in self._ids()):
                    raise ValueError(f"{step.call} returned {chosen!r}, which is not a step id or 'end'")
                target, label = _target(chosen), chosen
            else:
                actual = state.get("values", {}).get(step.on or "")
                label = case_key(actual)
                if label in step.cases:
                    target = _target(step.cases[label])
                elif step.default is not None:
                    target = _target(step.default)
                else:
                    raise ValueError(
                        f"route {step.id!r}: value {step.on}={actual!r} matches no case "
                        f"({', '.join(step.cases)}) and the route has no default"
                    )
            event = {"step": step.id, "event": "routed", "to": target, "label": label}
            return {"events": [event]}, self._goto(target)

        return decide

    def _route(self, step: RouteStep) -> NodeBody:
        decide = self._route_decider(step)

        async def run(state: dict[str, Any], config: RunnableConfig, ctx: RunContext) -> Any:
            update, goto = await decide(state, ctx)
            return Command(update=update, goto=goto)

        return run

    def _subgraph(self, step: SubgraphStep) -> NodeBody:
        child = self.specs.get(step.graph)
        if child is None:
            raise SpecError(self.spec.source, f"unknown graph {step.graph!r}", item=step.id)
        if step.graph not in self.cache:
            nested = _Compiler(child, self.executor, self.specs, self.cache)
            self.cache[step.graph] = nested.build(child.steps).compile()
        return _run_nested(self.cache[step.graph], step.id)

    def _ids(self) -> set[str]:
        from nexus_agents.graphs.spec import iter_steps

        return {s.id for s in iter_steps(self.spec.steps)}

    # -------------------------------------------------------------------- wrapper

    def _wrap(self, node: str, kind: str, agent: str | None, body: NodeBody) -> _Node:
        return _Node(node, kind, agent, body)


# ---------------------------------------------------------------------- helpers


def _target(step_id: str | None) -> str:
    return LG_END if step_id in (None, END) else str(step_id)


def _resolve(spec: GraphSpec, step_id: str, ref: str | None) -> Callable[..., Any]:
    try:
        return resolve_function(ref or "")
    except ValueError as exc:
        raise SpecError(spec.source, str(exc), item=step_id) from None


def _step_ctx(ctx: RunContext, step_id: str, loop: _Loop | None, state: dict[str, Any]) -> StepContext:
    if loop is None:
        return StepContext(run=ctx, step_id=step_id)
    attempt = int(state.get("attempts", {}).get(loop.id, 1))
    return StepContext(
        run=ctx, step_id=step_id, loop_id=loop.id, attempt=attempt, max_attempts=loop.max_attempts
    )


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


async def _agent_update(step: AgentStep, result: StepResult, ctx: RunContext) -> _Recorded:
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
            UsageRecord(run_id=ctx.run_id, step=step.id, **call.model_dump(exclude={"agent"}), agent=call.agent or step.agent)
            for call in result.calls
        ],
        artifact=artifact,
        markdown=result.markdown,
    )
    update: dict[str, Any] = {"values": values, "usage": usage, "events": list(result.events)}
    if artifact is not None:
        update["artifacts"] = {step.id: artifact}
    return _Recorded(update, records)


@dataclass(frozen=True)
class _StepRecords:
    """What a finished agent step adds to the run store, written with its ``finished`` event."""

    usage: list[UsageRecord]
    artifact: dict[str, Any] | None
    markdown: str | None


@dataclass(frozen=True)
class _Recorded:
    update: dict[str, Any]
    records: _StepRecords


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


def _action(step: ActionStep, approving: set[str]) -> NodeBody:
    async def run(state: dict[str, Any], config: RunnableConfig, ctx: RunContext) -> Any:
        key = f"{ctx.run_id}:{step.id}"
        store = ctx.store
        if store is not None and await store.get_action(key) is not None:
            event = {"step": step.id, "event": "action_skipped", "reason": "already executed"}
            return {"values": {step.id: "done"}, "events": [event]}
        if step.only_if is not None:
            actual = state.get("values", {}).get(step.only_if.value)
            if not step.only_if.accepts(actual):
                reason = f"{step.only_if.value} is {actual!r}, not {step.only_if.equals!r}"
                event = {"step": step.id, "event": "action_skipped", "reason": reason}
                return {"values": {step.id: "skipped"}, "events": [event]}
        if step.requires_approval is not None:
            given = state.get("approvals", {}).get(step.requires_approval)
            if given is None:
                raise ValueError(f"requires approval {step.requires_approval!r}, which was not given")
            if given.get("decision") not in approving:
                event = {"step": step.id, "event": "action_skipped", "reason": f"decision {given.get('decision')!r}"}
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
            kind=step.action, idempotency_key=key, run_id=ctx.run_id, step_id=step.id, payload=payload
        )
        result = await dispatch(ctx.integration, request)
        if store is not None:
            await store.record_action(
                key, run_id=ctx.run_id, step=step.id, kind=step.action, payload=payload,
                result=result.model_dump(mode="json"),
            )
        status = "done" if result.ok else "failed"
        return {"values": {step.id: status}}

    return run


class _Node:
    """One compiled node: runs ``body`` and records started / finished / failed events.

    A callable object rather than a closure: LangGraph looks for sub-graphs in the
    variables a node *function* reaches (a bytecode walk per node and per compile), which
    costs milliseconds per node on every run and finds nothing here (nested graphs are
    invoked inside ``body``).
    """

    __slots__ = ("__name__", "agent", "body", "kind", "node", "then")

    def __init__(self, node: str, kind: str, agent: str | None, body: NodeBody) -> None:
        self.node = node
        self.kind = kind
        self.agent = agent
        self.body = body
        self.then: Decider | None = None  # a route / loop decision taken in this node
        self.__name__ = f"node_{node.replace('.', '_')}"

    async def __call__(
        self, state: dict[str, Any], config: RunnableConfig, runtime: Runtime[RunContext]
    ) -> Any:
        node, kind, agent = self.node, self.kind, self.agent
        ctx = runtime.context
        if ctx is None:
            raise StepFailedError(node, "the graph was invoked without a RunContext (context=...)")
        store = ctx.store
        started = time.perf_counter()
        if store is not None and kind not in ("join", "parallel"):
            await store.add_event(ctx.run_id, node, "started", agent=agent, wait=False)
        try:
            out = await self.body(state, config, ctx)
        except GraphBubbleUp:
            raise
        except StepFailedError as exc:
            if store is not None:
                await store.add_event(ctx.run_id, node, "failed", agent=agent, detail={"error": str(exc)})
            raise
        except Exception as exc:
            if store is not None:
                await store.add_event(ctx.run_id, node, "failed", agent=agent, detail={"error": str(exc)})
            raise StepFailedError(node, exc) from exc
        records = None
        if isinstance(out, _Recorded):
            out, records = out.update, out.records
        duration = (time.perf_counter() - started) * 1000
        if store is not None and kind not in ("join", "parallel"):
            await store.record_step(
                ctx.run_id,
                node,
                agent=agent,
                duration_ms=duration,
                usage=records.usage if records else (),
                artifact=records.artifact if records else None,
                markdown=records.markdown if records else None,
            )
        event = {"step": node, "kind": kind, "event": "finished", "agent": agent, "duration_ms": duration}
        if isinstance(out, Command):
            update = dict(out.update or {})  # type: ignore[call-overload]
            update["events"] = [*update.get("events", []), event]
            return Command(update=update, goto=out.goto)
        update = dict(out or {})
        update["events"] = [*update.get("events", []), event]
        if self.then is None:
            return update
        try:
            # decided on the state as the next super-step will see it
            extra, goto = await self.then(_combined(state, update), ctx)
        except Exception as exc:
            raise StepFailedError(node, exc) from exc
        update = _combined(update, extra)
        return update if goto is None else Command(update=update, goto=goto)


def _combined(base: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``more`` applied as the state's reducers would (dicts merged, lists
    appended)."""
    out = dict(base)
    for key, value in more.items():
        if key in _DICT_KEYS and key in out:
            out[key] = {**(out[key] or {}), **value}
        elif key in _LIST_KEYS and key in out:
            out[key] = [*(out[key] or []), *value]
        else:
            out[key] = value
    return out


def _run_nested(graph: CompiledStateGraph[Any, Any, Any, Any], prefix: str | None) -> NodeBody:
    """Run a compiled sub-graph inside a node and return only what it changed.

    ``prefix`` (sub-graph steps) stores the child's artifacts as ``<prefix>/<step>``.
    """

    async def run(state: dict[str, Any], config: RunnableConfig, ctx: RunContext) -> Any:
        start = {
            "inputs": dict(state.get("inputs", {})),
            "period": state.get("period"),
            "values": dict(state.get("values", {})),
            "artifacts": dict(state.get("artifacts", {})),
            "attempts": dict(state.get("attempts", {})),
            "history": dict(state.get("history", {})),
            "approvals": dict(state.get("approvals", {})),
            "events": [],
            "usage": {},
            "errors": [],
        }
        out = await graph.ainvoke(start, config, context=ctx)
        delta: dict[str, Any] = {}
        for key in _DICT_KEYS:
            before = start[key]
            changed = {k: v for k, v in (out.get(key) or {}).items() if before.get(k) != v}
            if key == "artifacts" and prefix is not None:
                changed = {f"{prefix}/{k}": v for k, v in changed.items()}
            if changed:
                delta[key] = changed
        for key in _LIST_KEYS:
            if out.get(key):
                delta[key] = list(out[key])
        if out.get("usage"):
            delta["usage"] = dict(out["usage"])
        return delta

    return run


def compile_graph(
    spec: GraphSpec,
    executor: StepExecutor | None = None,
    *,
    checkpointer: BaseCheckpointSaver[Any] | None = None,
    specs: Mapping[str, GraphSpec] | None = None,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Build the LangGraph graph of ``spec``.

    ``executor`` runs agent steps; ``specs`` resolves ``subgraph`` steps (each compiled
    once); the ``RunContext`` is given per run: ``graph.ainvoke(state, config, context=ctx)``.
    """
    compiler = _Compiler(spec, executor, dict(specs or {}))
    builder = compiler.build(spec.steps)
    return builder.compile(checkpointer=checkpointer, name=spec.name)
