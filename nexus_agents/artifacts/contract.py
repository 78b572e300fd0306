"""Per-call answer contracts: rules on a model's answer that depend on the facts of one call.

Artifacts state them (``Artifact.answer_contract``); ``llm.run_structured`` applies them.

A narrative model's JSON schema is fixed per class, but some rules depend on the facts
of one call: a market brief may cite only the sources it was given, a first developer
attempt has no QA issues to address. An ``AnswerContract`` states such rules once and
is used twice, so what the model is shown and what code checks cannot drift apart:

* ``contract_schema`` writes the rules into the JSON schema sent with the call (enums of
  the allowed ids, item bounds, each rule's text in the field's ``description``) and
  removes the fields code owns;
* ``fill_owned`` sets the code-owned fields in the answer before it is validated;
* ``check_contract`` lists every place where an answer breaks a rule, naming the rule,
  the offending value and the allowed values.

A path names a place in the answer: ``trends[].source_ids[]`` is every source id of
every trend; ``options[].option`` is the ``option`` field of every item of ``options``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AnswerContract",
    "CodeOwned",
    "FieldRule",
    "check_contract",
    "contract_schema",
    "fill_owned",
]

_SHOWN_VALUES = 20  # allowed values listed in one message


@dataclass(frozen=True)
class FieldRule:
    """The values at ``path`` must be among ``allowed`` and/or the list there is bounded."""

    path: str
    rule: str = field(default="", compare=False)
    allowed: tuple[Any, ...] | None = None
    min_items: int | None = None
    max_items: int | None = None

    def __post_init__(self) -> None:
        if self.allowed is not None and not self.allowed:
            raise ValueError(f"{self.path}: an empty set of allowed values; bound the list instead")
        if self.allowed is None and self.min_items is None and self.max_items is None:
            raise ValueError(f"{self.path}: a rule needs allowed values or item bounds")


@dataclass(frozen=True)
class CodeOwned:
    """A field code fills in; the model does not see it.

    ``value`` is the field's value; for a field of list items (``options[].option``)
    ``by_position`` gives the value of each item in order instead.
    """

    path: str
    value: Any = None
    by_position: tuple[Any, ...] | None = None
    why: str = ""


@dataclass(frozen=True)
class AnswerContract:
    rules: tuple[FieldRule, ...] = ()
    owned: tuple[CodeOwned, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.rules or self.owned)


# --- the schema sent --------------------------------------------------------------------


def contract_schema(schema: dict[str, Any], contract: AnswerContract) -> dict[str, Any]:
    """A copy of ``schema`` with ``contract`` written into it (the input is not changed)."""
    out = copy.deepcopy(schema)
    defs = out.get("$defs", {})
    for rule in contract.rules:
        for node in _schema_nodes(out, _parse(rule.path), defs):
            _apply_rule(node, rule)
    for owned in contract.owned:
        steps = _parse(owned.path)
        parent_steps, name = steps[:-1], steps[-1]
        if name.endswith("[]"):
            raise ValueError(f"{owned.path}: a code-owned path must end at a field")
        for parent in _schema_nodes(out, parent_steps, defs):
            props = parent.get("properties")
            if isinstance(props, dict):
                props.pop(name, None)
            if isinstance(parent.get("required"), list):
                parent["required"] = [r for r in parent["required"] if r != name]
    return out


def _apply_rule(node: dict[str, Any], rule: FieldRule) -> None:
    if rule.allowed is not None:
        node["enum"] = list(rule.allowed)
    if rule.min_items is not None:
        node["minItems"] = max(int(node.get("minItems", 0)), rule.min_items)
    if rule.max_items is not None:
        current = node.get("maxItems")
        node["maxItems"] = rule.max_items if current is None else min(current, rule.max_items)
        if int(node.get("minItems", 0)) > node["maxItems"]:
            node["minItems"] = node["maxItems"]
    if rule.rule:
        text = str(node.get("description", "")).strip()
        node["description"] = f"{text} Rule: {rule.rule}".strip()


def _parse(path: str) -> list[str]:
    steps = [s for s in path.split(".") if s]
    if not steps:
        raise ValueError("an empty contract path")
    return steps


def _schema_nodes(
    node: dict[str, Any], steps: Sequence[str], defs: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """The schema nodes ``steps`` lead to; shared ``$defs`` on the way are inlined (copied),
    so a rule never reaches other uses of the same definition."""
    branches = node.get("anyOf")
    if isinstance(branches, list):
        for index, branch in enumerate(branches):
            if isinstance(branch, dict) and branch.get("type") != "null":
                branches[index] = _inline(branch, defs)
                yield from _schema_nodes(branches[index], steps, defs)
        return
    if not steps:
        yield node
        return
    step, rest = steps[0], steps[1:]
    name, is_items = (step[:-2], True) if step.endswith("[]") else (step, False)
    props = node.get("properties")
    if not isinstance(props, dict) or name not in props:
        raise ValueError(f"contract path step {step!r} is not a field of the schema")
    child = _inline(props[name], defs)
    props[name] = child
    if is_items:
        items = child.get("items")
        if not isinstance(items, dict):
            raise ValueError(f"contract path step {step!r} is not a list")
        child["items"] = _inline(items, defs)
        child = child["items"]
    yield from _schema_nodes(child, rest, defs)


def _inline(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while "$ref" in node:
        ref = str(node["$ref"])
        target = defs.get(ref.rsplit("/", 1)[-1]) if ref.startswith("#/$defs/") else None
        if not isinstance(target, dict) or seen > 20:
            raise ValueError(f"cannot resolve {ref!r} in the schema")
        rest = {k: v for k, v in node.items() if k != "$ref"}
        node = {**copy.deepcopy(target), **rest}
        seen += 1
    return node


# --- the answer --------------------------------------------------------------------------


def fill_owned(data: Any, contract: AnswerContract) -> Any:
    """``data`` (a parsed answer) with every code-owned field set; other values untouched."""
    if not contract.owned or not isinstance(data, dict):
        return data
    out = copy.deepcopy(data)
    for owned in contract.owned:
        steps = _parse(owned.path)
        parents = list(_data_nodes(out, steps[:-1], "")) if len(steps) > 1 else [("", out)]
        name = steps[-1]
        for index, (_, parent) in enumerate(parents):
            if not isinstance(parent, dict):
                continue
            if owned.by_position is None:
                parent[name] = copy.deepcopy(owned.value)
            elif index < len(owned.by_position):
                parent[name] = copy.deepcopy(owned.by_position[index])
    return out


def check_contract(data: Any, contract: AnswerContract) -> list[str]:
    """What breaks a rule of ``contract`` in ``data``, one readable message per place."""
    problems: list[str] = []
    for rule in contract.rules:
        why = f" ({rule.rule})" if rule.rule else ""
        for where, value in _data_nodes(data, _parse(rule.path), ""):
            if rule.allowed is not None and value not in rule.allowed:
                problems.append(
                    f"{where} must be one of [{_listed(rule.allowed)}]{why}; got {value!r}"
                )
            if isinstance(value, list):
                if rule.max_items is not None and len(value) > rule.max_items:
                    problems.append(
                        f"{where} may have at most {rule.max_items} item(s){why}; got {len(value)}"
                    )
                if rule.min_items is not None and len(value) < rule.min_items:
                    problems.append(
                        f"{where} needs at least {rule.min_items} item(s){why}; got {len(value)}"
                    )
    return problems


def _data_nodes(data: Any, steps: Sequence[str], where: str) -> Iterator[tuple[str, Any]]:
    if not steps:
        yield where or "(root)", data
        return
    step, rest = steps[0], steps[1:]
    name, is_items = (step[:-2], True) if step.endswith("[]") else (step, False)
    if not isinstance(data, dict) or name not in data:
        return
    value = data[name]
    here = f"{where}.{name}" if where else name
    if not is_items:
        yield from _data_nodes(value, rest, here)
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _data_nodes(item, rest, f"{here}[{index}]")


def _listed(values: Sequence[Any]) -> str:
    shown = ", ".join(str(v) for v in values[:_SHOWN_VALUES])
    more = f", ... ({len(values) - _SHOWN_VALUES} more)" if len(values) > _SHOWN_VALUES else ""
    return shown + more
