"""A loop's attempt records, kept in the run state under ``history[<loop id>]``.

One record per attempt: its number, the result the loop checked (``PASS`` / ``FAIL``...)
and the artifacts its body steps wrote. A later attempt overwrites those artifacts in the
state, so the record of an attempt that is followed by another one copies them. The record
of a loop's last attempt names its steps instead (``steps``): their artifacts are still
the run's artifacts under the same step ids, and every later checkpoint of the run then
holds them once instead of twice. A loop body is entered only through its loop, whose
entry copies them into the record before a new pass could overwrite them.

Readers take records through ``with_artifacts`` / ``history_with_artifacts`` and always
see the artifacts in place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["attempt_record", "by_reference", "history_with_artifacts", "with_artifacts"]


def attempt_record(
    attempt: int,
    result: Any,
    steps: Sequence[str],
    artifacts: Mapping[str, Any],
    *,
    last: bool,
) -> dict[str, Any]:
    """The record of ``attempt``: the artifacts of ``steps`` copied, or named when it is
    the loop's ``last`` attempt (they stay in the state as they are)."""
    record: dict[str, Any] = {"attempt": attempt, "result": result}
    if last:
        record["steps"] = list(_of(steps, artifacts))
    else:
        record["artifacts"] = _of(steps, artifacts)
    return record


def by_reference(records: Sequence[Mapping[str, Any]]) -> bool:
    """Whether some record names its steps instead of holding their artifacts."""
    return any("artifacts" not in r for r in records)


def with_artifacts(record: Mapping[str, Any], artifacts: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` holding its artifacts (taken from the run's ``artifacts`` when named)."""
    if "artifacts" in record:
        return dict(record)
    out = {k: v for k, v in record.items() if k != "steps"}
    out["artifacts"] = _of(record.get("steps") or [], artifacts)
    return out


def history_with_artifacts(
    records: Sequence[Mapping[str, Any]], artifacts: Mapping[str, Any]
) -> list[dict[str, Any]]:
    return [with_artifacts(r, artifacts) for r in records]


def _of(steps: Sequence[str], artifacts: Mapping[str, Any]) -> dict[str, Any]:
    """The artifacts of ``steps`` that the run has, in the order of ``steps``."""
    return {sid: artifacts[sid] for sid in steps if sid in artifacts}
