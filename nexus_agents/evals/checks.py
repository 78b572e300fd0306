"""Turn a case's expectations and a target's output into scored checks.

Assertion semantics: a path without a wildcard selects one value; a path with a
wildcard selects the list of every matched value. Then ``equals`` compares that value;
``contains`` looks inside it (item of a list, substring of a string, key of an
object); ``in``, ``range`` and ``matches`` apply to the value, or to every item of the
list a wildcard selected. ``exists`` / ``not_exists`` test whether anything matched.
Booleans never equal numbers (``true`` is not ``1``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from nexus_agents.evals.case import (
    Assertion,
    Budgets,
    ExpectedToolCall,
    ForbiddenRule,
    Rubric,
    TrajectoryExpectation,
)
from nexus_agents.evals.jsonpath import parse_path
from nexus_agents.evals.results import EvalCheckResult
from nexus_agents.evals.target import Trajectory
from nexus_agents.llm.interface import Usage


def show(value: Any, limit: int = 120) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def same(a: Any, b: Any) -> bool:
    """Equality that keeps booleans apart from numbers, recursively."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# -- assertions --------------------------------------------------------------------------


def check_assertion(assertion: Assertion, document: Any) -> EvalCheckResult:
    path = parse_path(assertion.path)
    found = path.find(document)
    ok, reason, actual = _evaluate(assertion, found, path.has_wildcard)
    return EvalCheckResult(
        kind="assertion",
        name=assertion.label,
        status="passed" if ok else "failed",
        weight=assertion.weight,
        gate=assertion.gate,
        reason="" if ok else f"{assertion.path}: {reason}",
        actual=actual,
    )


def _evaluate(a: Assertion, found: list[Any], many: bool) -> tuple[bool, str, Any]:
    if a.op == "exists":
        return bool(found), "nothing at this path", found if many else (found or [None])[0]
    if a.op == "not_exists":
        shown = found if many else (found or [None])[0]
        return not found, f"expected nothing, found {show(shown)}", shown
    if not found:
        return False, "nothing at this path", None
    actual: Any = found if many else found[0]
    items = found if many else [found[0]]
    if a.op == "equals":
        return same(actual, a.value), f"expected {show(a.value)}, got {show(actual)}", actual
    if a.op == "contains":
        return _contains(actual, a.value), _contains_reason(actual, a.value), actual
    if a.op == "in":
        bad = [x for x in items if not any(same(x, v) for v in a.value)]
        shown = bad if many else (bad[0] if bad else None)
        return not bad, f"{show(shown)} is not one of {show(a.value)}", actual
    if a.op == "range":
        bad_reasons = [r for x in items if (r := _range_problem(x, a.min, a.max))]
        return not bad_reasons, "; ".join(bad_reasons[:3]), actual
    pattern = re.compile(str(a.value))
    bad = [x for x in items if not (isinstance(x, str) and pattern.search(x))]
    return not bad, f"{show(bad[0]) if bad else ''} does not match {a.value!r}", actual


def _contains(actual: Any, value: Any) -> bool:
    if isinstance(actual, list):
        return any(same(item, value) for item in actual)
    if isinstance(actual, str):
        return isinstance(value, str) and value in actual
    if isinstance(actual, dict):
        return isinstance(value, str) and value in actual
    return False


def _contains_reason(actual: Any, value: Any) -> str:
    if isinstance(actual, list | str | dict):
        return f"{show(actual)} does not contain {show(value)}"
    return f"cannot look inside {show(actual)} (not a list, string or object)"


def _range_problem(value: Any, low: float | None, high: float | None) -> str:
    if not _is_number(value):
        return f"{show(value)} is not a number"
    if low is not None and value < low:
        return f"{show(value)} is below min {low:g}"
    if high is not None and value > high:
        return f"{show(value)} is above max {high:g}"
    return ""


# -- trajectory --------------------------------------------------------------------------


def check_trajectory(expect: TrajectoryExpectation, actual: Trajectory) -> list[EvalCheckResult]:
    results: list[EvalCheckResult] = []

    def add(name: str, ok: bool, reason: str, value: Any = None) -> None:
        results.append(
            EvalCheckResult(
                kind="trajectory",
                name=name,
                status="passed" if ok else "failed",
                weight=expect.weight,
                gate=expect.gate,
                reason="" if ok else reason,
                actual=value,
            )
        )

    if expect.agents is not None:
        ran = actual.agents
        if expect.agents_mode == "exact":
            ok = ran == expect.agents
            reason = f"expected exactly {show(expect.agents)}, ran {show(ran)}"
        else:
            missing = _first_missing(expect.agents, ran)
            ok = missing is None
            reason = (
                f"{missing!r} not found in order; expected {show(expect.agents)} within {show(ran)}"
            )
        add(f"agents ({expect.agents_mode})", ok, reason, ran)

    used: set[int] = set()
    for want in expect.tool_calls:
        index = _find_call(want, actual, used)
        if index is not None:
            used.add(index)
        same_tool = [c.args for c in actual.tool_calls if c.tool == want.tool]
        by = f" by {want.agent}" if want.agent else ""
        reason = (
            f"no call of {want.tool}{by} with arguments including {show(want.args)}; "
            f"calls of {want.tool}: {show(same_tool) if same_tool else 'none'}"
        )
        add(f"tool call {want.tool}{by}", index is not None, reason)

    for rule in expect.forbidden:
        offences = _offences(rule, actual)
        add(rule.label, not offences, "; ".join(offences[:3]))
    return results


def _first_missing(expected: list[str], ran: list[str]) -> str | None:
    it = iter(ran)
    for name in expected:
        if not any(name == r for r in it):
            return name
    return None


def _subset(want: Any, have: Any) -> bool:
    if isinstance(want, dict):
        return isinstance(have, dict) and all(
            k in have and _subset(v, have[k]) for k, v in want.items()
        )
    return same(want, have)


def _find_call(want: ExpectedToolCall, actual: Trajectory, used: set[int]) -> int | None:
    for i, call in enumerate(actual.tool_calls):
        if i in used or call.tool != want.tool:
            continue
        if want.agent is not None and call.agent != want.agent:
            continue
        if _subset(want.args, call.args):
            return i
    return None


def _offences(rule: ForbiddenRule, actual: Trajectory) -> list[str]:
    out: list[str] = []
    if rule.action is not None:
        for act in actual.actions:
            if act.action != rule.action or (rule.agent and act.agent != rule.agent):
                continue
            if rule.unless_approved and act.approved:
                continue
            by = f" by {act.agent}" if act.agent else ""
            cond = " without approval" if rule.unless_approved else ""
            out.append(f"action {act.action!r} executed{by}{cond}")
    else:
        for call in actual.tool_calls:
            if call.tool == rule.tool and not (rule.agent and call.agent != rule.agent):
                by = f" by {call.agent}" if call.agent else ""
                out.append(f"tool {call.tool!r} called{by} with {show(call.args)}")
    return out


# -- budgets and rubrics -----------------------------------------------------------------


def check_budgets(budgets: Budgets, usage: Usage, wall_seconds: float) -> list[EvalCheckResult]:
    limits: list[tuple[str, float | None, float, str]] = [
        ("tokens", budgets.max_tokens, usage.total_tokens, "{:g} tokens"),
        ("cost", budgets.max_cost_usd, usage.cost_usd, "${:.4f}"),
        ("model calls", budgets.max_model_calls, usage.calls, "{:g} model calls"),
        ("wall time", budgets.max_wall_seconds, wall_seconds, "{:.2f} s"),
    ]
    results = []
    for name, limit, used, fmt in limits:
        if limit is None:
            continue
        ok = used <= limit
        results.append(
            EvalCheckResult(
                kind="budget",
                name=f"{name} <= {fmt.format(limit)}",
                status="passed" if ok else "failed",
                weight=budgets.weight,
                gate=budgets.gate,
                reason=""
                if ok
                else f"used {fmt.format(used)}, over the limit of {fmt.format(limit)}",
                actual=used,
            )
        )
    return results


def skipped_rubric(rubric: Rubric, reason: str) -> EvalCheckResult:
    return EvalCheckResult(
        kind="rubric",
        name=rubric.name,
        status="skipped",
        weight=rubric.weight,
        gate=rubric.gate,
        reason=reason,
    )
