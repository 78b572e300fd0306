"""Support outputs of the continuous cadence: the first-response SLA breach alert."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nexus_agents.artifacts.base import Artifact, Facts, Narrative
from nexus_agents.artifacts.narrative import Action, Bullets, Line, Text, _Part

__all__ = [
    "BreachingTicket",
    "SlaBreachAlert",
    "SlaBreachAlertFacts",
    "SlaBreachAlertNarrative",
]


class BreachingTicket(_Part):
    id: str
    created_at: str = Field(description="ISO timestamp, workspace time")
    waited_hours: float = Field(ge=0, description="hours without a first response at as_of")
    priority: str | None = None
    channel: str | None = None


class SlaBreachAlertFacts(Facts):
    as_of: str = Field(description="the moment the tickets were checked (workspace time)")
    sla_hours: float = Field(gt=0, description="first-response target")
    open_tickets: int = Field(ge=0, description="unresolved tickets created up to as_of")
    breaching_count: int = Field(ge=0)
    oldest_waited_hours: float | None = Field(default=None, ge=0)
    breaching: list[BreachingTicket] = Field(
        default_factory=list,
        description="unanswered, unresolved, waiting past the SLA; oldest first",
    )


class SlaBreachAlertNarrative(Narrative):
    summary: Text
    urgency: Literal["low", "medium", "high"]
    customer_impact: Line
    next_steps: list[Action] = Field(max_length=10)
    notes: Bullets


class SlaBreachAlert(Artifact[SlaBreachAlertFacts, SlaBreachAlertNarrative]):
    kind = "sla_breach_alert"
    title = "SLA breach alert"
