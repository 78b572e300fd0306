"""Incident runs opened and closed by alerts from a monitoring system.

One alert key (``source`` + fingerprint / dedup key / id) has at most one open incident
run. Its runs use the thread ids ``incident:<source>:<key>``, then ``...:2``, ``...:3``
for the runs opened after earlier ones were closed. A firing alert whose key has an open
run starts nothing (a flood of repeats is one run); a resolved alert closes the open run
(an ``alert closed`` event with the reason; a run waiting for an approval, failed or
abandoned is marked ``cancelled``) and is a no-op when none is open. A run executing
right now keeps executing, but its key is closed, so the next firing opens a new run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from nexus_agents.artifacts.facts import Severity
from nexus_agents.exceptions import NexusError, RunBusyError
from nexus_agents.runs.engine import RunResult
from nexus_agents.runs.store import RunRecord, RunStore
from nexus_agents.tools.alert_sources import SourceAlert, adapt
from nexus_agents.tools.alerts import receive_alert
from nexus_agents.tools.severity import SeverityFloor, floor_of

__all__ = [
    "AlertOutcome",
    "InFlight",
    "StartRun",
    "check_alerts",
    "close_incident",
    "open_incident",
    "receive_alerts",
]

CLOSED_STEP, CLOSED_EVENT = "alert", "closed"
MAX_GENERATIONS = 10_000
StartRun = Callable[[str, dict[str, Any]], Awaitable[RunResult]]
"""Starts the incident run ``thread_id`` for the checked ``alert`` mapping."""


class AlertOutcome(BaseModel):
    """What one alert of a payload did."""

    model_config = ConfigDict(extra="forbid")

    source: str
    key: str
    status: Literal["firing", "resolved", "acknowledged"]
    action: Literal["started", "already_open", "closed", "nothing_open", "ignored"]
    run_id: str | None = None
    run_status: str | None = None
    severity_floor: Severity | None = None
    floor_reasons: list[str] = Field(default_factory=list)
    detail: str = ""


@dataclass
class InFlight:
    """A run this process is starting for an alert key; ``resolved`` is the reason when
    the alert resolved before the run had a record to close."""

    thread_id: str
    resolved: str | None = None


def _thread_id(base: str, generation: int) -> str:
    return base if generation == 1 else f"{base}:{generation}"


async def _closed(store: RunStore, run_id: str) -> bool:
    return any(e.step == CLOSED_STEP for e in await store.events_named(run_id, CLOSED_EVENT))


async def open_incident(store: RunStore, base: str) -> tuple[RunRecord | None, str]:
    """The open run of an alert key (or None) and the thread id its next run would take."""
    latest: RunRecord | None = None
    for generation in range(1, MAX_GENERATIONS + 1):
        record = await store.get_run(_thread_id(base, generation))
        if record is None:
            if latest is not None and not await _closed(store, latest.run_id):
                return latest, _thread_id(base, generation)
            return None, _thread_id(base, generation)
        latest = record
    raise NexusError(f"alert {base!r} opened {MAX_GENERATIONS} runs; not opening more")


async def close_incident(
    store: RunStore, record: RunRecord, reason: str, *, mark: bool = True
) -> str:
    """Close an alert's open run; says what became of it. ``mark=False``: its ``closed``
    event is already written, only cancel a run that waits for nobody now."""
    if mark:
        await store.add_event(record.run_id, CLOSED_STEP, CLOSED_EVENT, detail={"reason": reason})
    if record.status in ("succeeded", "cancelled"):
        return f"the run had {record.status}; its alert is closed"
    try:
        lease = await store.acquire_lease(record.run_id)
    except RunBusyError:
        return "the run is executing; its alert is closed and nothing more is started for it"
    try:
        await store.set_status(record.run_id, "cancelled", error=f"closed: {reason}")
    finally:
        await store.release_lease(lease)
    return f"the {record.status} run was cancelled"


def check_alerts(
    payload: Any, *, source: str, now: Sequence[datetime], tz: tzinfo
) -> list[tuple[SourceAlert, SeverityFloor | None]]:
    """The alerts of ``payload``, each firing one checked (``receive_alert``) with its
    floor; raises ``DataError`` naming the field of the first bad one."""
    out: list[tuple[SourceAlert, SeverityFloor | None]] = []
    for item in adapt(payload, source):
        floor = None
        if item.status == "firing":
            floor = floor_of(receive_alert(item.alert, now=now, tz=tz).alert)
        out.append((item, floor))
    return out


async def receive_alerts(
    store: RunStore,
    payload: Any,
    *,
    source: str,
    start: StartRun,
    now: Sequence[datetime],
    tz: tzinfo,
    in_flight: dict[str, InFlight],
) -> list[AlertOutcome]:
    """Act on every alert of ``payload``: open, leave or close its incident run.

    The whole payload is checked first (a ``DataError`` names the field), so a bad alert
    in a group changes nothing. ``in_flight`` maps the keys whose run this process is
    starting right now to its thread id (shared by concurrent calls).
    """
    outcomes = []
    for item, floor in check_alerts(payload, source=source, now=now, tz=tz):
        outcome = AlertOutcome(source=item.source, key=item.key, status=item.status, action="ignored")
        if floor is not None:
            outcome.severity_floor, outcome.floor_reasons = floor.floor, list(floor.reasons)
            outcomes.append(await _fire(store, item, outcome, start, in_flight))
        elif item.status == "resolved":
            outcomes.append(await _resolve(store, item, outcome, in_flight))
        else:
            outcome.detail = "acknowledged at the source; nothing to change"
            outcomes.append(outcome)
    return outcomes


async def _fire(
    store: RunStore,
    item: SourceAlert,
    outcome: AlertOutcome,
    start: StartRun,
    in_flight: dict[str, InFlight],
) -> AlertOutcome:
    base = item.thread_base
    if base in in_flight:  # being started by a concurrent call of this process
        outcome.action, outcome.run_id = "already_open", in_flight[base].thread_id
        outcome.run_status = "running"
        return outcome
    starting = in_flight[base] = InFlight(base)
    try:
        record, thread_id = await open_incident(store, base)
        if record is not None:
            outcome.action, outcome.run_id, outcome.run_status = "already_open", record.run_id, record.status
            return outcome
        starting.thread_id = thread_id
        try:
            result = await start(thread_id, item.alert)
        except RunBusyError:  # another process started it a moment ago
            outcome.action, outcome.run_id, outcome.run_status = "already_open", thread_id, "running"
            return outcome
        outcome.action, outcome.run_id, outcome.run_status = "started", result.run_id, result.status
        outcome.detail = result.error or ""
        # resolved while it started: before its record existed (noted here) or after
        # (its ``closed`` event is written); a run that waits now waits for nobody
        early = starting.resolved
        if early is not None or (
            result.status in ("waiting_approval", "failed") and await _closed(store, result.run_id)
        ):
            record = await store.get_run(result.run_id)
            if record is not None:
                reason = early or "the alert resolved while the run executed"
                outcome.detail = await close_incident(store, record, reason, mark=early is not None)
                outcome.run_status = (await store.get_run(result.run_id) or record).status
        return outcome
    finally:
        in_flight.pop(base, None)


async def _resolve(
    store: RunStore, item: SourceAlert, outcome: AlertOutcome, in_flight: dict[str, InFlight]
) -> AlertOutcome:
    reason = f"the alert resolved at its source ({item.source})"
    record, _ = await open_incident(store, item.thread_base)
    starting = in_flight.get(item.thread_base)
    if record is None and starting is not None:
        # its run is being started here and has no record yet: closed once start returns
        starting.resolved = reason
        outcome.action, outcome.run_id = "closed", starting.thread_id
        outcome.detail = "its run is being started; it is closed as soon as it has a record"
        return outcome
    if record is None:
        outcome.action = "nothing_open"
        outcome.detail = "no open incident run for this alert"
        return outcome
    outcome.detail = await close_incident(store, record, reason)
    outcome.action, outcome.run_id = "closed", record.run_id
    closed = await store.get_run(record.run_id)
    outcome.run_status = closed.status if closed else None
    return outcome
