"""Numbers a narrative states about a fact must agree with that fact.

A model may repeat a fact in its prose ("NPS 31.6"), but it may not state another value
("NPS 95" where the facts say 31.58) nor a value for a fact code did not measure. The
check finds "<fact label> <number>" (and "<number> <label>" for labels of two or more
words, "0 users affected") in every string of the narrative, where the label is a fact's
name with spaces for underscores ("users_affected" -> "users affected", a unit suffix
such as ``_pct`` dropped) or the ``name`` of a named value in a fact list (KPIs). A
stated number agrees when it equals the fact at the precision it was written in, or
within 1 % (a percentage may state a fraction fact x 100).

Counters that number things rather than measure them (attempts, iterations, sprint
numbers, ids) and one-word generic names are not checked: prose names other attempts and
sprints freely.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

__all__ = ["NumberMismatch", "check_narrative_numbers", "fact_labels", "mismatches"]

_UNIT_SUFFIXES = ("_pct", "_ms", "_usd", "_minutes", "_hours", "_days")
_NOT_MEASURES = re.compile(r"(attempt|iteration|sprint_number|_id$|^id$|year|week|version)")
_GENERIC = frozenset(
    {"value", "score", "total", "count", "amount", "target", "previous", "status", "rank", "id"}
)
_NUMBER = r"(-?\d[\d,]*(?:\.\d+)?)\s*(%|k\b|m\b|bn\b)?"
_END = r"(?![\w-]|[.,]\d)"
_FILLER = r"(?:\s*[:=]\s*|\s+(?:is|was|of|at|now|stands at|came in at|reached)\s+|\s+)"
_AFTER = re.compile(rf"^{_FILLER}{_NUMBER}{_END}", re.IGNORECASE)
# "<number> <label>", but not "0 of 10 tasks done" (10 is the whole, not the fact)
_BEFORE = re.compile(rf"(?<![\w.-])(?<!of )(?<!/){_NUMBER}\s+$", re.IGNORECASE)
_NAMED_LISTS = ("name", "label", "metric")
_LIST_VALUES = ("value", "count", "amount")


class NumberMismatch(BaseModel):
    fact: str
    stated: str
    true_value: float | None


def _numeric_field(model: type[BaseModel], name: str) -> bool:
    field = model.model_fields.get(name)
    text = str(field.annotation) if field is not None else ""
    return ("float" in text or "int" in text) and "list" not in text and "dict" not in text


def _labels_of(key: str) -> list[str]:
    base = key
    for suffix in _UNIT_SUFFIXES:
        if key.endswith(suffix):
            base = key[: -len(suffix)]
    labels = {key.replace("_", " "), base.replace("_", " ")}
    return [label for label in labels if label.strip() and label not in _GENERIC]


def fact_labels(facts: BaseModel | dict[str, Any]) -> dict[str, tuple[str, list[float | None]]]:
    """label (lower case) -> (fact name, accepted values); ``None`` means not measured."""
    model = type(facts) if isinstance(facts, BaseModel) else None
    data = facts.model_dump() if isinstance(facts, BaseModel) else dict(facts)
    out: dict[str, tuple[str, list[float | None]]] = {}

    def add(label: str, name: str, value: float | None) -> None:
        label = label.strip().lower()
        if len(label) < 3 or label in _GENERIC:
            return
        _, values = out.setdefault(label, (name, []))
        values.append(value)

    for key, value in data.items():
        if _NOT_MEASURES.search(key):
            continue
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            for label in _labels_of(key):
                add(label, key, float(value))
        elif value is None and model is not None and _numeric_field(model, key):
            for label in _labels_of(key):
                add(label, key, None)
        elif isinstance(value, list):
            for item in value:
                if not isinstance(item, dict):
                    continue
                name: str | None = next(
                    (item[k] for k in _NAMED_LISTS if isinstance(item.get(k), str)), None
                )
                number = next((k for k in _LIST_VALUES if k in item), None)
                if name is None or number is None or isinstance(item[number], bool):
                    continue
                raw = item[number]
                if raw is None or isinstance(raw, int | float):
                    add(name, f"{key}[{name}].{number}", None if raw is None else float(raw))
    return out


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, BaseModel):
        yield from _strings(value.model_dump())
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _agrees(text: str, unit: str | None, truth: float) -> bool:
    stated = float(text.replace(",", ""))
    scale = {"k": 1e3, "m": 1e6, "bn": 1e9}.get((unit or "").lower(), 1.0)
    stated *= scale
    decimals = len(text.split(".")[1]) if "." in text else 0
    candidates = [truth]
    if unit == "%":
        candidates.append(truth * 100)
    for value in candidates:
        half_step = 0.5 * 10**-decimals * scale
        if abs(stated - value) <= half_step + 1e-9 or abs(stated - value) <= 0.01 * abs(value):
            return True
    return False


def _label_pattern(label: str) -> re.Pattern[str]:
    """A fact label as it may be written in prose (spaces, underscores or dashes between words)."""
    escaped = re.escape(label).replace(r"\ ", r"[\s_-]+")
    return re.compile(rf"(?<![\w.:/-]){escaped}(?![\w-])", re.IGNORECASE)


def mismatches(facts: BaseModel | dict[str, Any], narrative: Any) -> list[NumberMismatch]:
    """Every "<label> <number>" in the narrative that contradicts the fact of that label.

    Longer labels are matched first: "new MRR 3,632" is about ``new_mrr``, not ``mrr``.
    """
    labels = fact_labels(facts)
    if not labels:
        return []
    patterns = [(label, _label_pattern(label)) for label in sorted(labels, key=len, reverse=True)]
    found: dict[tuple[str, str], NumberMismatch] = {}
    for text in _strings(narrative):
        taken: list[tuple[int, int]] = []
        for label, pattern in patterns:
            name, values = labels[label]
            known = [v for v in values if v is not None]
            for occurrence in pattern.finditer(text):
                at, to = occurrence.span()
                if any(a <= at and to <= b for a, b in taken):
                    continue
                taken.append((at, to))
                stated = _AFTER.match(text[to:])
                shown = text[at : to + stated.end()] if stated else ""
                if stated is None and " " in label:
                    stated = _BEFORE.search(text[max(0, at - 30) : at])
                    shown = f"{stated.group(0)}{occurrence.group(0)}" if stated else ""
                if stated is None:
                    continue
                number, unit = stated.group(1), stated.group(2)
                if not any(_agrees(number, unit, v) for v in known):
                    mismatch = NumberMismatch(
                        fact=name, stated=shown.strip(), true_value=known[0] if known else None
                    )
                    found[(name, mismatch.stated)] = mismatch
    return list(found.values())


def check_narrative_numbers(facts: BaseModel | dict[str, Any], narrative: Any) -> None:
    """Raise ``ValueError`` naming each contradicted fact, the stated and the true value."""
    wrong = mismatches(facts, narrative)
    if not wrong:
        return
    parts = []
    for m in wrong:
        if m.true_value is None:
            parts.append(f"{m.stated!r} states {m.fact}, which is not measured: state no number")
        else:
            parts.append(f"{m.stated!r} contradicts the fact {m.fact} = {m.true_value:g}")
    raise ValueError("numbers in the narrative must match the facts: " + "; ".join(parts))
