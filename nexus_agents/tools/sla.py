"""Support-ticket and incident SLA checks at a given moment (``as_of``).

Targets (playbook and REFERENCE.md):

- tickets: first response within 4 hours. Answered at most 4 h after creation is on
  time (the KPI's rule); an unanswered ticket is breached once more than 4 h have passed.
- incidents, response (acknowledgement; the resolution when no acknowledgement is
  recorded): P0 15 minutes (our reading of "immediate"), P1 1 hour, P2 4 hours, P3 next
  sprint (no timer). Breached when the response took longer than the target, or none
  came and more than the target has passed.
- escalation: a P0 still unresolved 30 minutes after detection goes to the Studio
  Producer, a P1 unresolved after 2 hours to the Project Shepherd (due once the time
  is reached; for resolved incidents: the resolution took longer than that).
- status page: updated every 15 minutes while open; the next update is due 15 minutes
  after the last recorded one, or (none recorded) at the next 15-minute mark after
  detection.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nexus_agents.artifacts.facts import Severity
from nexus_agents.tools._dates import check_same_kind
from nexus_agents.tools.base import tool

TICKET_FIRST_RESPONSE_HOURS = 4.0
RESPONSE_TARGET_MINUTES: dict[str, int | None] = {"P0": 15, "P1": 60, "P2": 240, "P3": None}
ESCALATION: dict[str, tuple[int, str]] = {
    "P0": (30, "Studio Producer"),
    "P1": (120, "Project Shepherd"),
}
STATUS_UPDATE_MINUTES = 15


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60.0


# --- tickets ----------------------------------------------------------------------------


class Ticket(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    created_at: datetime
    first_response_at: datetime | None = None
    priority: str | None = None

    @model_validator(mode="after")
    def _order(self) -> Ticket:
        if self.first_response_at is not None:
            check_same_kind(
                [("created_at", self.created_at), ("first_response_at", self.first_response_at)]
            )
            if self.first_response_at < self.created_at:
                raise ValueError(f"ticket {self.id!r}: first_response_at is before created_at")
        return self


TicketState = Literal["answered_in_time", "answered_late", "breached_unanswered", "pending"]


class TicketSla(BaseModel):
    id: str
    state: TicketState = Field(
        description="pending = unanswered and still within the target at as_of"
    )
    breached: bool
    due_at: datetime = Field(description="created_at + target")
    response_minutes: float | None = Field(description="minutes to first response, if any")
    elapsed_minutes: float = Field(description="minutes from creation to response or as_of")
    minutes_left: float | None = Field(description="for pending tickets only")


class TicketSlaInput(BaseModel):
    tickets: list[Ticket]
    as_of: datetime = Field(description="the moment of the check; later events do not count")
    target_hours: float = Field(default=TICKET_FIRST_RESPONSE_HOURS, gt=0)

    @model_validator(mode="after")
    def _same_kind(self) -> TicketSlaInput:
        check_same_kind(
            [("as_of", self.as_of)]
            + [(f"tickets[{i}].created_at", t.created_at) for i, t in enumerate(self.tickets)]
        )
        return self


class TicketSlaOutput(BaseModel):
    tickets: list[TicketSla]
    answered_in_time: int
    answered_late: int
    breached_unanswered: int
    pending: int
    not_yet_created: int = Field(description="tickets created after as_of (left out)")
    attainment_pct: float | None = Field(
        description="in time / (in time + late + breached unanswered); pending left out"
    )


def check_ticket(ticket: Ticket, as_of: datetime, target_hours: float) -> TicketSla:
    target = timedelta(hours=target_hours)
    due = ticket.created_at + target
    answered = ticket.first_response_at is not None and ticket.first_response_at <= as_of
    if answered:
        assert ticket.first_response_at is not None
        took = ticket.first_response_at - ticket.created_at
        late = took > target
        return TicketSla(
            id=ticket.id,
            state="answered_late" if late else "answered_in_time",
            breached=late,
            due_at=due,
            response_minutes=_minutes(took),
            elapsed_minutes=_minutes(took),
            minutes_left=None,
        )
    elapsed = as_of - ticket.created_at
    breached = elapsed > target
    return TicketSla(
        id=ticket.id,
        state="breached_unanswered" if breached else "pending",
        breached=breached,
        due_at=due,
        response_minutes=None,
        elapsed_minutes=_minutes(elapsed),
        minutes_left=None if breached else _minutes(target - elapsed),
    )


class _OpenTicket(Protocol):
    @property
    def created_at(self) -> datetime: ...
    @property
    def first_response_at(self) -> datetime | None: ...
    @property
    def resolved_at(self) -> datetime | None: ...


T = TypeVar("T", bound=_OpenTicket)


def waiting_past_sla(
    tickets: Iterable[T], as_of: datetime, target_hours: float = TICKET_FIRST_RESPONSE_HOURS
) -> list[T]:
    """Tickets breaching the first-response SLA right now, oldest first: created by
    ``as_of``, neither answered nor resolved by then, and waiting longer than the target."""
    target = timedelta(hours=target_hours)
    found = [
        t
        for t in tickets
        if t.created_at <= as_of
        and (t.first_response_at is None or t.first_response_at > as_of)
        and (t.resolved_at is None or t.resolved_at > as_of)
        and as_of - t.created_at > target
    ]
    return sorted(found, key=lambda t: t.created_at)


@tool()
def ticket_sla(args: TicketSlaInput) -> TicketSlaOutput:
    """Check support tickets against the first-response SLA (default 4 hours) at as_of.

    Per ticket: answered_in_time (first response at most 4 h after creation),
    answered_late, breached_unanswered (no response and more than 4 h old) or pending
    (no response, still within 4 h, with minutes_left). A response after as_of counts as
    no response; tickets created after as_of are left out. Attainment % leaves pending
    tickets out.
    """
    checked = [
        check_ticket(t, args.as_of, args.target_hours)
        for t in args.tickets
        if t.created_at <= args.as_of
    ]
    count = {s: sum(1 for c in checked if c.state == s) for s in TicketState.__args__}  # type: ignore[attr-defined]
    decided = count["answered_in_time"] + count["answered_late"] + count["breached_unanswered"]
    return TicketSlaOutput(
        tickets=checked,
        answered_in_time=count["answered_in_time"],
        answered_late=count["answered_late"],
        breached_unanswered=count["breached_unanswered"],
        pending=count["pending"],
        not_yet_created=len(args.tickets) - len(checked),
        attainment_pct=None if decided == 0 else 100.0 * count["answered_in_time"] / decided,
    )


# --- incidents --------------------------------------------------------------------------


class Incident(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    severity: Severity
    detected_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    last_status_update_at: datetime | None = None
    title: str = ""
    service: str = ""

    @model_validator(mode="after")
    def _order(self) -> Incident:
        stamps = [
            ("detected_at", self.detected_at),
            ("acknowledged_at", self.acknowledged_at),
            ("resolved_at", self.resolved_at),
            ("last_status_update_at", self.last_status_update_at),
        ]
        check_same_kind(stamps)
        for name, stamp in stamps[1:]:
            if stamp is not None and stamp < self.detected_at:
                raise ValueError(f"incident {self.id!r}: {name} is before detected_at")
        return self


class Escalation(BaseModel):
    to: str
    after_minutes: int
    due_at: datetime
    due: bool = Field(description="the incident stayed unresolved this long")


class IncidentSla(BaseModel):
    id: str
    severity: Severity
    open: bool = Field(description="not resolved at as_of")
    elapsed_minutes: float = Field(description="detection to resolution, or to as_of if open")
    response_target_minutes: int | None = Field(description="None for P3 (next sprint)")
    response_due_at: datetime | None
    response_minutes: float | None = Field(
        description="to acknowledgement, or to resolution when none is recorded"
    )
    response_breached: bool
    escalation: Escalation | None = Field(description="P0 and P1 only")
    next_status_update_at: datetime | None = Field(description="open incidents only")
    status_update_overdue: bool
    breaches: list[str] = Field(description="plain-language list of what was missed")


class IncidentSlaInput(BaseModel):
    incidents: list[Incident]
    as_of: datetime = Field(description="the moment of the check; later events do not count")

    @model_validator(mode="after")
    def _same_kind(self) -> IncidentSlaInput:
        check_same_kind(
            [("as_of", self.as_of)]
            + [(f"incidents[{i}].detected_at", x.detected_at) for i, x in enumerate(self.incidents)]
        )
        return self


class EscalationDue(BaseModel):
    incident_id: str
    severity: Severity
    to: str
    open: bool


class IncidentSlaOutput(BaseModel):
    incidents: list[IncidentSla]
    open_incidents: int
    response_breaches: int
    escalations_due: list[EscalationDue]
    status_updates_overdue: list[str] = Field(description="ids of open incidents")
    not_yet_detected: int = Field(description="incidents detected after as_of (left out)")


def _seen(stamp: datetime | None, as_of: datetime) -> datetime | None:
    return stamp if stamp is not None and stamp <= as_of else None


def check_incident(incident: Incident, as_of: datetime) -> IncidentSla:
    resolved = _seen(incident.resolved_at, as_of)
    acknowledged = _seen(incident.acknowledged_at, as_of)
    end = resolved or as_of
    elapsed = _minutes(end - incident.detected_at)
    breaches: list[str] = []

    target = RESPONSE_TARGET_MINUTES[incident.severity]
    responded = acknowledged or resolved
    response = None if responded is None else _minutes(responded - incident.detected_at)
    breached = False
    if target is not None:
        if response is not None:
            breached = response > target
            if breached:
                breaches.append(f"response took {response:.0f} min, target {target} min")
        elif elapsed > target:
            breached = True
            breaches.append(f"no response after {elapsed:.0f} min, target {target} min")

    escalation = None
    if incident.severity in ESCALATION:
        after, to = ESCALATION[incident.severity]
        due = elapsed >= after if resolved is None else elapsed > after
        escalation = Escalation(
            to=to,
            after_minutes=after,
            due_at=incident.detected_at + timedelta(minutes=after),
            due=due,
        )
        if due:
            breaches.append(f"unresolved after {after} min: escalate to {to}")

    next_update, overdue = None, False
    if resolved is None:
        last = _seen(incident.last_status_update_at, as_of)
        if last is not None:
            next_update = last + timedelta(minutes=STATUS_UPDATE_MINUTES)
            overdue = next_update < as_of
            if overdue:
                breaches.append(f"status page update overdue since {next_update.isoformat()}")
        else:
            slots = math.floor(elapsed / STATUS_UPDATE_MINUTES) + 1
            next_update = incident.detected_at + timedelta(minutes=STATUS_UPDATE_MINUTES * slots)

    return IncidentSla(
        id=incident.id,
        severity=incident.severity,
        open=resolved is None,
        elapsed_minutes=elapsed,
        response_target_minutes=target,
        response_due_at=None
        if target is None
        else incident.detected_at + timedelta(minutes=target),
        response_minutes=response,
        response_breached=breached,
        escalation=escalation,
        next_status_update_at=next_update,
        status_update_overdue=overdue,
        breaches=breaches,
    )


@tool()
def incident_sla(args: IncidentSlaInput) -> IncidentSlaOutput:
    """Check incidents against response, escalation and status-page timers at as_of.

    Response targets: P0 15 min, P1 1 h, P2 4 h, P3 none (next sprint); the response is
    the acknowledgement, or the resolution when no acknowledgement is recorded.
    Escalation: P0 unresolved after 30 min -> Studio Producer; P1 unresolved after 2 h ->
    Project Shepherd. Open incidents get the time of the next status-page update (every
    15 min). Per incident: elapsed minutes, breaches in plain words, escalation due and to
    whom. Events after as_of are ignored; incidents detected after as_of are left out.
    """
    checked = [check_incident(x, args.as_of) for x in args.incidents if x.detected_at <= args.as_of]
    return IncidentSlaOutput(
        incidents=checked,
        open_incidents=sum(1 for c in checked if c.open),
        response_breaches=sum(1 for c in checked if c.response_breached),
        escalations_due=[
            EscalationDue(incident_id=c.id, severity=c.severity, to=c.escalation.to, open=c.open)
            for c in checked
            if c.escalation is not None and c.escalation.due
        ],
        status_updates_overdue=[c.id for c in checked if c.status_update_overdue],
        not_yet_detected=len(args.incidents) - len(checked),
    )
