"""A deterministic stand-in for the model that writes rule-respecting narratives.

``PlaybookAuthor`` reads the facts block of an agent request (see
``nexus_agents.runtime.prompting``) and answers with a narrative that cites those facts
and respects the artifact's rules (QA checks every acceptance criterion, a retry
addresses exactly the listed QA issues, a deploy names its flag ...). Kinds it has no
handler for get a schema-valid instance from the schema faker.

It serves three purposes: recording the demo's model responses, answering for the mock
server in benchmarks and fault tests, and scripting scenarios in tests (QA failing the
first N attempts, a proposed incident severity, a release held back).

Every narrative an agent of the shipped roster or graphs can be asked for has a handler
(``handled_schemas()``); each one respects its artifact's validators (five whys, owned
prevention actions, a quantified executive summary under 500 words, only given sources
cited, no "go" on a non-significant test ...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from nexus_agents.testing.schema_faker import fake_instance

__all__ = ["AuthorScenario", "PlaybookAuthor", "facts_of", "handled_schemas"]

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


def handled_schemas() -> frozenset[str]:
    """The narrative schema names the author writes itself (the rest come from the faker)."""
    return frozenset(_HANDLERS)


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


@_handles("WeeklyAnalyticsNarrative")
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
    _, title = _item(facts)
    # Without recorded criteria QA checks the change against its own description.
    criteria = [str(c) for c in facts.get("acceptance_criteria") or []] or [
        f"{title} works as described",
        "Automated tests pass",
    ]
    # cite what code observed: every evidence item of the facts that did not fail
    refs = [
        str(e.get("id"))
        for e in facts.get("evidence") or []
        if isinstance(e, dict) and e.get("passed") is not False
    ][:10]
    if attempt <= author.scenario.qa_failures:
        return {
            "verdict": "FAIL",
            "criteria": [
                {
                    "criterion": c,
                    "status": "fail" if i == 0 else "pass",
                    "evidence": "test run log",
                    "evidence_refs": refs,
                }
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
            {
                "criterion": c,
                "status": "pass",
                "evidence": "test run log, all green",
                "evidence_refs": refs,
            }
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


# --- generic helpers for the report handlers ---------------------------------------------


def _num(value: Any) -> str:
    """A number as a short string (two decimals at most); 'n/a' for None."""
    if isinstance(value, bool) or value is None:
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"
    return str(value)


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value or [] if isinstance(v, dict)] if isinstance(value, list) else []


def _label(facts: dict[str, Any]) -> str:
    for key in ("period", "month", "week", "quarter", "date"):
        if facts.get(key):
            return str(facts[key])
    return "the period"


def _action(action: str, owner: str, deadline: str) -> dict[str, str]:
    return {"action": action, "owner": owner, "deadline": deadline}


def _rec(text: str, rationale: str, priority: str = "medium") -> dict[str, str]:
    return {"recommendation": text, "rationale": rationale, "priority": priority}


def _risk(risk: str, impact: str, mitigation: str, likelihood: str = "medium") -> dict[str, str]:
    return {"risk": risk, "likelihood": likelihood, "impact": impact, "mitigation": mitigation}


def _kpi_short(k: dict[str, Any]) -> str:
    target = f" vs target {_num(k.get('target'))}" if k.get("target") is not None else ""
    return f"{k.get('name')} {_num(k.get('value'))}{k.get('unit') or ''}{target}"


# --- daily -------------------------------------------------------------------------------


@_handles("DailyMetricsSnapshotNarrative")
def _daily_snapshot(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    measured = [k for k in _kpis(facts) if k.get("value") is not None]
    missed = _missed(facts)
    met = [k for k in measured if k.get("meets_target") is True]
    status = "on_track" if not missed else ("watch" if len(missed) <= 2 else "off_track")
    return {
        "headline": f"{_label(facts)}: {len(met)} of {len(measured)} measured KPIs on target, "
        f"{len(missed)} off target.",
        "status": status,
        "highlights": [_kpi_short(k) for k in met[:5]],
        "concerns": [_kpi_short(k) for k in missed[:5]],
        "follow_ups": [f"Find out why {k.get('name')} is off target" for k in missed[:4]],
    }


@_handles("SupportTicketSummaryNarrative")
def _support(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    cats = sorted(_dicts(facts.get("by_category")), key=lambda c: -int(c.get("count") or 0))
    breaches = int(facts.get("sla_breaches") or 0)
    return {
        "summary": f"{_num(facts.get('tickets_opened'))} tickets opened, "
        f"{_num(facts.get('tickets_resolved'))} resolved, {_num(facts.get('open_backlog'))} open; "
        f"SLA attainment {_num(facts.get('sla_attainment_pct'))}% with {breaches} breach(es).",
        "top_issues": [f"{c.get('label')}: {c.get('count')} tickets" for c in cats[:4]],
        "escalations": [f"{breaches} ticket(s) answered after the 4-hour SLA"] if breaches else [],
        "actions": [
            _action(
                "Review every SLA breach with the on-call responder",
                "Support Responder",
                "next week",
            )
        ]
        if breaches
        else [],
    }


@_handles("SlaBreachAlertNarrative")
def _sla_alert(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    count = int(facts.get("breaching_count") or 0)
    ids = [str(t.get("id")) for t in _dicts(facts.get("breaching"))][:5]
    return {
        "summary": f"{count} ticket(s) waiting more than {_num(facts.get('sla_hours'))} h for a "
        f"first response (oldest {_num(facts.get('oldest_waited_hours'))} h).",
        "urgency": "high" if count >= 5 else ("medium" if count else "low"),
        "customer_impact": "Customers are waiting past the promised first-response time."
        if count
        else "No customer is waiting past the first-response time.",
        "next_steps": [
            _action(f"Answer tickets {', '.join(ids)} now", "Support Responder", "today")
        ]
        if ids
        else [],
        "notes": [],
    }


@_handles("HealthStatusNarrative")
def _health(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    uptime, target = facts.get("uptime_pct"), facts.get("uptime_target_pct") or 99.9
    down = [k for k in _dicts(facts.get("uptime_by_service")) if k.get("meets_target") is False]
    if isinstance(uptime, int | float) and uptime < 99.0:
        status = "critical"
    elif (
        down
        or int(facts.get("open_incidents") or 0)
        or (isinstance(uptime, int | float) and uptime < target)
    ):
        status = "degraded"
    else:
        status = "healthy"
    return {
        "status": status,
        "summary": f"Uptime {_num(uptime)}% against {_num(target)}%; MTTR "
        f"{_num(facts.get('mttr_minutes'))} min; {_num(facts.get('open_incidents'))} open incident(s); "
        f"{_num(facts.get('deploys'))} deploy(s), {_num(facts.get('failed_deploys'))} failed.",
        "risks": [_kpi_short(k) for k in down[:5]],
        "actions": [
            _action(f"Restore {k.get('name')} to target", "Infrastructure Maintainer", "today")
            for k in down[:3]
        ],
    }


# --- weekly ------------------------------------------------------------------------------


@_handles("WeeklyFeedbackNarrative")
def _weekly_feedback(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    themes = [t for t in _dicts(facts.get("themes")) if int(t.get("count") or 0) > 0]
    return {
        "summary": f"{_num(facts.get('feedback_count'))} feedback items, NPS {_num(facts.get('nps'))}.",
        "themes": [
            {
                "theme": str(t.get("theme")),
                "what_users_say": f"{t.get('count')} mentions (previously {_num(t.get('previous_count'))})",
                "implication": f"Sentiment {_num(t.get('sentiment'))} on {t.get('theme')}",
            }
            for t in themes[:5]
        ],
        "recommended_actions": [f"Look into the {t.get('theme')} feedback" for t in themes[:3]],
    }


@_handles("GrowthMetricsNarrative")
def _growth(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    channels = sorted(_dicts(facts.get("channels")), key=lambda c: -int(c.get("new_users") or 0))
    funnel = _dicts(facts.get("funnel"))
    return {
        "summary": f"{_num(facts.get('new_users'))} new users ({_num(facts.get('wow_growth_pct'))}% "
        f"week over week); LTV:CAC {_num(facts.get('ltv_cac_ratio'))}.",
        "channel_findings": [
            f"{c.get('channel')}: {c.get('new_users')} users for {_num(c.get('spend'))} spend"
            for c in channels[:5]
        ],
        "funnel_findings": [
            f"{s.get('stage')}: {s.get('users')} users ({_num(s.get('conversion_pct'))}% from the step before)"
            for s in funnel[:5]
        ],
        "next_experiments": [
            _rec(f"Test a new offer on {c.get('channel')}", f"{c.get('new_users')} users this week")
            for c in channels[:2]
        ],
    }


@_handles("WeeklyStatusNarrative")
def _status(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    blocked = int(facts.get("blocked_tasks") or 0)
    incidents = int(facts.get("open_incidents") or 0)
    status = "BLOCKED" if blocked else ("AT_RISK" if incidents else "ON_TRACK")
    return {
        "status": status,
        "summary": f"{_num(facts.get('tasks_done'))} of {_num(facts.get('tasks_planned'))} tasks done; "
        f"{blocked} blocked; {incidents} open incident(s); {_num(facts.get('deployments'))} deployments.",
        "accomplishments": [f"{_num(facts.get('deployments'))} deployments shipped"],
        "risks": [
            _risk(
                "Open incidents pull people off planned work", "Tasks slip", "Keep on-call separate"
            )
        ]
        if incidents
        else [],
        "dependencies": [],
        "asks": [],
    }


# --- bi-weekly -----------------------------------------------------------------------------


@_handles("BiWeeklyInsightsNarrative")
def _biweekly(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    themes = _dicts(facts.get("themes"))
    grew = [t for t in themes if int(t.get("count") or 0) > int(t.get("previous_count") or 0)]
    faded = [t for t in themes if int(t.get("count") or 0) < int(t.get("previous_count") or 0)]
    return {
        "summary": f"{_num(facts.get('feedback_count'))} feedback items; NPS {_num(facts.get('nps'))} "
        f"(previously {_num(facts.get('previous_nps'))}).",
        "insights": [
            {
                "title": f"{t.get('theme')} is raised more often",
                "evidence": f"{t.get('count')} mentions, up from {_num(t.get('previous_count'))}",
                "recommendation": f"Put a {t.get('theme')} fix on the backlog",
                "confidence": "medium",
            }
            for t in grew[:4]
        ],
        "emerging_themes": [f"{t.get('theme')} ({t.get('count')})" for t in grew[:5]],
        "fading_themes": [f"{t.get('theme')} ({t.get('count')})" for t in faded[:5]],
    }


@_handles("ExperimentResultsNarrative")
def _experiments(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    decisions = []
    for e in _dicts(facts.get("experiments")):
        significant = e.get("significant") is True
        lift = e.get("lift_pct")
        if significant and isinstance(lift, int | float) and lift > 0:
            decision = "go"
        elif significant:
            decision = "no_go"
        else:
            decision = "continue"
        decisions.append(
            {
                "experiment_id": str(e.get("experiment_id")),
                "decision": decision,
                "rationale": f"lift {_num(lift)}%, p = {_num(e.get('p_value'))}, "
                f"{'significant' if significant else 'not significant'}",
            }
        )
    return {
        "summary": f"{len(decisions)} experiment(s) evaluated; "
        f"{sum(d['decision'] == 'go' for d in decisions)} ship.",
        "decisions": decisions[:20],
        "next_experiments": [
            f"Keep {d['experiment_id']} running to the required sample size"
            for d in decisions
            if d["decision"] == "continue"
        ][:5],
    }


def _platforms(facts: dict[str, Any]) -> list[dict[str, Any]]:
    return _dicts(facts.get("platforms"))


def _below(p: dict[str, Any]) -> bool:
    low = p.get("target_min")
    return isinstance(low, int) and int(p.get("posts") or 0) < low


@_handles("PublishedContentNarrative")
def _published(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    ranked = sorted(_platforms(facts), key=lambda p: -(p.get("engagement_rate_pct") or 0.0))
    return {
        "summary": f"{_num(facts.get('total_posts'))} posts across {len(ranked)} platform(s).",
        "top_performers": [
            f"{p.get('platform')}: {_num(p.get('engagement_rate_pct'))}% engagement"
            for p in ranked[:2]
        ],
        "underperformers": [
            f"{p.get('platform')}: {p.get('posts')} posts, cadence minimum {p.get('target_min')}"
            for p in ranked
            if _below(p)
        ][:5],
        "calendar_adjustments": [
            f"Schedule more {p.get('platform')} posts" for p in ranked if _below(p)
        ][:5],
    }


@_handles("PlatformEngagementNarrative")
def _platform_plan(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    a = facts.get("activity") if isinstance(facts.get("activity"), dict) else {}
    platform = str(a.get("platform") or "the platform")
    below = _below(a)
    return {
        "summary": f"{platform}: {_num(a.get('posts'))} posts, {_num(a.get('engagement_rate_pct'))}% "
        f"engagement; {_num(facts.get('unanswered_mentions'))} unanswered mention(s).",
        "cadence_assessment": (
            f"Below the cadence minimum of {a.get('target_min')} posts"
            if below
            else "Within the playbook cadence"
        ),
        "planned_posts": [
            {"day": day, "format": "post", "topic": f"{platform} product tip", "goal": "engagement"}
            for day in ("Monday", "Wednesday", "Friday")
        ],
        "engagement_actions": ["Answer every open mention within a day"],
        "community_risks": [],
    }


# --- monthly -------------------------------------------------------------------------------


@_handles("MonthlyExecutiveSummaryNarrative")
def _exec_summary(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    measured = [k for k in _kpis(facts) if k.get("value") is not None]
    missed = _missed(facts)
    met = [k for k in measured if k.get("meets_target") is True]
    month = _label(facts)
    worst = missed[0] if missed else None
    return {
        "situation": f"In {month}, {len(met)} of {len(measured)} measured KPIs met their target.",
        "complication": (
            f"{len(missed)} KPI(s) missed, led by {_kpi_short(worst)}."
            if worst
            else "No KPI missed its target."
        ),
        "question": "What must change next month to bring every KPI to target?",
        "answer": (
            f"Focus the next sprint on {worst.get('name')}." if worst else "Keep the current plan."
        ),
        "key_findings": [_kpi_short(k) for k in (missed + met)[:6]]
        or [f"0 KPIs measured for {month}"],
        "decisions_needed": [f"Approve a sprint goal for {k.get('name')}" for k in missed[:2]],
    }


@_handles("MonthlyFinancialNarrative")
def _finance(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    over = [
        b
        for b in _dicts(facts.get("budget_variance"))
        if not str(b.get("category", "")).lower().startswith("revenue")
        and isinstance(b.get("actual"), int | float)
        and isinstance(b.get("budget"), int | float)
        and b["actual"] > b["budget"]
    ]
    costs = _dicts(facts.get("costs_by_category"))
    forecast = _dicts(facts.get("forecast"))
    cur = facts.get("currency") or "USD"
    return {
        "summary": f"MRR {_num(facts.get('mrr'))} {cur} (ARR {_num(facts.get('arr'))}); "
        + (
            "over budget: " + ", ".join(f"{b.get('category')}" for b in over) + "."
            if over
            else "every category within budget."
        ),
        "revenue_analysis": f"New MRR {_num(facts.get('new_mrr'))}, expansion "
        f"{_num(facts.get('expansion_mrr'))}, churned {_num(facts.get('churned_mrr'))}.",
        "cost_analysis": "; ".join(f"{c.get('label')} {_num(c.get('amount'))}" for c in costs)
        + "."
        + "".join(
            f" {b.get('category')} spent {_num(b.get('actual'))} against a budget of "
            f"{_num(b.get('budget'))} ({_num(b.get('variance_pct'))}% over)."
            for b in over
        ),
        "unit_economics": f"CAC {_num(facts.get('cac'))}, LTV {_num(facts.get('ltv'))}, LTV:CAC "
        f"{_num(facts.get('ltv_cac_ratio'))}, payback {_num(facts.get('payback_months'))} months.",
        "forecast_commentary": "; ".join(
            f"{p.get('month')}: net {_num(p.get('net_cash_flow'))}" for p in forecast[:3]
        )
        or "No forecast could be computed.",
        "risks": [
            _risk(f"{b.get('category')} stays over budget", "Lower cash flow", "Review the spend")
            for b in over[:3]
        ],
        "recommendations": [
            _rec(
                f"Bring {b.get('category')} back within budget",
                f"{_num(b.get('variance_pct'))}% over",
                "high",
            )
            for b in over[:3]
        ],
    }


@_handles("ComplianceStatusNarrative")
def _compliance(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    adherence = facts.get("adherence_pct")
    overdue = [str(i) for i in facts.get("overdue_items") or []]
    failing = _dicts(facts.get("non_compliant_controls"))
    if overdue or (isinstance(adherence, int | float) and adherence < 90):
        status = "non_compliant"
    elif failing or (isinstance(adherence, int | float) and adherence <= 98):
        status = "at_risk"
    else:
        status = "compliant"
    return {
        "status": status,
        "summary": f"Adherence {_num(adherence)}% ({_num(facts.get('passing_controls'))} of "
        f"{_num(facts.get('applicable_controls'))} controls) against a target above 98%; "
        f"{len(overdue)} overdue item(s)" + (": " + ", ".join(overdue) if overdue else "") + ".",
        "regulatory_updates": [],
        "privacy": f"{_num(facts.get('open_data_subject_requests'))} open data-subject request(s), "
        f"{_num(facts.get('overdue_data_subject_requests'))} overdue.",
        "security": "; ".join(
            f"{c.get('label')}: {c.get('count')}"
            for c in _dicts(facts.get("vulnerabilities_by_severity"))
        )
        or "No vulnerability data in the workspace.",
        "audit_readiness": f"{len(failing)} control(s) lack passing evidence.",
        "actions": [
            _action(f"Close control {item}", "Legal Compliance Checker", "this week")
            for item in overdue
        ]
        + [
            _action(
                f"Close control {c.get('control_id')}",
                "Legal Compliance Checker",
                str(c.get("due_on") or "next month"),
            )
            for c in failing
            if not any(item.startswith(str(c.get("control_id"))) for item in overdue)
        ][: max(0, 10 - len(overdue))],
    }


@_handles("MonthlyMarketBriefNarrative")
def _market(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    sources = _dicts(facts.get("sources"))
    return {
        "summary": f"{len(sources)} source(s) reviewed for {_label(facts)}."
        + ("" if sources else " No sources were provided, so no trend is claimed."),
        "trends": [
            {
                "trend": str(s.get("title")),
                "evidence": f"Reported in {s.get('source_id')}",
                "source_ids": [str(s.get("source_id"))],
                "implication": "Check the roadmap against it",
            }
            for s in sources[:5]
        ],
        "competitor_moves": [],
        "opportunities": [],
        "threats": [],
    }


@_handles("BrandHealthNarrative")
def _brand(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    pct = facts.get("consistency_pct")
    status = (
        "stable"
        if pct is None
        else ("strong" if pct >= 95 else "stable" if pct >= 85 else "at_risk")
    )
    return {
        "status": status,
        "summary": f"{_num(facts.get('assets_audited'))} assets audited; consistency {_num(pct)}%.",
        "findings": []
        if pct is None or pct >= 95
        else [
            {
                "area": "visual identity",
                "finding": f"{_num(pct)}% of audited assets are consistent",
                "severity": "medium",
                "recommendation": "Refresh the off-brand assets",
            }
        ],
        "strengths": [],
    }


@_handles("MonthlyGrowthReviewNarrative")
def _growth_review(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    channels = sorted(_dicts(facts.get("channels")), key=lambda c: -int(c.get("new_users") or 0))
    experiments = _dicts(facts.get("experiments"))
    paid_idle = [c for c in channels if (c.get("spend") or 0) > 0 and not c.get("new_users")]
    best = channels[0] if channels else None
    return {
        "channel_performance": f"MoM user growth {_num(facts.get('mom_user_growth_pct'))}% (target above 20%); "
        + ", ".join(f"{c.get('channel')} {c.get('new_users')} users" for c in channels[:5])
        + ".",
        "experiment_results": "; ".join(
            f"{e.get('experiment_id')}: lift {_num(e.get('lift_pct'))}%, "
            f"{'significant' if e.get('significant') else 'not significant'}"
            for e in experiments
        )
        or "No experiments this month.",
        "retention_analysis": "; ".join(_kpi_short(k) for k in _dicts(facts.get("retention"))[:4])
        or "No retention data.",
        "churn_risks": [],
        "next_experiments": [
            _rec(
                f"Scale {best.get('channel')}",
                f"{best.get('new_users')} new users, the most of any channel",
            )
        ]
        if best
        else [],
        "budget_reallocation": [
            {
                "from_channel": str(c.get("channel")),
                "to_channel": str(best.get("channel")),
                "reason": f"{_num(c.get('spend'))} spent for 0 new users",
            }
            for c in paid_idle[:3]
            if best and c is not best
        ],
        "new_channels": [],
    }


@_handles("ContentOpsReviewNarrative")
def _content_ops(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    platforms = _platforms(facts)
    below = [str(p) for p in facts.get("platforms_below_cadence") or []]
    return {
        "performance_review": "; ".join(
            f"{p.get('platform')} {p.get('posts')} posts, {_num(p.get('engagement_rate_pct'))}% engagement"
            for p in platforms[:8]
        )
        or "Nothing was published.",
        "editorial_calendar": [
            f"Plan the {p.get('platform')} posts for next month" for p in platforms[:4]
        ],
        "platform_updates": [],
        "strategy_changes": [f"Bring {name} back to its cadence" for name in below[:5]],
        "platform_plans": [
            {
                "platform": str(p.get("platform")),
                "cadence": f"at least {p.get('target_min')} posts"
                if p.get("target_min") is not None
                else "as planned",
                "focus": "engagement",
            }
            for p in platforms[:8]
        ],
    }


# --- quarterly -----------------------------------------------------------------------------


@_handles("StrategicReviewNarrative")
def _strategic(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    missed = _missed(facts)
    inputs = [str(i) for i in facts.get("inputs") or []]
    return {
        "market_position": f"Built on {len(inputs)} input report(s)"
        + (": " + ", ".join(inputs) if inputs else "")
        + ".",
        "product_strategy": "Address the KPIs that missed: "
        + (", ".join(_kpi_short(k) for k in missed[:4]) or "none")
        + ".",
        "growth_strategy": f"Portfolio ROI {_num(facts.get('portfolio_roi_pct'))}% (target above 25%).",
        "organizational_health": "The operating cadences ran as planned.",
        "roadmap": [
            {
                "item": f"Bring {k.get('name')} to target",
                "horizon": "now",
                "priority": "high",
                "owner": "Studio Producer",
                "rationale": _kpi_short(k),
            }
            for k in missed[:5]
        ],
        "priorities": [f"{k.get('name')} to target" for k in missed[:5]],
        "reactivate_nexus": None,
    }


@_handles("OptimizationNarrative")
def _optimization(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    return {
        "summary": f"Cycle time {_num(facts.get('cycle_time_days'))} days (previously "
        f"{_num(facts.get('previous_cycle_time_days'))}); lead time {_num(facts.get('lead_time_days'))} "
        f"days; improvement {_num(facts.get('process_improvement_pct'))}% against a 20% target; "
        f"{_num(facts.get('deploys_per_day'))} deploys per day.",
        "bottlenecks": [],
        "improvements": [],
        "retired_practices": [],
    }


@_handles("QuarterlyPerformanceNarrative")
def _performance(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    regressions = [b for b in _dicts(facts.get("benchmarks")) if b.get("regression") is True]
    return {
        "summary": f"{len(_dicts(facts.get('benchmarks')))} endpoint(s) benchmarked; "
        f"{_num(facts.get('regressions'))} regression(s).",
        "regression_analysis": [
            f"{b.get('endpoint')}: p95 {_num(b.get('p95_ms'))} ms, {_num(b.get('change_pct'))}% slower"
            for b in regressions[:8]
        ],
        "recommendations": [
            _rec(f"Profile {b.get('endpoint')}", f"p95 up {_num(b.get('change_pct'))}%", "high")
            for b in regressions[:4]
        ],
    }


@_handles("TechDebtNarrative")
def _tech_debt(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    tools = _dicts(facts.get("tools"))
    return {
        "summary": f"{len(tools)} tool(s) scored; total annual cost {_num(facts.get('total_annual_cost'))}.",
        "tool_verdicts": [
            {
                "tool": str(t.get("tool")),
                "action": "keep",
                "rationale": f"weighted score {_num(t.get('weighted_score'))}",
            }
            for t in tools[:20]
        ],
        "debt_items": [],
        "recommendations": [],
    }


# --- delivery ------------------------------------------------------------------------------


@_handles("PreconditionsNarrative")
def _preconditions(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    checks = _dicts(facts.get("checks"))
    failed = [c for c in checks if c.get("passed") is not True]
    return {
        "assessment": f"{len(checks) - len(failed)} of {len(checks)} pre-conditions met."
        + (
            "" if not failed else " Missing: " + ", ".join(str(c.get("name")) for c in failed) + "."
        ),
        "blockers": [f"{c.get('name')}: {c.get('detail')}" for c in failed[:12]],
        "recommendation": "proceed" if checks and not failed else "hold",
    }


@_handles("SprintRecordNarrative")
def _sprint_record(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    tasks = _dicts(facts.get("tasks"))
    done = [t for t in tasks if t.get("status") == "done"]
    goal_met = (
        "met" if tasks and len(done) == len(tasks) else ("partially_met" if done else "not_met")
    )
    return {
        "summary": f"{len(done)} of {len(tasks)} task(s) done; actual velocity "
        f"{_num(facts.get('actual_velocity'))} of {_num(facts.get('planned_velocity'))} planned.",
        "goal_met": goal_met,
        "lessons": [],
    }


# --- incidents -----------------------------------------------------------------------------


def _incident_id(facts: dict[str, Any]) -> str:
    return str(facts.get("incident_id") or "the incident")


@_handles("IncidentNarrative")
def _incident(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    systems = ", ".join(str(s) for s in facts.get("affected_systems") or []) or "the service"
    return {
        "what_happened": f"{_incident_id(facts)} ({facts.get('severity')}) on {systems}, detected by "
        f"{facts.get('detected_by')} at {facts.get('detected_at')}.",
        "impact": f"Users of {systems} are affected; status {facts.get('status')}.",
        "workaround": "None known yet",
        "eta": "Next update in 15 minutes",
        "suspected_cause": author.scenario.suspected_cause.replace("_", " "),
    }


@_handles("StatusPageUpdateNarrative")
def _status_page(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    resolved = facts.get("status") == "resolved"
    service = str(facts.get("service") or "the service")
    return {
        "impact": f"Some requests to {service} fail or are slow.",
        "current_action": "The issue is resolved."
        if resolved
        else f"Current status: {facts.get('status')}.",
        "message": f"We are aware of a problem with {service} and are working on it. "
        f"Next update at {facts.get('next_update_at')}."
        if not resolved
        else f"The problem with {service} is resolved.",
    }


@_handles("ExecutiveIncidentBriefNarrative")
def _exec_brief(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    return {
        "situation": f"{_incident_id(facts)} (P0) open for {_num(facts.get('minutes_open'))} minutes "
        f"since {facts.get('detected_at')}.",
        "cause": f"Suspected cause: {author.scenario.suspected_cause.replace('_', ' ')}.",
        "action": "The incident commander is mitigating; the Studio Producer approves the mitigation.",
        "impact": f"{_num(facts.get('users_affected'))} users affected; revenue at risk "
        f"{_num(facts.get('revenue_at_risk'))}.",
        "next_update": "In 15 minutes",
    }


_OWNERS = ("DevOps Automator", "Infrastructure Maintainer", "Evidence Collector")


@_handles("PostMortemNarrative")
def _post_mortem(author: PlaybookAuthor, facts: dict[str, Any]) -> dict[str, Any]:
    incident = _incident_id(facts)
    cause = author.scenario.suspected_cause.replace("_", " ")
    due = str(facts.get("due_by") or "next sprint")
    return {
        "summary": f"{incident} ({facts.get('severity')}) detected {facts.get('detected_at')}, resolved "
        f"after {_num(facts.get('minutes_to_resolve'))} minutes.",
        "five_whys": [
            f"Why did {incident} happen? The service failed its health checks.",
            f"Why did it fail? A {cause} took it down.",
            "Why was that possible? No check caught it before users did.",
            "Why was there no check? The alert covered only total outages.",
            "Why only total outages? Alert thresholds were never reviewed after launch.",
        ],
        "root_cause": f"Suspected cause {cause}; alert thresholds were never reviewed.",
        "impact": {
            "users": f"{_num(facts.get('users_affected'))} users affected",
            "revenue": f"{_num(facts.get('revenue_impact'))} revenue impact",
            "reputation": "Status page showed the outage",
            "data": f"{_num(facts.get('data_records_affected'))} records affected",
        },
        "went_well": ["The alert fired and the team assembled quickly"],
        "went_wrong": ["Users noticed before the partial failure alert"],
        "prevention_actions": [
            _action(f"Add a partial-failure alert for {incident}'s service", _OWNERS[1], due),
            _action("Review alert thresholds every quarter", _OWNERS[0], "next sprint"),
        ],
    }
