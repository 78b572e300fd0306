"""Ticket first-response SLA and incident response / escalation / status-page timers."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError

from nexus_agents.tools.sla import IncidentSlaInput, TicketSlaInput, incident_sla, ticket_sla

AS_OF = "2026-05-01T12:00:00"


def t(id: str, created: str, response: str | None = None) -> dict[str, object]:
    return {
        "id": id,
        "created_at": f"2026-05-01T{created}:00",
        "first_response_at": None if response is None else f"2026-05-01T{response}:00",
    }


def test_ticket_states_by_hand() -> None:
    tickets = [
        t("T1", "08:00", "11:30"),  # 210 min: in time
        t("T2", "06:00", "10:00"),  # exactly 240 min: in time (at most 4 h)
        t("T3", "05:00", "09:01"),  # 241 min: late
        t("T4", "07:00"),  # unanswered, 300 min old: breached
        t("T5", "10:30"),  # unanswered, 90 min old: pending, 150 min left
        t("T6", "09:00", "13:00"),  # answered after as-of: pending at as-of, 60 min left
        t("T7", "12:30"),  # created after as-of: left out
    ]
    out = ticket_sla(TicketSlaInput.model_validate({"tickets": tickets, "as_of": AS_OF}))
    by_id = {x.id: x for x in out.tickets}
    assert [by_id[i].state for i in ("T1", "T2", "T3", "T4", "T5", "T6")] == [
        "answered_in_time", "answered_in_time", "answered_late",
        "breached_unanswered", "pending", "pending",
    ]  # fmt: skip
    assert by_id["T3"].response_minutes == pytest.approx(241)
    assert by_id["T4"].elapsed_minutes == pytest.approx(300) and by_id["T4"].breached
    assert by_id["T5"].minutes_left == pytest.approx(150)
    assert by_id["T6"].minutes_left == pytest.approx(60)
    assert by_id["T5"].due_at == datetime(2026, 5, 1, 14, 30)
    assert (out.answered_in_time, out.answered_late, out.breached_unanswered, out.pending) == (
        2, 1, 1, 2,
    )  # fmt: skip
    assert out.not_yet_created == 1
    assert out.attainment_pct == pytest.approx(50.0)  # 2 / (2 + 1 + 1)


def test_ticket_errors_are_clear() -> None:
    with pytest.raises(ValidationError, match="'T1': first_response_at is before created_at"):
        TicketSlaInput.model_validate({"tickets": [t("T1", "08:00", "07:00")], "as_of": AS_OF})
    with pytest.raises(ValidationError, match="mix timezones"):
        TicketSlaInput.model_validate(
            {"tickets": [t("T1", "08:00")], "as_of": "2026-05-01T12:00:00+00:00"}
        )


def test_no_tickets_has_no_attainment() -> None:
    out = ticket_sla(TicketSlaInput.model_validate({"tickets": [], "as_of": AS_OF}))
    assert out.attainment_pct is None


def inc(id: str, sev: str, detected: str, **times: str) -> dict[str, object]:
    return {
        "id": id,
        "severity": sev,
        "detected_at": f"2026-05-01T{detected}:00",
        **{k: f"2026-05-01T{v}:00" for k, v in times.items()},
    }


INCIDENTS = [
    inc("I0", "P0", "11:40"),
    inc("I0b", "P0", "11:00", acknowledged_at="11:05", last_status_update_at="11:50"),
    inc("I1", "P1", "08:00", resolved_at="12:10", last_status_update_at="11:30"),
    inc("I1r", "P1", "06:00", acknowledged_at="06:30", resolved_at="09:00"),
    inc("I2", "P2", "07:00", resolved_at="10:00"),
    inc("I3", "P3", "01:00"),
    inc("I9", "P0", "12:30"),
]


def test_incident_timers_by_hand() -> None:
    out = incident_sla(IncidentSlaInput.model_validate({"incidents": INCIDENTS, "as_of": AS_OF}))
    by_id = {x.id: x for x in out.incidents}

    i0 = by_id["I0"]  # 20 min open, no acknowledgement, target 15 min
    assert i0.open and i0.elapsed_minutes == pytest.approx(20)
    assert i0.response_breached and i0.response_minutes is None
    assert i0.escalation is not None and not i0.escalation.due
    assert i0.escalation.due_at == datetime(2026, 5, 1, 12, 10)
    # no update recorded: next 15-minute mark after detection past 20 min -> 11:40 + 30
    assert i0.next_status_update_at == datetime(2026, 5, 1, 12, 10)

    i0b = by_id["I0b"]  # acknowledged after 5 min; open 60 min >= 30 -> escalate
    assert not i0b.response_breached and i0b.response_minutes == pytest.approx(5)
    assert i0b.escalation is not None and i0b.escalation.due
    assert i0b.escalation.to == "Studio Producer"
    assert i0b.next_status_update_at == datetime(2026, 5, 1, 12, 5)  # 11:50 + 15
    assert not i0b.status_update_overdue

    i1 = by_id["I1"]  # resolved after as-of -> open at as-of, 240 min, never acknowledged
    assert i1.open and i1.elapsed_minutes == pytest.approx(240) and i1.response_breached
    assert i1.escalation is not None and i1.escalation.to == "Project Shepherd"
    assert i1.status_update_overdue  # 11:30 + 15 = 11:45 < 12:00
    assert any("escalate to Project Shepherd" in b for b in i1.breaches)

    i1r = by_id["I1r"]  # resolved after 180 min > 120: the escalation was required
    assert not i1r.open and i1r.response_minutes == pytest.approx(30)
    assert i1r.next_status_update_at is None

    i2 = by_id["I2"]  # no acknowledgement: resolution after 180 min counts, within 240
    assert i2.response_minutes == pytest.approx(180) and not i2.response_breached
    assert i2.escalation is None

    i3 = by_id["I3"]  # P3: no timer; next update 01:00 + 45 x 15 min = 12:15
    assert i3.response_target_minutes is None and not i3.response_breached
    assert i3.next_status_update_at == datetime(2026, 5, 1, 12, 15)

    assert out.not_yet_detected == 1
    assert out.open_incidents == 4  # I0, I0b, I1, I3
    assert out.response_breaches == 2  # I0, I1
    assert [(e.incident_id, e.to, e.open) for e in out.escalations_due] == [
        ("I0b", "Studio Producer", True),
        ("I1", "Project Shepherd", True),
        ("I1r", "Project Shepherd", False),
    ]
    assert out.status_updates_overdue == ["I1"]


def test_p0_escalation_boundary_at_30_minutes() -> None:
    out = incident_sla(
        IncidentSlaInput.model_validate(
            {"incidents": [inc("A", "P0", "11:30"), inc("B", "P0", "11:31")], "as_of": AS_OF}
        )
    )
    due = {x.id: x.escalation.due for x in out.incidents if x.escalation}
    assert due == {"A": True, "B": False}


def test_incident_time_order_is_checked() -> None:
    with pytest.raises(ValidationError, match="'X': resolved_at is before detected_at"):
        IncidentSlaInput.model_validate(
            {"incidents": [inc("X", "P1", "10:00", resolved_at="09:00")], "as_of": AS_OF}
        )
    with pytest.raises(ValidationError, match="severity"):
        IncidentSlaInput.model_validate({"incidents": [inc("X", "P5", "10:00")], "as_of": AS_OF})


def test_aware_timestamps_work_together() -> None:
    out = incident_sla(
        IncidentSlaInput.model_validate(
            {
                "incidents": [
                    {"id": "Z", "severity": "P1", "detected_at": "2026-05-01T10:00:00+02:00"}
                ],
                "as_of": "2026-05-01T09:00:00+00:00",
            }
        )
    )
    assert out.incidents[0].elapsed_minutes == pytest.approx(60)
