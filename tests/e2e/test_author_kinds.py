"""The PlaybookAuthor writes, for every artifact kind an agent can output, a narrative
that composes with the facts the real builder computes on the demo workspace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nexus_agents.agents.roster import load_roster
from nexus_agents.artifacts.base import Artifact
from nexus_agents.artifacts.registry import get_artifact
from nexus_agents.data.context import use_workspace
from nexus_agents.data.demo import DemoFacts
from nexus_agents.data.workspace import Workspace
from nexus_agents.facts import FactsContext, builder_for
from nexus_agents.graphs.loader import load_graph_specs
from nexus_agents.graphs.spec import AgentStep, iter_steps
from nexus_agents.llm.schema import response_format_for
from nexus_agents.periods import parse_period
from nexus_agents.runtime.prompting import PromptParts, build_messages
from nexus_agents.testing.playbook_author import (
    PlaybookAuthor,
    facts_of,
    handled_schemas,
)

P0_ALERT = {"id": "ALERT-1", "service": "api", "service_down": True}

# kind -> (period, inputs, step options) the builder needs on the demo workspace
CASES: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "daily_metrics_snapshot": ("2026-11-26", {}, {}),
    "support_ticket_summary": ("2026-11-26", {}, {}),
    "health_status_report": ("2026-11-26", {}, {}),
    "weekly_analytics_report": ("2026-W47", {}, {}),
    "weekly_feedback_summary": ("2026-W47", {}, {}),
    "sprint_plan": ("2026-W47", {}, {}),
    "growth_metrics_report": ("2026-W47", {}, {}),
    "weekly_status_update": ("2026-W47", {}, {}),
    "feedback_insights": ("2026-W47", {}, {}),
    "bi_weekly_insights_report": ("2026-BW23", {}, {}),
    "experiment_results_summary": ("2026-BW23", {}, {}),
    "published_content_report": ("2026-BW23", {}, {}),
    "platform_engagement_plan": ("2026-BW23", {}, {"platform": "twitter"}),
    "monthly_executive_summary": ("2026-10", {}, {}),
    "monthly_financial_report": ("2026-10", {}, {}),
    "compliance_status_report": ("2026-11", {}, {}),
    "monthly_market_brief": ("2026-10", {}, {}),
    "brand_health_report": ("2026-10", {}, {}),
    "monthly_growth_review": ("2026-10", {}, {}),
    "content_ops_review": ("2026-10", {}, {}),
    "quarterly_strategic_review": ("2026-Q3", {}, {}),
    "optimization_report": ("2026-Q3", {}, {}),
    "quarterly_performance_report": ("2026-Q3", {}, {}),
    "tech_debt_assessment": ("2026-Q3", {}, {}),
    "preconditions_report": ("2026-11-26", {}, {}),
    "sprint_record": ("2026-10", {}, {}),
    "standard_handoff": (
        "2026-W47",
        {"item_id": "BL-008"},
        {"from": "studio_producer", "to": "developer"},
    ),
    "developer_change_proposal": ("2026-W47", {"item_id": "BL-008"}, {}),
    "qa_verdict": ("2026-W47", {"item_id": "BL-008"}, {}),
    "release_readiness": ("2026-W47", {"item_id": "BL-008"}, {}),
    "deploy_decision": ("2026-W47", {"item_id": "BL-008"}, {}),
    "escalation": ("2026-W47", {"item_id": "BL-008"}, {}),
    "incident_triage": ("2026-11-26", {"alert": P0_ALERT}, {}),
    "incident": ("2026-11-26", {"alert": P0_ALERT}, {}),
    "status_page_update": ("2026-11-26", {"alert": P0_ALERT}, {}),
    "executive_incident_brief": ("2026-11-26", {"alert": P0_ALERT}, {}),
    "post_mortem": ("2026-10", {}, {}),
}


class _AnyTool(frozenset[str]):
    def __contains__(self, item: object) -> bool:
        return True


def agent_output_kinds() -> set[str]:
    """Every kind an agent step of a shipped graph, an agent or one of its cadences outputs."""
    roster = load_roster(known_tools=_AnyTool())
    kinds = {get_artifact(spec.output).kind for spec in roster}
    kinds |= {get_artifact(c.output).kind for spec in roster for c in spec.cadences if c.output}
    for spec in load_graph_specs().values():
        for step in iter_steps(spec.steps):
            if isinstance(step, AgentStep) and not step.options.get("agent_from_input"):
                kinds.add(get_artifact(step.output or roster.get(step.agent).output).kind)
    return kinds


def request_for(cls: type[Artifact], facts: dict[str, Any]) -> dict[str, Any]:
    """The chat-completion request body the runtime sends for ``cls`` with ``facts``."""
    messages = build_messages("You are an agent.", PromptParts(task="Write it.", facts=facts))
    fmt = response_format_for(cls.narrative_model())
    return {
        "messages": [m.model_dump(exclude_none=True) for m in messages],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": fmt.name, "schema": fmt.json_schema, "strict": fmt.strict},
        },
    }


def compose(ws: Workspace, kind: str, author: PlaybookAuthor) -> Artifact:
    period_label, inputs, options = CASES[kind]
    period = parse_period(period_label)
    cls = get_artifact(kind)
    ctx = FactsContext(
        workspace=ws,
        period=period,
        as_of=min(ws.now(), period.end),
        state={"inputs": {"period": period_label, **inputs}, "values": {}, "artifacts": {}},
        options=options,
    )
    with use_workspace(ws):
        bundle = builder_for(kind)(ctx)
    request = request_for(cls, {**bundle.facts, **bundle.context})
    assert facts_of(request) == json.loads(
        json.dumps({**bundle.facts, **bundle.context}, default=str)
    )
    reply = author(request)
    assert reply is not None
    return cls.compose(bundle.facts, json.loads(reply["content"]))


def test_every_agent_output_kind_has_a_case_and_a_handler() -> None:
    kinds = agent_output_kinds() - {"loop_ledger"}  # the ledger has no narrative
    assert sorted(kinds - set(CASES)) == []
    unhandled = {get_artifact(k).narrative_model().__name__ for k in kinds} - handled_schemas()
    assert sorted(unhandled) == []


@pytest.mark.parametrize("kind", sorted(CASES))
def test_author_narrative_composes_with_real_facts(demo: tuple[Path, DemoFacts], kind: str) -> None:
    artifact = compose(Workspace(demo[0]), kind, PlaybookAuthor())
    assert artifact.kind == kind
