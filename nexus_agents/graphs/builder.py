"""Build a GraphSpec into a LangGraph ``StateGraph``: the graph's shape, not its work.

Every leaf step becomes a node named after its id. Structural steps get a node only when
they must: a route or a loop check right after a leaf is decided inside that leaf's
node, a loop is entered by the leaf before it, a decision that leads to a route with a
node of its own takes that route's decision too, and a parallel group fans out by edges
from its predecessor to its branch heads and meets at a waiting edge into its successor
(each LangGraph super-step is a checkpoint write, so these save one write each).
Synthetic nodes carry a dot in their name (``<loop>.check``, ``<parallel>.b0``), which
step ids cannot. A branch of more than one step runs as its own compiled sub-graph so
every branch proceeds at its own pace. Routes and loop checks pick their successor with
``Command(goto=...)``. The run context (``RunContext``) arrives as LangGraph runtime
context.

What a node does when it runs comes from a ``NodeFactory``: the builder hands it each
agent, call, action and approval step, and the bodies it made itself (route and loop
decisions, loop entries, nested graphs) to be wrapped as nodes. The run side's factory
(``nexus_agents.runs.nodes``) records events, store rows, usage, actions and approvals;
nothing here writes to a store or calls a model.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END as LG_END
from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

from nexus_agents.artifacts.attempts import attempt_record, by_reference, history_with_artifacts
from nexus_agents.exceptions import SpecError
from nexus_agents.graphs.errors import StepFailedError
from nexus_agents.graphs.executor import RunContext, StepContext
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
    alongside_actions,
    case_key,
    resolve_step_function,
)
from nexus_agents.graphs.state import GraphState, apply_update, changes, nested_start

__all__ = ["Decider", "LeafStep", "Node", "NodeBody", "NodeFactory", "build_graph"]

_LEAF = (AgentStep, CallStep, ActionStep, ApprovalStep, SubgraphStep)

LeafStep = AgentStep | CallStep | ActionStep | ApprovalStep
# The work of a node: a state update (or a ``Command``), given the run context.
NodeBody = Callable[[dict[str, Any], RunnableConfig, RunContext], Awaitable[Any]]
# A LangGraph node as added to the graph.
Node = Callable[[dict[str, Any], RunnableConfig, Runtime[RunContext]], Awaitable[Any]]
# A decision taken after a step: extra state update, and where to go (None: static edges).
Decider = Callable[[dict[str, Any], RunContext], Awaitable[tuple[dict[str, Any], Any]]]


class NodeFactory(Protocol):
    """Makes the nodes the builder places; the run engine hands one to ``build_graph``."""

    def leaf(self, step: LeafStep, spec: GraphSpec, loop: LoopStep | None) -> Node:
        """The node of an agent, call, action or approval step of ``spec`` (``loop``: the
        innermost loop the step is in). Called while building: a bad reference in the
        step is a ``SpecError`` then, not when the run reaches it."""
        ...

    def structural(self, name: str, kind: str, body: NodeBody) -> Node:
        """The node named ``name`` that runs ``body``, which the builder made: a route
        (``route``), a loop's entry or check (``loop``, ``loop_check``), a parallel branch
        of several steps (``branch``) or a sub-graph step (``subgraph``)."""
        ...


@dataclass(frozen=True)
class _Loop:
    step: LoopStep
    succ: str  # where the loop continues once it passed


def _direct_branch(branch: list[Step]) -> bool:
    """A parallel branch of one plain leaf runs as a node of the graph itself."""
    return len(branch) == 1 and isinstance(branch[0], _LEAF) and not branch[0].next


def _loop_entry(step: LoopStep, body: list[str]) -> Decider:
    async def enter(state: dict[str, Any], ctx: RunContext) -> tuple[dict[str, Any], Any]:
        update: dict[str, Any] = {"attempts": {step.id: 1}, "values": {step.id: "running"}}
        records = state.get("history", {}).get(step.id) or []
        if by_reference(records):  # entered again: the last pass's artifacts are copied in
            artifacts = state.get("artifacts", {})
            update["history"] = {step.id: history_with_artifacts(records, artifacts)}
        return update, body

    return enter


@dataclass
class _Builder:
    spec: GraphSpec
    nodes: NodeFactory
    specs: Mapping[str, GraphSpec]
    cache: dict[str, CompiledStateGraph[Any, Any, Any, Any]] = field(default_factory=dict)
    _entries: dict[str, list[str]] = field(default_factory=dict)
    _referenced: set[str] = field(default_factory=set)
    _joins: list[tuple[Any, list[str], str]] = field(default_factory=list)
    # routes with a node of their own: a decision that goes to one is followed through it
    _route_nodes: dict[str, Decider] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from nexus_agents.graphs.spec import iter_steps, jump_targets

        every = list(iter_steps(self.spec.steps))
        self._referenced = jump_targets(self.spec.steps)
        for step in reversed(every):  # nested steps first: a parallel's entries are its branches'
            self._entries[step.id] = self._entry_nodes(step)

    # ----------------------------------------------------------------- structure
    #
    # Every LangGraph super-step costs a checkpoint write, so structural steps do not get
    # nodes of their own where they can ride along with the step before them: a route or
    # a loop's check that directly follows a leaf is decided inside that leaf's node, a
    # loop is entered by the leaf before it, and a parallel group fans out by edges from
    # its predecessor to the branch heads and fans in by a waiting edge to its successor.
    # A route or loop other steps jump to keeps a node for them as well.

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
        if index == 0:
            return False
        before = steps[index - 1]
        return isinstance(before, _LEAF) and not before.next

    def _own_node(self, steps: list[Step], index: int) -> bool:
        """Whether ``steps[index]`` (a route or loop) needs a node: no leaf decides it, or
        other steps jump to it (the leaf before it still decides it on its own path)."""
        return not self._fusible(steps, index) or steps[index].id in self._referenced

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
        self,
        builder: StateGraph[Any, Any, Any, Any],
        steps: list[Step],
        cont: str,
        loop: _Loop | None,
    ) -> None:
        """Add ``steps``; the last one continues to ``cont`` (a step id, ``<loop>.check``
        or END)."""
        steps, side = alongside_actions(steps)
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
                        decider = _loop_entry(after, self._goto(after.body[0].id))
                elif loop is not None and after is None and not step.next:
                    decider = self._check_decider(loop.step, loop.succ)
                node = self._leaf(step, loop)
                beside = side.get(step.id)
                if beside is not None:  # a dead end: nothing waits for it
                    _add_node(builder, beside.id, self._leaf(beside, loop))
                if decider is None:
                    _add_node(builder, step.id, node)
                    self._edges(builder, step.id, succ)
                    if beside is not None:
                        builder.add_edge(step.id, beside.id)
                else:
                    decide = self._followed(decider)
                    if beside is not None:
                        decide = _also_to(decide, beside.id)
                    _add_node(builder, step.id, _Decided(step.id, node, decide))
            elif isinstance(step, RouteStep):
                if self._own_node(steps, index):
                    self._route_nodes[step.id] = self._route_decider(step)
                    _add_node(
                        builder,
                        step.id, self.nodes.structural(step.id, "route", self._route(step))
                    )
            elif isinstance(step, LoopStep):
                self._loop(builder, step, succ, enter=self._own_node(steps, index))
            elif isinstance(step, ParallelStep):
                self._parallel(builder, step, succ, loop)

    def _loop(
        self, builder: StateGraph[Any, Any, Any, Any], step: LoopStep, succ: str, *, enter: bool
    ) -> None:
        check = f"{step.id}.check"
        inner = _Loop(step, succ)
        if enter:
            entry = self._followed(_loop_entry(step, self._goto(step.body[0].id)))

            async def enter_body(
                state: dict[str, Any], config: RunnableConfig, ctx: RunContext
            ) -> Any:
                update, goto = await entry(state, ctx)
                return Command(update=update, goto=goto)

            _add_node(builder, step.id, self.nodes.structural(step.id, "loop", enter_body))
        last = step.body[-1]
        checked_by_leaf = isinstance(last, _LEAF) and not last.next
        self._block(builder, step.body, check, inner)
        if not checked_by_leaf:
            decide = self._followed(self._check_decider(step, succ))

            async def check_body(
                state: dict[str, Any], config: RunnableConfig, ctx: RunContext
            ) -> Any:
                update, goto = await decide(state, ctx)
                return Command(update=update, goto=goto)

            _add_node(builder, check, self.nodes.structural(check, "loop_check", check_body))

    def _check_decider(self, step: LoopStep, succ: str) -> Decider:
        body_ids = [s.id for s in step.body]
        exhausted = self._goto(step.on_exhausted) if step.on_exhausted else self._goto(succ)
        passed_to, again = self._goto(succ), self._goto(step.body[0].id)

        async def decide(state: dict[str, Any], ctx: RunContext) -> tuple[dict[str, Any], Any]:
            attempt = int(state.get("attempts", {}).get(step.id, 1))
            actual = state.get("values", {}).get(step.until.value)
            passed = step.until.accepts(actual)
            exhausted_now = not passed and attempt >= step.max_attempts
            record = attempt_record(
                attempt,
                case_key(actual) if actual is not None else None,
                body_ids,
                state.get("artifacts", {}),
                last=passed or exhausted_now,
            )
            history = [*state.get("history", {}).get(step.id, []), record]
            update: dict[str, Any] = {"history": {step.id: history}}
            if passed:
                update["values"] = {step.id: "passed"}
                return update, passed_to
            if exhausted_now:
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
                _add_node(builder, name, self._leaf(branch[0], loop))
            else:
                name = f"{step.id}.b{number}"
                sub = self.build(branch).compile()
                _add_node(
                    builder,
                    name, self.nodes.structural(name, "branch", _run_nested(sub, None))
                )
            tails.append(name)
        for node in self._goto(succ):
            if node == LG_END:
                for tail in tails:
                    builder.add_edge(tail, LG_END)
            else:
                self._joins.append((builder, tails, node))  # waits for every branch

    # --------------------------------------------------------------------- leaves

    def _leaf(self, step: Step, loop: _Loop | None) -> Node:
        if isinstance(step, SubgraphStep):
            return self.nodes.structural(step.id, "subgraph", self._subgraph(step))
        if isinstance(step, AgentStep | CallStep | ActionStep | ApprovalStep):
            return self.nodes.leaf(step, self.spec, loop.step if loop is not None else None)
        raise TypeError(f"not a leaf step: {step!r}")

    def _route_decider(self, step: RouteStep) -> Decider:
        fn = resolve_step_function(self.spec, step.id, step.call) if step.call else None

        async def decide(state: dict[str, Any], ctx: RunContext) -> tuple[dict[str, Any], Any]:
            if fn is not None:
                chosen = fn(state, StepContext(run=ctx, step_id=step.id))
                if inspect.isawaitable(chosen):
                    chosen = await chosen
                if not isinstance(chosen, str) or (chosen != END and chosen not in self._ids()):
                    raise ValueError(
                        f"{step.call} returned {chosen!r}, which is not a step id or 'end'"
                    )
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

    def _followed(self, decide: Decider) -> Decider:
        """``decide``, then, while it goes to a route with a node of its own, that route's
        decision too: a route is a pure function of the state, so taking it in the same
        super-step saves the route's checkpoint write."""

        async def followed(state: dict[str, Any], ctx: RunContext) -> tuple[dict[str, Any], Any]:
            update, goto = await decide(state, ctx)
            for _ in range(len(self._route_nodes)):  # a cycle of routes only would not end
                route = self._route_nodes.get(goto[0]) if goto and len(goto) == 1 else None
                if route is None:
                    break
                extra, goto = await route(apply_update(state, update), ctx)
                update = apply_update(update, extra)
            return update, goto

        return followed

    def _route(self, step: RouteStep) -> NodeBody:
        decide = self._followed(self._route_decider(step))

        async def run(state: dict[str, Any], config: RunnableConfig, ctx: RunContext) -> Any:
            update, goto = await decide(state, ctx)
            return Command(update=update, goto=goto)

        return run

    def _subgraph(self, step: SubgraphStep) -> NodeBody:
        child = self.specs.get(step.graph)
        if child is None:
            raise SpecError(self.spec.source, f"unknown graph {step.graph!r}", item=step.id)
        if step.graph not in self.cache:
            nested = _Builder(child, self.nodes, self.specs, self.cache)
            self.cache[step.graph] = nested.build(child.steps).compile()
        return _run_nested(self.cache[step.graph], step.id)

    def _ids(self) -> set[str]:
        from nexus_agents.graphs.spec import iter_steps

        return {s.id for s in iter_steps(self.spec.steps)}


# ---------------------------------------------------------------------- helpers


def _add_node(builder: StateGraph[Any, Any, Any, Any], name: str, node: Node) -> None:
    # LangGraph's add_node overloads do not describe a node taking (state, config,
    # runtime) as positional parameters, which LangGraph itself supports at run time
    builder.add_node(name, node)  # type: ignore[call-overload]


def _also_to(decide: Decider, node: str) -> Decider:
    """``decide``, going to ``node`` as well (an alongside action)."""

    async def both(state: dict[str, Any], ctx: RunContext) -> tuple[dict[str, Any], Any]:
        update, goto = await decide(state, ctx)
        return update, [*goto, node]

    return both


def _target(step_id: str | None) -> str:
    return LG_END if step_id in (None, END) else str(step_id)


def node_name(step_id: str) -> str:
    """The Python name a step's node callable carries (LangGraph shows it in errors)."""
    return f"node_{step_id.replace('.', '_')}"


class _Decided:
    """A leaf's node followed, in the same super-step, by the route or loop decision
    after it: the decision sees the state as the next super-step will see it.

    A callable object rather than a closure, as the factory's nodes are: LangGraph looks
    for sub-graphs in the variables a node *function* reaches (a bytecode walk per node
    and per compile), which costs milliseconds per node and finds nothing here.
    """

    __slots__ = ("__name__", "decide", "node", "run")

    def __init__(self, node: str, run: Node, decide: Decider) -> None:
        self.node = node
        self.run = run
        self.decide = decide
        self.__name__ = node_name(node)

    async def __call__(
        self, state: dict[str, Any], config: RunnableConfig, runtime: Runtime[RunContext]
    ) -> Any:
        out = await self.run(state, config, runtime)
        if isinstance(out, Command):
            return out
        update = dict(out or {})
        try:
            extra, goto = await self.decide(apply_update(state, update), runtime.context)
        except Exception as exc:
            raise StepFailedError(self.node, exc) from exc
        update = apply_update(update, extra)
        return update if goto is None else Command(update=update, goto=goto)


def _run_nested(graph: CompiledStateGraph[Any, Any, Any, Any], prefix: str | None) -> NodeBody:
    """Run a compiled sub-graph inside a node and return only what it changed.

    ``prefix`` (sub-graph steps) stores the child's artifacts as ``<prefix>/<step>``.
    """

    async def run(state: dict[str, Any], config: RunnableConfig, ctx: RunContext) -> Any:
        start = nested_start(state)
        out = await graph.ainvoke(start, config, context=ctx)
        delta = changes(start, out)
        if prefix is not None and "artifacts" in delta:
            delta["artifacts"] = {f"{prefix}/{k}": v for k, v in delta["artifacts"].items()}
        return delta

    return run


def build_graph(
    spec: GraphSpec,
    nodes: NodeFactory,
    *,
    checkpointer: BaseCheckpointSaver[Any] | None = None,
    specs: Mapping[str, GraphSpec] | None = None,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Build the LangGraph graph of ``spec`` with the nodes ``nodes`` makes.

    ``specs`` resolves ``subgraph`` steps (each built once); the ``RunContext`` is given
    per run: ``graph.ainvoke(state, config, context=ctx)``.
    """
    builder = _Builder(spec, nodes, dict(specs or {}))
    return builder.build(spec.steps).compile(checkpointer=checkpointer, name=spec.name)
