"""Call steps of incident response: detection, the P3 backlog entry, the fix package and
the escalation timers.

Step ids of ``graphs/incident_response.yaml`` used here: ``detect``, ``triage``, the
mitigation steps listed in ``MITIGATION_STEPS``, the ``resolve`` loop, the deploy actions
(``DEPLOY_STEPS``) and their approvals (``DEPLOY_APPROVALS``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from nexus_agents.graphs.executor import StepContext
from nexus_agents.playbook._context import artifact, now_of, part, workspace_of

__all__ = [
    "MITIGATION_STEPS",
    "EscalationRule",
    "collect_fix",
    "detect",
    "escalation_timers",
    "incident_escalations",
    "p3_backlog_item",
]

DETECT, TRIAGE = "detect", "triage"
MITIGATION_STEPS = ("rollback", "infra_mitigation", "hotfix_build", "dependency_fallback")
RESOLVE_LOOP = "resolve"
DEPLOY_STEPS = ("p0_deploy", "p1_deploy", "deploy_fix")
DEPLOY_APPROVALS = ("p0_deploy_approval", "p1_deploy_approval")
LEGAL, FINANCE = "Legal Compliance Checker", "Finance Tracker"
P0_ESCALATE_AFTER_MIN = 30.0
P1_ESCALATE_AFTER_MIN = 120.0


def detect(state: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    """DETECTION: the alert given to the run (``inputs.alert``), else the workspace data.

    Sets ``detected`` (true/false) and leaves the signal as this step's artifact. The
    alert is checked at the boundary (``receive_alert``): the artifact holds only its
    known fields, built by code, so no key of the alert can pose as run state.
    """
    from datetime import UTC

    from nexus_agents.tools.alerts import receive_alert

    inputs = state.get("inputs") or {}
    given = inputs.get("alert")
    if given is None:
        given = inputs.get("trigger")
    workspace = workspace_of(state, ctx)
    now = now_of(state)
    if given is not None:
        moments = [now, *_period_end(state)]  # a replay of a past period is judged by it
        received = receive_alert(given, now=moments, tz=workspace.tz if workspace else UTC)
        signal = {
            "kind": "incident_signal",
            "source": received.source,
            "alert": received.as_input(),
        }
        return {"values": {"detected": True}, "artifacts": {ctx.step_id: signal}}
    if workspace is None:
        raise ValueError("no alert was given and the run has no workspace to read data from")
    from nexus_agents.checks.uptime import find_incident

    found = find_incident(workspace, now)
    if found is None:
        return {"values": {"detected": False}}
    received = receive_alert(found.model_dump(mode="json"), now=now, tz=workspace.tz)
    signal = {
        "kind": "incident_signal",
        "source": "uptime_checks",
        "alert": received.as_input(),
        "details": found.details,
    }
    return {"values": {"detected": True}, "artifacts": {ctx.step_id: signal}}


def _period_end(state: dict[str, Any]) -> list[datetime]:
    from nexus_agents.periods import parse_period

    label = state.get("period") or (state.get("inputs") or {}).get("period")
    try:
        return [parse_period(str(label)).end] if label else []
    except ValueError:
        return []


def _triage(state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    data = artifact(state, TRIAGE)
    return part(data, "facts"), part(data, "narrative"), part(data, "derived")


def p3_backlog_item(state: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    """P3: one backlog entry for the next sprint, from the triage decision."""
    facts, narrative, _ = _triage(state)
    signal = artifact(state, DETECT)
    what = facts.get("signal") or part(signal, "alert").get("summary") or "incident"
    incident_id = facts.get("incident_id") or ""
    entry = {
        "title": f"[P3] {what}"[:200],
        "description": str(narrative.get("rationale") or "cosmetic issue found in triage"),
        "owner": "sprint_prioritizer",
        "deadline": "next sprint",
        "incident_id": incident_id,
    }
    return {"artifacts": {ctx.step_id: {"kind": "backlog_entry", "items": [entry]}}}


def collect_fix(state: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    """RESOLUTION: the mitigation that ran, packaged for the deploy action and QA."""
    values = state.get("values") or {}
    ran = [s for s in MITIGATION_STEPS if s in (state.get("artifacts") or {})]
    if not ran:
        raise ValueError(f"no mitigation step ran (expected one of {', '.join(MITIGATION_STEPS)})")
    step = ran[-1]
    package = {
        "kind": "incident_fix",
        "severity": values.get("severity"),
        "cause": values.get("cause"),
        "mitigation_step": step,
        "artifact": artifact(state, step),
    }
    return {"artifacts": {ctx.step_id: package}, "values": {"mitigation": step}}


class EscalationRule(BaseModel):
    """One escalation that is due, with who gets it and why."""

    model_config = ConfigDict(extra="forbid")

    to: str
    reason: str



def incident_escalations(
    severity: str, minutes_open: float | None, *, breach: bool, revenue: bool
) -> list[EscalationRule]:
    """The playbook's escalation rules (pure): time-based, breach and revenue triggers."""
    out: list[EscalationRule] = []
    if severity == "P0" and minutes_open is not None and minutes_open > P0_ESCALATE_AFTER_MIN:
        out.append(EscalationRule(to="studio_producer", reason=f"P0 open {minutes_open:.0f} min (> 30)"))
    if severity == "P1" and minutes_open is not None and minutes_open > P1_ESCALATE_AFTER_MIN:
        out.append(EscalationRule(to="project_shepherd", reason=f"P1 open {minutes_open:.0f} min (> 120)"))
    if breach:
        out.append(EscalationRule(to="legal_compliance_checker", reason="suspected breach or user data affected"))
    if revenue:
        out.append(EscalationRule(to="finance_tracker", reason="revenue impact"))
        out.append(EscalationRule(to="studio_producer", reason="revenue impact"))
    return _unique(out)


def _unique(rules: list[EscalationRule]) -> list[EscalationRule]:
    """One escalation per recipient, the first reason kept."""
    seen: set[str] = set()
    unique = []
    for rule in rules:
        if rule.to not in seen:
            seen.add(rule.to)
            unique.append(rule)
    return unique


def _parse_moment(text: Any, state: dict[str, Any], ctx: StepContext) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    if moment.tzinfo is None:
        workspace = workspace_of(state, ctx)
        if workspace is None:
            return None
        moment = moment.replace(tzinfo=workspace.tz)
    return moment


def escalation_timers(state: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    """Which escalations are due now; sets ``escalation_needed`` and lists them."""
    values = state.get("values") or {}
    facts, narrative, derived = _triage(state)
    severity = str(derived.get("severity") or values.get("severity") or "")
    detected = _parse_moment(
        facts.get("detected_at") or part(artifact(state, DETECT), "alert").get("detected_at"),
        state,
        ctx,
    )
    minutes = None
    if detected is not None:
        minutes = max(0.0, (now_of(state) - detected).total_seconds() / 60)
    by_rule = [str(n) for n in facts.get("notify_by_rule") or []]
    # the alert's flags (rule) always count; the model may add a suspicion, never remove one
    rules = incident_escalations(
        severity,
        minutes,
        breach=LEGAL in by_rule or bool(narrative.get("suspected_breach_or_data_loss")),
        revenue=FINANCE in by_rule or bool(narrative.get("revenue_impact")),
    )
    rules = _unique([*rules, *_unresolved(state, derived, severity)])
    resolved = _fix_shipped(state)
    notice = {
        "kind": "incident_escalation",
        "incident_id": facts.get("incident_id"),
        "severity": severity,
        "minutes_open": None if minutes is None else round(minutes, 1),
        "escalations": [r.model_dump() for r in rules],
    }
    notice["resolution"] = "fix_deployed" if resolved else "unresolved"
    return {
        "artifacts": {ctx.step_id: notice},
        "values": {
            "escalation_needed": bool(rules),
            "escalated_to": [r.to for r in rules],
            "resolution": notice["resolution"],
        },
    }


def _fix_shipped(state: dict[str, Any]) -> bool:
    values = state.get("values") or {}
    return values.get("fix_verdict") == "PASS" and any(
        values.get(step) == "done" for step in DEPLOY_STEPS
    )


def _authority(derived: dict[str, Any], severity: str) -> str:
    """The decision authority as an agent slug (``Studio Producer`` -> ``studio_producer``)."""
    from nexus_agents.artifacts.incidents import DECISION_AUTHORITY

    by_severity = {str(k): v for k, v in DECISION_AUTHORITY.items()}
    name = str(derived.get("decision_authority") or by_severity.get(severity) or "Studio Producer")
    return name.lower().replace(" ", "_")


def _unresolved(state: dict[str, Any], derived: dict[str, Any], severity: str) -> list[EscalationRule]:
    """Escalations for a fix that did not ship: verification exhausted, or a deploy
    approval nobody gave (an unattended run takes the safe default, reject)."""
    from nexus_agents.graphs.approvals import TIMEOUT_DECIDER

    values = state.get("values") or {}
    out: list[EscalationRule] = []
    if values.get(RESOLVE_LOOP) == "exhausted":
        out.append(
            EscalationRule(
                to=_authority(derived, severity),
                reason="the mitigation failed verification on every attempt; nothing was deployed",
            )
        )
    for gate, decision in (state.get("approvals") or {}).items():
        if gate in DEPLOY_APPROVALS and decision.get("decided_by") == TIMEOUT_DECIDER:
            out.append(
                EscalationRule(
                    to=_authority(derived, severity),
                    reason=f"the verified fix waits for a deploy approval ({gate}); none was given",
                )
            )
    return out
