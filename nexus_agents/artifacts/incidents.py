"""Incident artifacts: triage decision, incident record, status page update, executive
brief (P0 only) and post-mortem.

Severity rules live in code: the triage decision takes the more severe of the rule floor
(a fact) and the model's proposal, so a model can raise a severity but never lower it.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nexus_agents.artifacts.base import Artifact, Facts, Narrative
from nexus_agents.artifacts.facts import Severity, TimelineEntry, most_severe
from nexus_agents.artifacts.narrative import Action, Bullets, Line, Text

__all__ = [
    "DECISION_AUTHORITY",
    "RESPONSE_TEAMS",
    "RESPONSE_TIME",
    "ExecutiveIncidentBrief",
    "ExecutiveIncidentBriefFacts",
    "ExecutiveIncidentBriefNarrative",
    "IncidentFacts",
    "IncidentNarrative",
    "IncidentRecord",
    "IncidentTriage",
    "IncidentTriageFacts",
    "IncidentTriageNarrative",
    "PostMortem",
    "PostMortemFacts",
    "PostMortemNarrative",
    "StatusPageUpdate",
    "StatusPageUpdateFacts",
    "StatusPageUpdateNarrative",
]

RESPONSE_TEAMS: dict[Severity, tuple[str, ...]] = {
    "P0": (
        "Infrastructure Maintainer",
        "DevOps Automator",
        "Backend Architect",
        "Support Responder",
        "Executive Summary Generator",
    ),
    "P1": ("Infrastructure Maintainer", "DevOps Automator", "Developer", "Support Responder"),
    "P2": ("Developer", "Evidence Collector"),
    "P3": ("Sprint Prioritizer",),
}
"""Who responds, by severity; the first name commands P0 / P1 incidents."""

DECISION_AUTHORITY: dict[Severity, str] = {
    "P0": "Studio Producer",
    "P1": "Project Shepherd",
    "P2": "Agents Orchestrator",
    "P3": "Sprint Prioritizer",
}

RESPONSE_TIME: dict[Severity, str] = {
    "P0": "immediate",
    "P1": "< 1 hour",
    "P2": "< 4 hours",
    "P3": "next sprint",
}

SuspectedCause = Literal[
    "bad_deploy", "infrastructure", "code_bug", "external_dependency", "unknown"
]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- Triage --------------------------------------------------------------------------


class IncidentTriageFacts(Facts):
    incident_id: str
    detected_by: str
    detected_at: str
    signal: str = Field(description="the alert or ticket that raised the incident")
    severity_floor: Severity = Field(description="the lowest severity the rules allow")
    floor_reasons: list[str] = Field(default_factory=list)
    error_rate_pct: float | None = None
    latency_ratio: float | None = Field(default=None, description="current / normal latency")
    users_affected: int | None = Field(default=None, ge=0)
    notify_by_rule: list[str] = Field(
        default_factory=list, description="who the alert's flags require (breach, revenue)"
    )


class IncidentTriageNarrative(Narrative):
    proposed_severity: Severity
    rationale: Text
    affected_users: Line
    affected_services: list[Line] = Field(max_length=10)
    affected_data: Line
    suspected_breach_or_data_loss: bool
    revenue_impact: bool
    suspected_cause: SuspectedCause
    first_actions: Bullets


class IncidentTriage(Artifact[IncidentTriageFacts, IncidentTriageNarrative]):
    kind = "incident_triage"
    title = "Incident Triage Decision"

    @property
    def severity(self) -> Severity:
        """The severity in force: never below the floor; a breach or data loss is P0."""
        levels: list[Severity] = [self.facts.severity_floor, self.narrative.proposed_severity]
        if self.narrative.suspected_breach_or_data_loss:
            levels.append("P0")
        return most_severe(*levels)

    @property
    def response_team(self) -> list[str]:
        return list(RESPONSE_TEAMS[self.severity])

    @property
    def commander(self) -> str | None:
        return "Infrastructure Maintainer" if self.severity in ("P0", "P1") else None

    @property
    def decision_authority(self) -> str:
        return DECISION_AUTHORITY[self.severity]

    @property
    def notify(self) -> list[str]:
        people = [DECISION_AUTHORITY[self.severity], *self.facts.notify_by_rule]
        if self.narrative.suspected_breach_or_data_loss:
            people.append("Legal Compliance Checker")
        if self.narrative.revenue_impact:
            people += ["Finance Tracker", "Studio Producer"]
        return list(dict.fromkeys(people))

    def to_markdown(self) -> str:
        from nexus_agents.artifacts.render import render_markdown

        return render_markdown(
            self,
            derived={
                "Severity": self.severity,
                "Response time": RESPONSE_TIME[self.severity],
                "Commander": self.commander,
                "Response team": self.response_team,
                "Notify": self.notify,
            },
        )


# --- Incident record -----------------------------------------------------------------


class IncidentFacts(Facts):
    incident_id: str
    severity: Severity
    detected_by: str
    detected_at: str
    assignee: str
    status: Literal["investigating", "mitigating", "resolved", "post_mortem"] = "investigating"
    affected_systems: list[str] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    actions_taken: list[str] = Field(default_factory=list)
    last_update: str | None = None
    next_update: str | None = None


class IncidentNarrative(Narrative):
    what_happened: Text
    impact: Text
    workaround: Line
    eta: Line
    suspected_cause: Line


class IncidentRecord(Artifact[IncidentFacts, IncidentNarrative]):
    kind = "incident"
    title = "Incident"


# --- Status page ---------------------------------------------------------------------


StatusValue = Literal["investigating", "identified", "monitoring", "resolved"]

_CLAIMS_RESOLVED = re.compile(
    r"\b(resolved|fixed|restored|back to normal|fully operational|recovered)\b", re.IGNORECASE
)
_NEGATED = re.compile(
    r"(?:\bnot|n't|\bno|\bnever|\buntil|\bonce|\bwhen|\bbefore)\W+(?:\w+\W+){0,2}$", re.IGNORECASE
)
_USER_COUNT = re.compile(
    r"(?<![\w.,])(\d[\d,]*)\s+(?:\w+\s+)?(users?|customers?|people|accounts?)\b", re.IGNORECASE
)


class StatusPageUpdateFacts(Facts):
    incident_id: str
    timestamp: str
    service: str
    severity: Severity
    status: StatusValue = Field(
        default="investigating",
        description="what the run knows (code): resolved only after a verified, deployed fix",
    )
    users_affected: int | None = Field(default=None, ge=0, description="None: not measured")
    next_update_at: str = Field(description="15 minutes later while the incident is open")


class StatusPageUpdateNarrative(Narrative):
    impact: Line
    current_action: Line
    message: Text = Field(description="public text; no internal names, secrets or blame")


def _claims_resolved(text: str) -> str | None:
    """The first unnegated claim that the problem is over (``None`` when there is none)."""
    for match in _CLAIMS_RESOLVED.finditer(text):
        if not _NEGATED.search(text[max(0, match.start() - 40) : match.start()]):
            return match.group(0)
    return None


class StatusPageUpdate(Artifact[StatusPageUpdateFacts, StatusPageUpdateNarrative]):
    """A public status post: status, severity and affected users are facts; the model
    writes the words, which may not claim more than the facts."""

    kind = "status_page_update"
    title = "Status Page Update"

    @model_validator(mode="after")
    def _states_only_facts(self) -> StatusPageUpdate:
        text = " ".join(
            (self.narrative.impact, self.narrative.current_action, self.narrative.message)
        )
        if self.facts.status != "resolved":
            claim = _claims_resolved(text)
            if claim:
                raise ValueError(
                    f"the status is {self.facts.status!r}, not resolved: the public text may not "
                    f"say {claim!r}"
                )
        for match in _USER_COUNT.finditer(text):
            stated = int(match.group(1).replace(",", ""))
            known = self.facts.users_affected
            if known is None:
                raise ValueError(
                    f"the public text says {match.group(0)!r}, but the number of affected users "
                    "is not measured: do not state one"
                )
            if stated != known:
                raise ValueError(
                    f"the public text says {match.group(0)!r}; the facts say users_affected = {known}"
                )
        return self

    @property
    def status(self) -> StatusValue:
        return self.facts.status


# --- Executive brief (P0) ------------------------------------------------------------


class ExecutiveIncidentBriefFacts(Facts):
    incident_id: str
    severity: Literal["P0"] = "P0"
    detected_at: str
    minutes_open: float | None = Field(default=None, ge=0)
    users_affected: int | None = Field(default=None, ge=0)
    revenue_at_risk: float | None = None


class ExecutiveIncidentBriefNarrative(Narrative):
    situation: Text
    cause: Text
    action: Text
    impact: Text
    next_update: Line


class ExecutiveIncidentBrief(Artifact[ExecutiveIncidentBriefFacts, ExecutiveIncidentBriefNarrative]):
    kind = "executive_incident_brief"
    title = "Executive Incident Brief"


# --- Post-mortem ---------------------------------------------------------------------


class PostMortemFacts(Facts):
    incident_id: str
    severity: Severity
    detected_at: str
    resolved_at: str | None = None
    minutes_to_resolve: float | None = Field(default=None, ge=0)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    users_affected: int | None = Field(default=None, ge=0)
    revenue_impact: float | None = None
    data_records_affected: int | None = Field(default=None, ge=0)
    led_by: str = "Workflow Optimizer"
    due_by: str | None = Field(default=None, description="48 hours after resolution")


class PostMortemImpact(_Part):
    users: Line
    revenue: Line
    reputation: Line
    data: Line


class PostMortemNarrative(Narrative):
    summary: Text
    five_whys: list[Line] = Field(min_length=5, max_length=5)
    root_cause: Text
    impact: PostMortemImpact
    went_well: Bullets
    went_wrong: Bullets
    prevention_actions: list[Action] = Field(min_length=1, max_length=12)


class PostMortem(Artifact[PostMortemFacts, PostMortemNarrative]):
    kind = "post_mortem"
    title = "Post-mortem"

    @model_validator(mode="after")
    def _owned_actions(self) -> PostMortem:
        for action in self.narrative.prevention_actions:
            if not action.owner.strip() or not action.deadline.strip():
                raise ValueError(
                    f"prevention action {action.action!r} needs an owner and a deadline"
                )
        return self
