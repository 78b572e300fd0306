"""The severity floor of an alert and the response policy of each severity.

Floor rules (REFERENCE.md): service down, data loss or a security breach -> P0; a major
feature broken, a service failing its uptime checks, an error rate of 50% or more, or
latency at 10x the baseline or more -> P1; anything else -> P3 (P2 needs a judgement the
rules cannot make: "minor feature, workaround available"). The severity the alert's source
gave (``source_severity``) can raise the floor, never lower it. A model may propose a more
severe level, never a less severe one.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from nexus_agents.artifacts.facts import SEVERITY_ORDER, Severity, most_severe
from nexus_agents.artifacts.incidents import DECISION_AUTHORITY, RESPONSE_TEAMS, RESPONSE_TIME
from nexus_agents.tools.base import tool
from nexus_agents.tools.sla import ESCALATION, RESPONSE_TARGET_MINUTES
from nexus_agents.untrusted_text import SAFE_ID

P1_ERROR_RATE = 0.5
P1_LATENCY_RATIO = 10.0
LEGAL = "Legal Compliance Checker"


class Alert(BaseModel):
    """What is known about a problem when it is detected."""

    model_config = ConfigDict(extra="ignore")

    service: str = ""
    title: str = ""
    description: str = ""
    service_down: bool = False
    data_loss: bool = False
    security_breach: bool = Field(default=False, description="suspected or confirmed")
    user_data_affected: bool = False
    major_feature_broken: bool = False
    revenue_impact: bool = False
    error_rate: float | None = Field(default=None, ge=0, le=1, description="fraction 0..1")
    latency_ms: float | None = Field(default=None, ge=0)
    baseline_latency_ms: float | None = Field(default=None, ge=0, description="normal latency")
    users_affected: int | None = Field(default=None, ge=0)
    checks_failing: list[str] = Field(
        default_factory=list,
        max_length=1000,
        description="services whose latest uptime check failed (a major feature broken)",
    )
    source_severity: Severity | None = Field(
        default=None,
        description="the severity the alert's source gave; it can raise the floor, never lower it",
    )


class SeverityPolicy(BaseModel):
    severity: Severity
    response_time: str = Field(description="immediate, < 1 hour, < 4 hours or next sprint")
    response_target_minutes: int | None = Field(description="None: next sprint, no timer")
    response_team: list[str] = Field(description="the first name commands P0 / P1 incidents")
    decision_authority: str
    escalate_to: str | None = Field(description="who takes over if unresolved in time")
    escalate_after_minutes: int | None


class SeverityFloor(BaseModel):
    floor: Severity = Field(description="the least severe level the rules allow")
    reasons: list[str] = Field(description="which rules set the floor")
    error_rate_pct: float | None
    latency_ratio: float | None = Field(description="latency / baseline latency")
    notify: list[str] = Field(
        description="roles to inform beyond the response team (legal, finance)"
    )
    policy: SeverityPolicy = Field(description="response policy at the floor")


def policy_for(severity: Severity) -> SeverityPolicy:
    escalation = ESCALATION.get(severity)
    return SeverityPolicy(
        severity=severity,
        response_time=RESPONSE_TIME[severity],
        response_target_minutes=RESPONSE_TARGET_MINUTES[severity],
        response_team=list(RESPONSE_TEAMS[severity]),
        decision_authority=DECISION_AUTHORITY[severity],
        escalate_to=escalation[1] if escalation else None,
        escalate_after_minutes=escalation[0] if escalation else None,
    )


def floor_of(alert: Alert) -> SeverityFloor:
    p0 = [
        text
        for flag, text in (
            (alert.service_down, "service down"),
            (alert.data_loss, "data loss"),
            (alert.security_breach, "security breach"),
        )
        if flag
    ]
    ratio = None
    if alert.latency_ms is not None and alert.baseline_latency_ms:
        ratio = alert.latency_ms / alert.baseline_latency_ms
    p1 = []
    if alert.major_feature_broken:
        p1.append("major feature broken")
    if alert.error_rate is not None and alert.error_rate >= P1_ERROR_RATE:
        p1.append(f"error rate {alert.error_rate:.0%} >= 50%")
    if ratio is not None and ratio >= P1_LATENCY_RATIO:
        p1.append(f"latency {ratio:.1f}x baseline >= 10x")
    if alert.checks_failing:
        p1.append(_failing_checks(alert.checks_failing))
    floor: Severity = "P0" if p0 else "P1" if p1 else "P3"
    reasons = p0 + p1 if (p0 or p1) else ["no P0 or P1 rule matched"]
    source = alert.source_severity
    if source is not None and SEVERITY_ORDER.index(source) < SEVERITY_ORDER.index(floor):
        floor = source
        reasons = [*(p0 + p1), f"the alert's source rated it {source}"]
    notify: list[str] = []
    if alert.security_breach or alert.user_data_affected or alert.data_loss:
        notify.append(LEGAL)
    if alert.revenue_impact:
        notify.extend(["Finance Tracker", "Studio Producer"])
    return SeverityFloor(
        floor=floor,
        reasons=reasons,
        error_rate_pct=None if alert.error_rate is None else 100.0 * alert.error_rate,
        latency_ratio=ratio,
        notify=list(dict.fromkeys(notify)),
        policy=policy_for(floor),
    )


def _failing_checks(services: list[str]) -> str:
    named = [s for s in services if SAFE_ID.match(s)][:10]
    more = len(services) - len(named)
    listed = ", ".join(named) + (f" and {more} more" if named and more else "")
    return f"uptime checks failing for {listed or f'{more} service(s)'}"


@tool()
def severity_floor(args: Alert) -> SeverityFloor:
    """The lowest severity an alert may get by rule, with the reasons and response policy.

    P0 when the service is down, data was lost or security is breached; P1 when a major
    feature is broken, a service fails its uptime checks, the error rate (a fraction 0..1)
    is at least 0.5, or latency is at least 10x the baseline; otherwise P3. The source's
    own rating (source_severity) raises the floor when it is more severe. Also lists who else to notify: the Legal
    Compliance Checker for a breach or user data affected, the Finance Tracker and Studio
    Producer for revenue impact.
    """
    return floor_of(args)


class ApplyFloorInput(BaseModel):
    proposed: Severity = Field(description="the severity proposed by the triage model")
    floor: Severity = Field(description="the rule floor from severity_floor")


class FloorDecision(BaseModel):
    proposed: Severity
    floor: Severity
    final: Severity = Field(description="the more severe of proposed and floor")
    overridden: bool = Field(description="the proposal was below the floor and was raised")
    policy: SeverityPolicy = Field(description="response policy at the final severity")


def apply(proposed: Severity, floor: Severity) -> FloorDecision:
    final = most_severe(proposed, floor)
    return FloorDecision(
        proposed=proposed,
        floor=floor,
        final=final,
        overridden=SEVERITY_ORDER.index(proposed) > SEVERITY_ORDER.index(floor),
        policy=policy_for(final),
    )


@tool()
def apply_floor(args: ApplyFloorInput) -> FloorDecision:
    """Final severity = the more severe of the proposal and the rule floor (P0 is most severe).

    A proposal may raise the severity above the floor but never lower it; ``overridden``
    says the floor replaced a less severe proposal. Includes the response policy (team,
    decision authority, response time, escalation) of the final severity.
    """
    return apply(args.proposed, args.floor)


class PolicyInput(BaseModel):
    severity: Severity


@tool()
def severity_policy(args: PolicyInput) -> SeverityPolicy:
    """Response policy of a severity: response time, team, decision authority, escalation.

    P0 immediate (15 min target), Studio Producer decides, escalate after 30 min; P1
    < 1 hour, Project Shepherd, escalate after 2 h; P2 < 4 hours, Agents Orchestrator;
    P3 next sprint, Sprint Prioritizer puts it on the backlog.
    """
    return policy_for(args.severity)
