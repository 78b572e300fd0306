"""Faults the mock model server can inject, and the schedule that says when.

A schedule is a list (item ``i`` applies to request ``i + 1``), a mapping from the
1-based request number to a fault, or a function ``number -> fault``. A fault is a
``FaultKind``, its name as a string, a ``Fault`` with parameters, or ``None``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "FAULT_NAMES",
    "Fault",
    "FaultKind",
    "FaultLike",
    "FaultSchedule",
    "as_fault",
    "break_instance",
    "fault_at",
    "validate_schedule",
]


class FaultKind(StrEnum):
    RATE_LIMIT = "rate_limit"  # 429 with a Retry-After header
    SERVER_ERROR = "server_error"  # 500
    SLOW = "slow"  # answers only after ``delay_s`` (past the client's timeout)
    RESET = "reset"  # connection closed without a response
    INVALID_JSON = "invalid_json"  # 200, content is not JSON
    SCHEMA_INVALID = "schema_invalid"  # 200, JSON missing required fields / wrong types
    REFUSAL = "refusal"  # 200, message.refusal set and content null
    LENGTH = "length"  # 200, finish_reason "length" and truncated JSON


FAULT_NAMES: tuple[str, ...] = tuple(kind.value for kind in FaultKind)


class Fault(BaseModel):
    """One injected fault; unset parameters fall back to the server's defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: FaultKind
    retry_after_s: float | None = Field(default=None, ge=0, description="rate_limit only")
    delay_s: float | None = Field(default=None, ge=0, description="slow only")
    message: str | None = Field(default=None, description="error or refusal text")


FaultLike = Fault | FaultKind | str | None
FaultSchedule = Sequence[FaultLike] | Mapping[int, FaultLike] | Callable[[int], FaultLike]


def as_fault(value: FaultLike) -> Fault | None:
    """Normalise one schedule entry; unknown names raise ``ValueError`` listing the known ones."""
    if value is None or isinstance(value, Fault):
        return value
    try:
        return Fault(kind=FaultKind(value))
    except ValueError:
        raise ValueError(
            f"unknown fault {value!r}; expected one of {', '.join(FAULT_NAMES)}"
        ) from None


def validate_schedule(schedule: FaultSchedule | None) -> None:
    """Fail early on a list or mapping with an unknown fault name or a bad request number."""
    if schedule is None or callable(schedule):
        return
    if isinstance(schedule, Mapping):
        for number, value in schedule.items():
            if not isinstance(number, int) or number < 1:
                raise ValueError(f"fault schedule keys are 1-based request numbers, got {number!r}")
            as_fault(value)
        return
    if isinstance(schedule, str):
        raise ValueError("a fault schedule is a list, a mapping or a function, not a string")
    for value in schedule:
        as_fault(value)


def fault_at(schedule: FaultSchedule | None, number: int) -> Fault | None:
    """The fault planned for request ``number`` (1-based), if any."""
    if schedule is None:
        return None
    if isinstance(schedule, Mapping):
        return as_fault(schedule.get(number))
    if callable(schedule):
        return as_fault(schedule(number))
    if number <= len(schedule):
        return as_fault(schedule[number - 1])
    return None


def break_instance(instance: Any, schema: Mapping[str, Any] | None) -> Any:
    """Turn a schema-valid value into one that misses a required field and has a wrong type.

    The first required property is dropped and another property gets a value of a
    different JSON type; a value that is not an object (or an object without required
    fields) is replaced by a value of the wrong JSON type.
    """
    required = _top_level_required(schema)
    if not isinstance(instance, dict):
        return {"unexpected": 12345}
    if not required or not instance:
        return ["not", "an", "object"]
    broken = dict(instance)
    broken.pop(required[0], None)
    others = [key for key in broken if key != required[0]]
    if others:
        broken[others[0]] = _wrong_type(broken[others[0]])
    return broken


def _top_level_required(schema: Mapping[str, Any] | None) -> list[str]:
    node: Any = schema or {}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        for part in ref[2:].split("/"):
            node = node.get(part, {}) if isinstance(node, Mapping) else {}
        node = node if isinstance(node, Mapping) else {}
    return [str(name) for name in node.get("required", [])]


def _wrong_type(value: Any) -> Any:
    if isinstance(value, str) or value is None:
        return 12345
    if isinstance(value, bool | int | float):
        return "not a number"
    if isinstance(value, list):
        return "not a list"
    return "not an object"
