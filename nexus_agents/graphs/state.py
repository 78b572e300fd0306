"""The state every compiled graph carries, with the reducers that let parallel branches merge.

Keys that parallel branches write all have a reducer: dictionaries merge (``values``,
``artifacts``, ``attempts``, ``history``, ``approvals``), lists append (``events``,
``errors``) and ``usage`` sums numbers. The reducers are declared once, on ``GraphState``;
``apply_update`` (a node's update applied by hand, as LangGraph would) and ``changes``
(what a nested graph added) read them from there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypedDict, get_type_hints

__all__ = [
    "REDUCERS",
    "GraphState",
    "add_list",
    "apply_update",
    "changes",
    "initial_state",
    "merge_dict",
    "nested_start",
    "sum_usage",
]


def merge_dict(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Shallow merge; the right side wins on a shared key."""
    out = dict(left or {})
    out.update(right or {})
    return out


def add_list(left: list[Any] | None, right: list[Any] | None) -> list[Any]:
    return [*(left or []), *(right or [])]


def sum_usage(left: dict[str, float] | None, right: dict[str, float] | None) -> dict[str, float]:
    """Add numeric counters key by key (calls, tokens, cost)."""
    out = dict(left or {})
    for key, value in (right or {}).items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = out.get(key, 0) + value
    return out


def keep_last(left: Any, right: Any) -> Any:
    return right


class GraphState(TypedDict, total=False):
    inputs: Annotated[dict[str, Any], merge_dict]
    period: Annotated[str | None, keep_last]
    values: Annotated[dict[str, Any], merge_dict]
    artifacts: Annotated[dict[str, dict[str, Any]], merge_dict]
    attempts: Annotated[dict[str, int], merge_dict]
    history: Annotated[dict[str, list[dict[str, Any]]], merge_dict]
    approvals: Annotated[dict[str, dict[str, Any]], merge_dict]
    events: Annotated[list[dict[str, Any]], add_list]
    usage: Annotated[dict[str, float], sum_usage]
    errors: Annotated[list[str], add_list]
    status: Annotated[str, keep_last]


# key -> its reducer, as declared on GraphState
REDUCERS: dict[str, Callable[[Any, Any], Any]] = {
    key: hint.__metadata__[0]
    for key, hint in get_type_hints(GraphState, include_extras=True).items()
}


def apply_update(state: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``state`` with ``update`` applied through the state's reducers (a new dict; a key
    without a reducer is replaced)."""
    out = dict(state)
    for key, value in update.items():
        reducer = REDUCERS.get(key)
        out[key] = value if reducer is None or key not in out else reducer(out[key], value)
    return out


def nested_start(state: Mapping[str, Any]) -> dict[str, Any]:
    """The state a nested graph (a parallel branch, a sub-graph step) starts from: the
    parent's values as they are and its accumulating keys (``events``, ``errors``,
    ``usage``) empty, so ``changes(start, end)`` is exactly what the nested graph added."""
    out: dict[str, Any] = {}
    for key, reducer in REDUCERS.items():
        if reducer is add_list:
            out[key] = []
        elif reducer is sum_usage:
            out[key] = {}
        elif reducer is merge_dict:
            out[key] = dict(state.get(key) or {})
        elif key in state:
            out[key] = state[key]
    return out


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """The update that turns ``before`` into ``after`` through the merging reducers:
    changed dictionary entries, appended list items, the growth of ``usage``. Keys that
    are replaced rather than merged (``period``, ``status``) are left out."""
    delta: dict[str, Any] = {}
    for key, reducer in REDUCERS.items():
        old, new = before.get(key), after.get(key)
        if not new:
            continue
        changed: Any
        if reducer is merge_dict:
            changed = {k: v for k, v in new.items() if (old or {}).get(k) != v}
        elif reducer is add_list:
            changed = list(new[len(old or []):])
        elif reducer is sum_usage:
            base = old or {}
            changed = {k: v - base.get(k, 0) for k, v in new.items() if base.get(k) != v}
        else:
            continue
        if changed:
            delta[key] = changed
    return delta


def initial_state(inputs: dict[str, Any] | None = None, period: str | None = None) -> GraphState:
    return GraphState(
        inputs=dict(inputs or {}),
        period=period,
        values={},
        artifacts={},
        attempts={},
        history={},
        approvals={},
        events=[],
        usage={},
        errors=[],
        status="running",
    )
