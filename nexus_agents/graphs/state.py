"""The state every compiled graph carries, with the reducers that let parallel branches merge.

Keys that parallel branches write all have a reducer: dictionaries merge (``values``,
``artifacts``, ``attempts``, ``history``, ``approvals``), lists append (``events``,
``errors``) and ``usage`` sums numbers.
"""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

__all__ = ["GraphState", "add_list", "initial_state", "merge_dict", "sum_usage"]


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
