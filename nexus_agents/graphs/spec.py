"""Graph specs: a readable YAML workflow validated into typed steps.

A spec names a workflow and lists its steps. Each step is one building block:

- agent step ``{id, agent, output, facts, inputs, set}``
- ``parallel: {id, branches: [[steps], ...]}``
- ``route: {id, on, cases, default}`` or ``route: {id, call: pkg.mod:fn}``
- ``loop: {id, body, until: {value, equals}, max_attempts, on_exhausted}``
- ``approval: {id, decider, question, options, on_timeout, timeout_minutes}``
- ``subgraph: {id, graph}``
- ``call: {id, function: pkg.mod:fn}``
- ``action: {id, kind, from, requires_approval, only_if: {value, equals}, alongside}``
  (``alongside: true``: the step after it starts in the same super-step, without
  waiting for the action)

Any step may carry ``next: <step id | end>``; otherwise flow continues with the
following step of its list. Validation errors are ``SpecError(file, reason, item=step)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from nexus_agents._refs import RefError, resolve_ref
from nexus_agents._yaml import safe_load
from nexus_agents.actions.base import ActionKind
from nexus_agents.exceptions import SpecError

__all__ = [
    "END",
    "STEP_KINDS",
    "ActionStep",
    "AgentStep",
    "ApprovalStep",
    "CallStep",
    "GraphSpec",
    "LoopStep",
    "ParallelStep",
    "RouteStep",
    "Step",
    "SubgraphStep",
    "UntilCondition",
    "ValueSpec",
    "alongside_actions",
    "iter_steps",
    "jump_targets",
    "parse_spec",
    "resolve_function",
    "resolve_step_function",
    "validate_names",
]

END = "end"
ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]*$"
FUNCTION_PATTERN = r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*$"
STEP_KINDS = ("agent", "parallel", "route", "loop", "approval", "subgraph", "call", "action")

StepId = Annotated[str, Field(pattern=ID_PATTERN, max_length=80)]
FunctionRef = Annotated[str, Field(pattern=FUNCTION_PATTERN)]


def case_key(value: Any) -> str:
    """How a state value is compared with route case labels (YAML ``yes`` is ``True``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _StepBase(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: StepId
    next: str | None = Field(default=None, description="step id to jump to, or 'end'")


class AgentStep(_StepBase):
    """One agent turn: facts + one model call -> an artifact (run by the injected executor)."""

    kind: Literal["agent"] = "agent"
    agent: str = Field(min_length=1)
    output: str | None = Field(default=None, description="artifact kind the step produces")
    facts: list[str] = Field(default_factory=list, description="fact provider names")
    inputs: list[StepId] = Field(
        default_factory=list, description="upstream step ids whose artifacts this step reads"
    )
    set: dict[str, str] = Field(
        default_factory=dict, description="value name -> dotted path into the artifact"
    )
    task: str | None = Field(default=None, description="what the agent is asked to do")
    options: dict[str, Any] = Field(default_factory=dict, description="free executor options")


class ParallelStep(_StepBase):
    kind: Literal["parallel"] = "parallel"
    branches: list[list[Step]] = Field(min_length=2)


class RouteStep(_StepBase):
    kind: Literal["route"] = "route"
    on: str | None = None
    cases: dict[str, str] = Field(default_factory=dict)
    default: str | None = None
    call: FunctionRef | None = None

    @field_validator("cases", mode="before")
    @classmethod
    def _stringify_labels(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {case_key(k): v for k, v in value.items()}
        return value


class UntilCondition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str = Field(min_length=1)
    equals: Any = Field(description="a value, or a list of accepted values")

    def accepts(self, actual: Any) -> bool:
        wanted = self.equals if isinstance(self.equals, list) else [self.equals]
        return case_key(actual) in {case_key(w) for w in wanted}


class LoopStep(_StepBase):
    """Repeat ``body`` until a value matches, at most ``max_attempts`` times.

    After the loop ``values[<id>]`` is ``passed`` or ``exhausted``; while it runs the
    attempt number is ``attempts[<id>]``.
    """

    kind: Literal["loop"] = "loop"
    body: list[Step] = Field(min_length=1)
    until: UntilCondition
    max_attempts: int = Field(ge=1, le=20)
    on_exhausted: str | None = None


class ApprovalStep(_StepBase):
    """A human decision; unattended runs take ``on_timeout``."""

    kind: Literal["approval"] = "approval"
    decider: str = Field(min_length=1)
    question: str = Field(min_length=1)
    options: list[str] = Field(default_factory=lambda: ["approve", "reject"], min_length=1)
    on_timeout: str
    timeout_minutes: float = Field(default=24 * 60, gt=0)
    approving: list[str] = Field(
        default_factory=lambda: ["approve"],
        description="options that allow an action gated by this approval",
    )

    @field_validator("options", "approving", "on_timeout", mode="before")
    @classmethod
    def _yaml_booleans(cls, value: Any) -> Any:
        # YAML 1.1 reads bare yes/no as booleans; options are always words.
        def word(v: Any) -> Any:
            return ("yes" if v else "no") if isinstance(v, bool) else v

        return [word(v) for v in value] if isinstance(value, list) else word(value)


class SubgraphStep(_StepBase):
    kind: Literal["subgraph"] = "subgraph"
    graph: str = Field(min_length=1)


class CallStep(_StepBase):
    kind: Literal["call"] = "call"
    function: FunctionRef


class ActionStep(_StepBase):
    kind: Literal["action"] = "action"
    action: ActionKind = Field(alias="kind_of_action")
    source: StepId | None = Field(default=None, alias="from")
    requires_approval: StepId | None = None
    only_if: UntilCondition | None = Field(
        default=None, description="the action is skipped unless this state value matches"
    )
    alongside: bool = Field(
        default=False,
        description="run in the same super-step as the step after it: that step does not "
        "wait for the action (a notification beside the response it announces)",
    )


def alongside_actions(steps: list[Step]) -> tuple[list[Step], dict[str, ActionStep]]:
    """``steps`` without their ``alongside`` actions, and each such action by the id of
    the step it follows: that step continues to the action *and* to the step after it."""
    kept: list[Step] = []
    side: dict[str, ActionStep] = {}
    for step in steps:
        if isinstance(step, ActionStep) and step.alongside and kept:
            side[kept[-1].id] = step
        else:
            kept.append(step)
    return kept, side


Step = Annotated[
    AgentStep
    | ParallelStep
    | RouteStep
    | LoopStep
    | ApprovalStep
    | SubgraphStep
    | CallStep
    | ActionStep,
    Field(discriminator="kind"),
]


class ValueSpec(BaseModel):
    """A declared state value (routes may switch on it)."""

    model_config = ConfigDict(extra="forbid")

    enum: list[Any] | None = None
    description: str | None = None


class InputSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    required: bool = False
    default: Any = None


class GraphSpec(BaseModel):
    """A validated workflow. ``source`` is the file it came from."""

    model_config = ConfigDict(extra="forbid")

    name: StepId
    title: str | None = None
    description: str | None = None
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    state: dict[str, ValueSpec] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1)
    source: str = Field(default="<memory>", exclude=True)

    def step(self, step_id: str) -> Step:
        for step in iter_steps(self.steps):
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def subgraph_names(self) -> set[str]:
        return {s.graph for s in iter_steps(self.steps) if isinstance(s, SubgraphStep)}


ParallelStep.model_rebuild()
LoopStep.model_rebuild()
GraphSpec.model_rebuild()


def iter_steps(steps: Iterable[Step]) -> Iterator[Step]:
    """Every step, nested ones included, in document order."""
    for step in steps:
        yield step
        if isinstance(step, ParallelStep):
            for branch in step.branches:
                yield from iter_steps(branch)
        elif isinstance(step, LoopStep):
            yield from iter_steps(step.body)


# --------------------------------------------------------------------------- parsing

_WRAPPED = ("parallel", "route", "loop", "approval", "subgraph", "call", "action")


def _normalise_step(raw: Any, file: str, where: str) -> dict[str, Any]:
    """Turn ``{loop: {...}, next: x}`` into ``{kind: loop, ..., next: x}`` (recursively)."""
    if not isinstance(raw, dict):
        raise SpecError(file, f"{where}: a step must be a mapping, got {type(raw).__name__}")
    keys = [k for k in (*_WRAPPED, "agent") if k in raw]
    item = raw.get("id") if isinstance(raw.get("id"), str) else None
    if not keys:
        known = ", ".join(STEP_KINDS)
        shown = ", ".join(map(str, raw)) or "nothing"
        raise SpecError(
            file, f"unknown step kind (keys: {shown}); expected one of: {known}", item=item or where
        )
    if "agent" in keys and isinstance(raw.get("agent"), str):
        if len(keys) > 1:
            raise SpecError(file, f"a step has one kind, got {keys}", item=item or where)
        return {"kind": "agent", **raw}
    wrapped = [k for k in keys if k != "agent"]
    if len(wrapped) != 1 or len(raw) > 2 or (len(raw) == 2 and "next" not in raw):
        extra = sorted(set(raw) - {wrapped[0], "next"}) if wrapped else sorted(raw)
        raise SpecError(
            file, f"a step has one kind and an optional 'next'; unexpected: {extra}", item=item or where
        )
    kind = wrapped[0]
    body = raw[kind]
    if not isinstance(body, dict):
        raise SpecError(file, f"'{kind}' must be a mapping", item=item or where)
    if True in body and "on" not in body:  # YAML 1.1 reads a bare `on:` key as true
        body = {("on" if k is True else k): v for k, v in body.items()}
    item = body.get("id") if isinstance(body.get("id"), str) else where
    out: dict[str, Any] = dict(body)
    if "next" in raw:
        out["next"] = raw["next"]
    if kind == "action" and "kind" in out:
        out["kind_of_action"] = out.pop("kind")
    out["kind"] = kind
    if kind == "parallel":
        branches = out.get("branches")
        if not isinstance(branches, list):
            raise SpecError(file, "'branches' must be a list of step lists", item=item)
        out["branches"] = [
            _normalise_list(b, file, f"{item}.branches[{i}]") for i, b in enumerate(branches)
        ]
    elif kind == "loop":
        out["body"] = _normalise_list(out.get("body"), file, f"{item}.body")
    return out


def _normalise_list(raw: Any, file: str, where: str) -> list[dict[str, Any]]:
    if isinstance(raw, dict):  # a single-step branch written without a list
        raw = [raw]
    if not isinstance(raw, list):
        raise SpecError(file, f"{where}: expected a list of steps")
    return [_normalise_step(s, file, f"{where}[{i}]") for i, s in enumerate(raw)]


def _item_for(error_loc: tuple[Any, ...], data: dict[str, Any]) -> str | None:
    """The id of the innermost step an error location points into."""
    node: Any = data
    item: str | None = None
    for part in error_loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and isinstance(node.get("id"), str) and "kind" in node:
            item = node["id"]
    return item


def _loc_text(loc: tuple[Any, ...]) -> str:
    kinds = set(STEP_KINDS)
    return ".".join(str(p) for p in loc if p not in kinds)


def parse_spec(data: Any, file: str = "<memory>") -> GraphSpec:
    """Validate a decoded YAML document into a GraphSpec (structure and references)."""
    if not isinstance(data, dict):
        raise SpecError(file, "a graph spec must be a YAML mapping")
    doc = dict(data)
    doc["steps"] = _normalise_list(doc.get("steps"), file, "steps")
    try:
        spec = GraphSpec.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        item = _item_for(loc, doc)
        field = _loc_text(loc)
        raise SpecError(file, f"{field}: {first['msg']}", item=item) from None
    spec.source = file
    _check_references(spec)
    return spec


# ----------------------------------------------------------------------- references


@dataclass
class _Scope:
    """The step ids a jump may target from inside one block."""

    ids: set[str]
    in_branch: bool


def _check_references(spec: GraphSpec) -> None:
    file = spec.source
    seen: set[str] = set()
    for step in iter_steps(spec.steps):
        if step.id == END:
            raise SpecError(file, f"'{END}' is reserved and cannot be a step id", item=step.id)
        if step.id in seen:
            raise SpecError(file, f"duplicate step id {step.id!r}", item=step.id)
        seen.add(step.id)
    all_ids = seen
    known_values = set(spec.state) | set(spec.inputs)
    approvals: dict[str, ApprovalStep] = {}
    for step in iter_steps(spec.steps):
        if isinstance(step, AgentStep):
            known_values.update(step.set)
        elif isinstance(step, ApprovalStep | LoopStep):
            known_values.add(step.id)
        if isinstance(step, ApprovalStep):
            approvals[step.id] = step

    def check_block(steps: list[Step], visible: set[str], in_branch: bool) -> None:
        block_ids = {s.id for s in steps}
        scope = visible | block_ids

        def target(step: Step, tgt: str | None, what: str) -> None:
            if tgt is None or tgt == END:
                if tgt == END and in_branch:
                    raise SpecError(
                        file, f"{what}: 'end' is not allowed inside a parallel branch", item=step.id
                    )
                return
            if tgt not in all_ids:
                raise SpecError(file, f"{what} points to unknown step {tgt!r}", item=step.id)
            if tgt not in scope:
                where = "its parallel branch" if in_branch else "its block or an enclosing one"
                raise SpecError(
                    file,
                    f"{what} points to {tgt!r}, which is outside {where} "
                    "(jumps may not enter a loop body or a parallel branch)",
                    item=step.id,
                )

        for step in steps:
            target(step, step.next, "next")
            if isinstance(step, AgentStep):
                for up in step.inputs:
                    if up not in all_ids and up not in spec.inputs:
                        raise SpecError(
                            file,
                            f"inputs names {up!r}, which is neither a step nor a declared graph input",
                            item=step.id,
                        )
                for name, path in step.set.items():
                    if not path or any(not part for part in path.split(".")):
                        raise SpecError(file, f"set.{name}: bad dotted path {path!r}", item=step.id)
            elif isinstance(step, RouteStep):
                _check_route(spec, step, known_values)
                for label, tgt in step.cases.items():
                    target(step, tgt, f"case {label!r}")
                target(step, step.default, "default")
            elif isinstance(step, LoopStep):
                target(step, step.on_exhausted, "on_exhausted")
                if step.until.value not in known_values:
                    raise SpecError(
                        file,
                        f"until.value {step.until.value!r} is never set by a step nor declared in 'state'",
                        item=step.id,
                    )
                check_block(step.body, scope, in_branch)
            elif isinstance(step, ParallelStep):
                for branch in step.branches:
                    check_block(branch, set(), True)
            elif isinstance(step, ApprovalStep):
                if len(set(step.options)) != len(step.options):
                    raise SpecError(file, "options must be unique", item=step.id)
                if step.on_timeout not in step.options:
                    raise SpecError(
                        file,
                        f"on_timeout {step.on_timeout!r} is not one of the options {step.options}",
                        item=step.id,
                    )
                bad = [o for o in step.approving if o not in step.options]
                if bad:
                    raise SpecError(file, f"approving {bad} are not options", item=step.id)
            elif isinstance(step, ActionStep):
                if step.source is not None and step.source not in all_ids:
                    raise SpecError(file, f"from names unknown step {step.source!r}", item=step.id)
                if step.requires_approval is not None and step.requires_approval not in approvals:
                    raise SpecError(
                        file,
                        f"requires_approval {step.requires_approval!r} is not an approval step",
                        item=step.id,
                    )
                if step.only_if is not None and step.only_if.value not in known_values:
                    raise SpecError(
                        file,
                        f"only_if.value {step.only_if.value!r} is never set by a step nor "
                        "declared in 'state'",
                        item=step.id,
                    )
                if step.alongside:
                    _check_alongside(spec, steps, step, referenced)

    referenced = jump_targets(spec.steps)
    check_block(spec.steps, set(), False)


def jump_targets(steps: list[Step]) -> set[str]:
    """Every step id (or 'end') a ``next``, a route's case or default or a loop's
    ``on_exhausted`` in ``steps`` (nested ones included) jumps to."""
    targets: set[str] = set()
    for step in iter_steps(steps):
        found = [step.next]
        if isinstance(step, RouteStep):
            found += [*step.cases.values(), step.default]
        elif isinstance(step, LoopStep):
            found.append(step.on_exhausted)
        targets.update(t for t in found if t)
    return targets


def _check_alongside(
    spec: GraphSpec, steps: list[Step], step: ActionStep, referenced: set[str]
) -> None:
    """An ``alongside`` action hangs off the step before it: it needs one (an agent, call,
    action, approval or subgraph step that continues to the next in the list), a step
    after it to run beside, and no jump to or from it."""
    index = next(i for i, s in enumerate(steps) if s is step)
    before = steps[index - 1] if index > 0 else None
    reason = None
    if not isinstance(before, AgentStep | CallStep | ActionStep | ApprovalStep | SubgraphStep):
        reason = "must directly follow an agent, call, action, approval or subgraph step"
    elif before.next is not None or (isinstance(before, ActionStep) and before.alongside):
        reason = f"must follow a step that continues to it ({before.id!r} jumps elsewhere)"
    elif index + 1 >= len(steps):
        reason = "needs a step after it in its list to run beside"
    elif step.next is not None:
        reason = "cannot have 'next': nothing continues from an alongside action"
    elif step.id in referenced:
        reason = "cannot be the target of a route, loop or 'next'"
    if reason is not None:
        raise SpecError(spec.source, f"an alongside action {reason}", item=step.id)


def _check_route(spec: GraphSpec, step: RouteStep, known_values: set[str]) -> None:
    file = spec.source
    if (step.on is None) == (step.call is None):
        raise SpecError(file, "a route needs exactly one of 'on' (with cases) or 'call'", item=step.id)
    if step.call is not None:
        if step.cases or step.default:
            raise SpecError(file, "a 'call' route takes no cases or default", item=step.id)
        return
    if not step.cases:
        raise SpecError(file, "a route on a value needs 'cases'", item=step.id)
    if step.on not in known_values:
        raise SpecError(
            file,
            f"route on {step.on!r}: no step sets that value and 'state' does not declare it",
            item=step.id,
        )
    declared = spec.state.get(step.on or "")
    if declared is not None and declared.enum is not None:
        allowed = {case_key(v) for v in declared.enum}
        stray = sorted(set(step.cases) - allowed)
        if stray:
            raise SpecError(
                file, f"cases {stray} are not values of {step.on!r} {sorted(allowed)}", item=step.id
            )


# ------------------------------------------------------------------ names & functions


def resolve_function(ref: str) -> Callable[..., Any]:
    """Import ``package.module:function``; raises ValueError with the reason."""
    if not re.match(FUNCTION_PATTERN, ref):
        raise ValueError(f"{ref!r} is not of the form package.module:function")
    try:
        return resolve_ref(ref)
    except RefError as exc:
        raise ValueError(str(exc)) from None


def resolve_step_function(spec: GraphSpec, step_id: str, ref: str | None) -> Callable[..., Any]:
    """``resolve_function`` for a step of ``spec``: a bad reference is a ``SpecError``
    naming the spec's file and the step."""
    try:
        return resolve_function(ref or "")
    except ValueError as exc:
        raise SpecError(spec.source, str(exc), item=step_id) from None


def validate_names(
    spec: GraphSpec,
    *,
    agents: Iterable[str] | None = None,
    artifacts: Iterable[str] | None = None,
    graphs: Iterable[str] | None = None,
    resolve_functions: bool = True,
) -> None:
    """Check names against what exists. A ``None`` set skips that check."""
    agent_set = set(agents) if agents is not None else None
    artifact_set = set(artifacts) if artifacts is not None else None
    graph_set = set(graphs) if graphs is not None else None
    file = spec.source
    for step in iter_steps(spec.steps):
        if isinstance(step, AgentStep):
            if agent_set is not None and step.agent not in agent_set:
                raise SpecError(file, f"unknown agent {step.agent!r}", item=step.id)
            if artifact_set is not None and step.output and step.output not in artifact_set:
                raise SpecError(file, f"unknown artifact kind {step.output!r}", item=step.id)
        elif (
            isinstance(step, SubgraphStep) and graph_set is not None and step.graph not in graph_set
        ):
            raise SpecError(file, f"unknown graph {step.graph!r}", item=step.id)
        if resolve_functions:
            ref = None
            if isinstance(step, CallStep):
                ref = step.function
            elif isinstance(step, RouteStep):
                ref = step.call
            if ref is not None:
                try:
                    resolve_function(ref)
                except ValueError as exc:
                    raise SpecError(file, str(exc), item=step.id) from None


def load_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(str(path), f"cannot read file ({exc.strerror})") from None
    try:
        return safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise SpecError(str(path), f"not valid YAML{where}") from None
