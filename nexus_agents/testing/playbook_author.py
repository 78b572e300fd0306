"""A deterministic stand-in for the model that writes rule-respecting narratives.

``PlaybookAuthor`` reads the facts block of an agent request (see
``nexus_agents.runtime.prompting``) and answers with a narrative that cites those facts
and respects the artifact's rules (QA checks every acceptance criterion, a retry
addresses exactly the listed QA issues, a deploy names its flag ...). Kinds it has no
handler for get a schema-valid instance from the schema faker.

It serves three purposes: recording the demo's model responses, answering for the mock
server in benchmarks and fault tests, and scripting scenarios in tests (QA failing the
first N attempts, a proposed incident severity, a release held back).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from nexus_agents.testing.schema_faker import fake_instance

__all__ = ["AuthorScenario", "PlaybookAuthor", "facts_of"]

_FACTS_BLOCK = re.compile(
    r"# Facts \(computed by tools; authoritative\)\n```json\n(.*?)\n```", re.S
)

Handler = Callable[["PlaybookAuthor", dict[str, Any]], dict[str, Any]]
_HANDLERS: dict[str, Handler] = {}


class AuthorScenario(BaseModel):
    """What the stand-in team decides where the playbook leaves a judgement open."""

    model_config = ConfigDict(extra="forbid")

    qa_failures: int = Field(default=0, ge=0, description="QA fails attempts 1..N")
    readiness: str = "READY"
    deploy_action: str = "deploy"
    proposed_severity: str = "P3"
    suspected_cause: str = "unknown"


def facts_of(request: Mapping[str, Any]) -> dict[str, Any]:
    """The facts JSON of an agent request ({} when the request carries none)."""
    for message in reversed(list(request.get("messages") or [])):
        content = message.get("content")
        if message.get("role") != "user" or not isinstance(content, str):
            continue
        match = _FACTS_BLOCK.search(content)
        if match:
            try:
                data = json.loads(match.group(1))
            except json.JSONDecodeError:
                return {}
            return data if isinstance(data, dict) else {}
    return {}


def _handles(*schema_names: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        for name in schema_names:
            _HANDLERS[name] = func
        return func

    return register


class PlaybookAuthor:
    """Answers chat-completion requests (as the mock server's responder) with narratives."""

    def __init__(self, scenario: AuthorScenario | None = None) -> None:
        self.scenario = scenario or AuthorScenario()

    def narrative(
        self, schema_name: str, schema: Mapping[str, Any], facts: dict[str, Any]
    ) -> dict[str, Any]:
        handler = _HANDLERS.get(schema_name)
        if handler is None:
            value = fake_instance(schema)
            return value if isinstance(value, dict) else {}
        return handler(self, facts)

    def __call__(self, request: Mapping[str, Any]) -> dict[str, Any] | None:
        fmt = request.get("response_format") or {}
        spec = fmt.get("json_schema") if isinstance(fmt, Mapping) else None
        if not isinstance(spec, Mapping):
            return None  # let the server fall back to its own answer
        body = self.narrative(
            str(spec.get("name", "")), spec.get("schema") or {}, facts_of(request)
        )
        return {"content": json.dumps(body)}


# --- helpers ---------------------------------------------------------------------------


def _kpis(facts: dict[str, Any]) -> list[dict[str, Any]]:
    return [k for k in facts.get("kpis") or [] if isinstance(k, dict)]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _kpi_line(k: dict[str, Any]) -> str:
    target = f" (target {_fmt(k.get('target'))})" if k.get("target") is not None else ""
    return f"{k.get('name')}: {_fmt(k.get('value'))}{k.get('unit') or ''}{target}"


def _missed(facts: dict[str, Any]) -> list[dict[str, Any]]:
    return [k for k in _kpis(facts) if k.get("meets_target") is False]


def _item(facts: dict[str, Any]) -> tuple[str, str]:
    item_id = str(facts.get("item_id") or facts.get("task_id") or "the item")
    title = str(
        facts.get("item_title") or facts.get("task_description") or facts.get("title") or item_id
    )
    return item_id, title


# --- handlers (one per narrative schema) -------------------------------------------------


@_handles("WeeklyAnalyticsNarrative", "DailyMetricsNarrative", "DailySnapshotNarrative")
def _analytics(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    missed = _missed(facts)
    met = [k for k in _kpis(facts) if k.get("meets_target") is True]
    summary = f"{len(met)} KPIs met their target and {len(missed)} missed it. " + (
        "Missed: " + "; ".join(_kpi_line(k) for k in missed[:5]) + "." if missed else ""
    )
    return {
        "summary": summary.strip(),
        "trends": [_kpi_line(k) for k in met[:4]],
        "anomalies": [_kpi_line(k) for k in missed[:4]],
        "recommendations": [
            {
                "recommendation": f"Put work on the backlog that moves {k.get('name')} toward its target.",
                "rationale": _kpi_line(k),
                "priority": "high" if i == 0 else "medium",
            }
            for i, k in enumerate(missed[:3])
        ],
    }


@_handles("FeedbackInsightsNarrative")
def _insights(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    themes = sorted(
        (t for t in facts.get("themes") or [] if isinstance(t, dict)),
        key=lambda t: -int(t.get("count") or 0),
    )
    missed = _missed(facts)
    kpi = str(missed[0].get("name")) if missed else "NPS"
    return {
        "summary": f"{facts.get('feedback_count', 0)} feedback items; the largest themes are "
        + ", ".join(f"{t.get('theme')} ({t.get('count')})" for t in themes[:3])
        + ".",
        "insights": [
            {
                "theme": str(t.get("theme")),
                "problem": f"Users keep raising {t.get('theme')}.",
                "evidence": f"{t.get('count')} mentions this period",
                "proposed_backlog_item": f"Address the top {t.get('theme')} complaint",
                "expected_kpi_effect": f"Improves {kpi}",
            }
            for t in themes[:3]
        ],
    }


@_handles("SprintPlanNarrative")
def _sprint(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    candidates = [c for c in facts.get("candidates") or [] if isinstance(c, dict)]
    selected = facts.get("selected_item_ids") or []
    first = next((c for c in candidates if c.get("item_id") in selected[:1]), None) or (
        candidates[0] if candidates else {}
    )
    return {
        "sprint_goal": f"Ship {first.get('title', 'the top-ranked item')} and the next items by RICE.",
        "rationale": f"Items are taken in RICE order within the capacity of {_fmt(facts.get('capacity'))} points.",
        "deferred_notes": [
            f"{c.get('item_id')} waits for the next sprint"
            for c in candidates
            if c.get("item_id") not in selected
        ][:3],
        "risks": [
            {
                "risk": "An estimate is too low",
                "likelihood": "medium",
                "impact": "The last selected item slips to the next sprint",
                "mitigation": "Keep the 20% buffer free for it",
            }
        ],
    }


@_handles("StandardHandoffNarrative")
def _handoff(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    item_id, title = _item(facts)
    return {
        "current_state": f"{item_id} ({title}) is selected for this sprint.",
        "constraints": ["No change to the public API", "Behind a feature flag until QA passes"],
        "request": f"Implement {title}.",
        "acceptance_criteria": [
            f"{title} works for every user segment",
            "Automated tests cover the change",
            "No regression in the affected KPI",
        ],
        "references": [f"Backlog item {item_id}"],
        "must_pass_checks": ["unit tests", "integration tests"],
        "evidence_required": ["test output", "screenshot of the change"],
    }


@_handles("DeveloperChangeProposalNarrative")
def _change(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    item_id, title = _item(facts)
    issues = [i for i in facts.get("qa_issues") or [] if isinstance(i, dict)]
    return {
        "summary": (
            f"Fixes the {len(issues)} QA issue(s) listed for {item_id}."
            if issues
            else f"Implements {title} ({item_id})."
        ),
        "plan": [{"step": f"Change the code paths of {item_id}", "files": ["app/feature.py"]}]
        + [
            {
                "step": f"Fix {i.get('id')}: {i.get('fix_instruction', '')}",
                "files": list(i.get("files") or []),
            }
            for i in issues
        ],
        "tests": ["unit tests for the new behaviour", "integration test of the user flow"],
        "risks": [],
        "addressed_issue_ids": [str(i.get("id")) for i in issues],
    }


@_handles("QaNarrative")
def _qa(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    attempt = int(facts.get("attempt") or 1)
    criteria = [str(c) for c in facts.get("acceptance_criteria") or []]
    if attempt <= author.scenario.qa_failures:
        return {
            "verdict": "FAIL",
            "criteria": [
                {"criterion": c, "status": "fail" if i == 0 else "pass", "evidence": "test run log"}
                for i, c in enumerate(criteria)
            ],
            "issues": [
                {
                    "id": f"I{attempt}",
                    "category": "functional",
                    "severity": "high",
                    "description": criteria[0] if criteria else "The change does not work",
                    "expected": "The criterion holds",
                    "actual": "It fails for one user segment",
                    "evidence": "integration test output",
                    "fix_instruction": "Handle the failing segment",
                    "files": ["app/feature.py"],
                }
            ],
            "notes": f"Attempt {attempt} fails one criterion.",
            "next_action": "Developer fixes the listed issue only",
        }
    return {
        "verdict": "PASS",
        "criteria": [
            {"criterion": c, "status": "pass", "evidence": "test run log, all green"}
            for c in criteria
        ],
        "issues": [],
        "notes": f"Every criterion passed on attempt {attempt}.",
        "next_action": "Hand over to the Reality Checker",
    }


@_handles("ReleaseReadinessNarrative")
def _readiness(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    return {
        "verdict": author.scenario.readiness,
        "rationale": f"QA verdict {facts.get('qa_verdict')}; every release check was reviewed.",
        "blocking_issues": [],
        "evidence_reviewed": [str(e) for e in (facts.get("evidence") or [])][:5] or ["QA verdict"],
    }


@_handles("DeployDecisionNarrative")
def _deploy(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    item_id, _ = _item(facts)
    flag = re.sub(r"[^a-z0-9]+", "-", item_id.lower()).strip("-") or "change"
    return {
        "action": author.scenario.deploy_action,
        "strategy": "feature_flag",
        "flag_name": f"ff-{flag}",
        "rollout_pct": 10,
        "rollback_plan": "Turn the flag off; no data migration is involved.",
        "rationale": "A flag limits the blast radius while the KPIs are watched.",
    }


@_handles("IncidentTriageNarrative")
def _triage(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    service = str(facts.get("service") or "the service")
    return {
        "proposed_severity": author.scenario.proposed_severity,
        "rationale": f"Severity floor {facts.get('severity_floor')} by rule; impact judged from the alert.",
        "affected_users": "users of " + service,
        "affected_services": [service],
        "affected_data": "none known",
        "suspected_breach_or_data_loss": False,
        "revenue_impact": False,
        "suspected_cause": author.scenario.suspected_cause,
        "first_actions": ["Acknowledge the alert", "Check recent deploys", "Post a status update"],
    }


_ESCALATION_OPTIONS = ("reassign", "decompose", "revise_scope", "accept_with_risk", "defer")


@_handles("EscalationNarrative")
def _escalation(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    history = [h for h in facts.get("history") or [] if isinstance(h, dict)]
    return {
        "root_cause": {
            "why": f"The same criterion failed in {len(history) or facts.get('attempts', 3)} attempts.",
            "systemic": False,
            "scoping_problem": True,
        },
        "options": [
            {
                "option": option,
                "description": f"{option.replace('_', ' ')} the task",
                "pros": "unblocks the sprint",
                "cons": "costs time or scope",
            }
            for option in _ESCALATION_OPTIONS
        ],
        "recommended_option": "defer",
        "impact": {
            "blocking": "Blocks only this item",
            "timeline": "Slips one sprint",
            "quality": "No change shipped, so no quality risk",
        },
    }
