"""The eval case file: what to run, on which recorded inputs, and what to expect.

Cases are YAML (or JSON) files under ``evals/cases/``. Paths inside a case are relative:
``inputs.workspace`` to ``evals/fixtures/`` and ``cassette`` to ``evals/cassettes/``.
Bump ``version`` whenever a case changes meaning; baseline comparisons treat a new
version as a different case.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from nexus_agents._yaml import safe_load
from nexus_agents.evals.jsonpath import JsonPathError, parse_path
from nexus_agents.exceptions import SpecError

MatchMode = Literal["strict", "loose"]
AssertionOp = Literal["equals", "in", "contains", "range", "matches", "exists", "not_exists"]

_ID = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")


def _relative_path(value: str, what: str) -> str:
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or not value.strip():
        raise ValueError(f"{what} must be a relative path without '..', got {value!r}")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GraphTarget(_Model):
    graph: str = Field(min_length=1, description="name of a graph spec")


class AgentTarget(_Model):
    agent: str = Field(min_length=1, description="slug or display name of one agent")


class CaseInputs(_Model):
    workspace: str = Field(description="fixture folder under evals/fixtures/")
    alert: dict[str, Any] | None = Field(default=None, description="alert payload, if any")
    period: str | None = Field(default=None, description="period label, e.g. 2025-W14")
    extra: dict[str, Any] = Field(
        default_factory=dict, description="further inputs of a graph run, e.g. item_id"
    )
    approvals: dict[str, str] = Field(
        default_factory=dict,
        description="decision to give per approval id when the run waits, e.g. deploy_approval: approve",
    )
    unattended: bool = Field(
        default=False, description="take each approval's timeout default instead of waiting"
    )

    @field_validator("workspace")
    @classmethod
    def _workspace(cls, value: str) -> str:
        return _relative_path(value, "workspace")


class Assertion(_Model):
    """A check on the produced output, addressed by a JSON path."""

    path: str = Field(description="JSON path, e.g. $.artifacts.triage.narrative.severity")
    op: AssertionOp
    value: Any = Field(default=None, description="operand of equals / in / contains / matches")
    min: float | None = None
    max: float | None = None
    weight: float = Field(default=1.0, ge=0)
    gate: bool = True
    name: str | None = Field(default=None, description="label in reports; defaults to path + op")

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        try:
            parse_path(value)
        except JsonPathError as exc:
            raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _operands(self) -> Assertion:
        op = self.op
        if op in ("equals", "contains") and "value" not in self.model_fields_set:
            raise ValueError(f"op {op!r} needs 'value'")
        if op == "in" and not isinstance(self.value, list):
            raise ValueError("op 'in' needs 'value' to be a list")
        if op == "matches":
            if not isinstance(self.value, str):
                raise ValueError("op 'matches' needs 'value' to be a regular expression")
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {self.value!r}: {exc}") from None
        if op == "range":
            if self.min is None and self.max is None:
                raise ValueError("op 'range' needs 'min', 'max' or both")
            if self.min is not None and self.max is not None and self.min > self.max:
                raise ValueError(f"range min {self.min} is above max {self.max}")
        elif self.min is not None or self.max is not None:
            raise ValueError(f"'min' / 'max' only apply to op 'range', not {op!r}")
        return self

    @property
    def label(self) -> str:
        return self.name or f"{self.path} {self.op}"


class ExpectedToolCall(_Model):
    tool: str
    agent: str | None = None
    args: dict[str, Any] = Field(
        default_factory=dict, description="subset of the arguments the call must carry"
    )


class ForbiddenRule(_Model):
    """An action or tool call that must not happen (optionally: unless approved)."""

    action: str | None = None
    tool: str | None = None
    agent: str | None = None
    unless_approved: bool = Field(
        default=False, description="allow the action when a human approval was recorded"
    )

    @model_validator(mode="after")
    def _one_target(self) -> ForbiddenRule:
        if (self.action is None) == (self.tool is None):
            raise ValueError("give exactly one of 'action' or 'tool'")
        if self.unless_approved and self.tool is not None:
            raise ValueError("'unless_approved' applies to actions, not tool calls")
        return self

    @property
    def label(self) -> str:
        what = f"action {self.action}" if self.action else f"tool {self.tool}"
        who = f" by {self.agent}" if self.agent else ""
        cond = " without approval" if self.unless_approved else ""
        return f"no {what}{who}{cond}"


class TrajectoryExpectation(_Model):
    agents: list[str] | None = Field(default=None, description="agents in order")
    agents_mode: Literal["exact", "subsequence"] = "subsequence"
    tool_calls: list[ExpectedToolCall] = Field(default_factory=list)
    forbidden: list[ForbiddenRule] = Field(default_factory=list)
    weight: float = Field(default=1.0, ge=0, description="weight of each trajectory check")
    gate: bool = True


class Budgets(_Model):
    max_tokens: int | None = Field(default=None, ge=0)
    max_cost_usd: float | None = Field(default=None, ge=0)
    max_model_calls: int | None = Field(default=None, ge=0)
    max_wall_seconds: float | None = Field(default=None, gt=0)
    weight: float = Field(default=1.0, ge=0, description="weight of each budget check")
    gate: bool = True


class Rubric(_Model):
    """A model-judged criterion; only evaluated in live runs (skipped in replay)."""

    name: str
    judge_model: str
    threshold: float = Field(ge=0, le=1)
    criteria: str = Field(min_length=1)
    path: str = Field(default="$.artifacts", description="JSON path of what the judge reads")
    weight: float = Field(default=1.0, ge=0)
    gate: bool = False

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        try:
            parse_path(value)
        except JsonPathError as exc:
            raise ValueError(str(exc)) from None
        return value


class Expectations(_Model):
    assertions: list[Assertion] = Field(default_factory=list)
    trajectory: TrajectoryExpectation | None = None
    budgets: Budgets | None = None
    rubrics: list[Rubric] = Field(default_factory=list)


class EvalCase(_Model):
    """One eval case file."""

    id: str = Field(description="unique, lower-case: letters, digits, '.', '_', '-'")
    version: int = Field(ge=1, description="bump whenever the case changes meaning")
    title: str = Field(min_length=1)
    tags: list[str] = Field(default_factory=list)
    target: GraphTarget | AgentTarget
    config: dict[str, Any] = Field(
        default_factory=dict, description="dotted configuration overrides, e.g. llm.model"
    )
    now: datetime = Field(description="frozen clock of the run (ISO 8601 with offset)")
    inputs: CaseInputs
    cassette: str | None = Field(default=None, description="recording under evals/cassettes/")
    match: MatchMode = Field(default="strict", description="how replay matches requests")
    allow_unplayed: bool = Field(
        default=False, description="do not fail when recorded interactions stay unplayed"
    )
    expectations: Expectations = Field(default_factory=Expectations)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"id {value!r} must be lower-case letters, digits, '.', '_', '-'")
        return value

    @field_validator("now")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("'now' needs a UTC offset, e.g. 2025-04-07T09:00:00Z")
        return value

    @field_validator("cassette")
    @classmethod
    def _cassette(cls, value: str | None) -> str | None:
        return None if value is None else _relative_path(value, "cassette")

    @property
    def target_name(self) -> str:
        t = self.target
        return f"graph:{t.graph}" if isinstance(t, GraphTarget) else f"agent:{t.agent}"


def case_json_schema() -> dict[str, Any]:
    """The JSON Schema of a case file (published as ``evals/schema/case.schema.json``)."""
    schema = EvalCase.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://nexus-agents.dev/schema/eval-case.json"
    return schema


def render_case_schema() -> str:
    return json.dumps(case_json_schema(), indent=2, sort_keys=True) + "\n"


def write_case_schema(path: str | Path) -> bool:
    """Write the schema to ``path``; return True when the file changed."""
    target = Path(path)
    text = render_case_schema()
    if target.is_file() and target.read_text(encoding="utf-8") == text:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    return True


def load_case(path: str | Path) -> EvalCase:
    """Read one case file; errors name the file and the field."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(str(file), f"cannot read: {exc.strerror or exc}") from None
    try:
        data = json.loads(text) if file.suffix == ".json" else safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise SpecError(
            str(file), f"not valid {'JSON' if file.suffix == '.json' else 'YAML'}: {exc}"
        ) from None
    if not isinstance(data, dict):
        raise SpecError(str(file), "a case must be a mapping at the top level")
    try:
        return EvalCase.model_validate(data)
    except ValidationError as exc:
        raise SpecError(str(file), _first_error(exc), item=data.get("id")) from None


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    err = errors[0]
    # A union (target) reports one error per branch; the field path is what helps most.
    loc = ".".join(str(p) for p in err["loc"] if not str(p).endswith("Target"))
    msg = err["msg"].removeprefix("Value error, ")
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"field {loc!r}: {msg}{more}"


def load_cases(
    cases_dir: str | Path,
    *,
    ids: list[str] | None = None,
    tags: list[str] | None = None,
) -> list[tuple[EvalCase, Path]]:
    """Every case under ``cases_dir`` (recursively), filtered by id and / or tag.

    Ids must be unique; an id asked for that does not exist is an error.
    """
    root = Path(cases_dir)
    if not root.is_dir():
        raise SpecError(str(root), "cases folder not found")
    files = sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml", ".json")
    )
    loaded: list[tuple[EvalCase, Path]] = []
    seen: dict[str, Path] = {}
    for file in files:
        case = load_case(file)
        if case.id in seen:
            raise SpecError(str(file), f"id {case.id!r} is also used by {seen[case.id]}")
        seen[case.id] = file
        loaded.append((case, file))
    if ids:
        missing = sorted(set(ids) - set(seen))
        if missing:
            from nexus_agents.exceptions import UnknownNameError

            raise UnknownNameError("eval case", missing[0], list(seen))
        loaded = [(c, p) for c, p in loaded if c.id in ids]
    if tags:
        loaded = [(c, p) for c, p in loaded if set(tags) & set(c.tags)]
    return loaded
