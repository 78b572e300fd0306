"""Rules on a model's answer live where the model can see them, or code owns them.

For each rule: what the model is sent (the schema of that call), what it is told when an
answer breaks the rule (the rule, the offending value, the allowed values), that a second
answer following the message passes, and what is recorded when repairs do not help
(a safe default with its reason, or a failure naming the rule).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from nexus_agents.agents.roster import load_roster
from nexus_agents.artifacts.registry import get_artifact
from nexus_agents.config import LLMConfig
from nexus_agents.exceptions import StructuredOutputError
from nexus_agents.llm import ScriptedModel
from nexus_agents.llm.interface import ChatRequest
from nexus_agents.runtime.agent_runner import AgentOutcome, FactBundle, run_agent
from tests.artifacts.samples import sample_parts

ROSTER = load_roster()


async def ask(
    agent: str, kind: str, facts: dict[str, Any], script: list[Any], *, repair_rounds: int = 2
) -> tuple[AgentOutcome, ScriptedModel]:
    with ScriptedModel(script) as model:
        outcome = await run_agent(
            model,
            ROSTER.get(agent),
            bundle=FactBundle(facts=facts),
            task="write it",
            output=kind,
            llm=LLMConfig(repair_rounds=repair_rounds),
        )
    return outcome, model


def schema_of(request: ChatRequest) -> dict[str, Any]:
    assert request.response_format is not None
    return request.response_format.json_schema


def told(model: ScriptedModel, call: int) -> str:
    """The repair message sent with call number ``call`` (1-based)."""
    return model.requests[call - 1].messages[-1].content or ""


# --- market brief: cites only the sources provided ------------------------------------------


def brief_parts() -> tuple[dict[str, Any], dict[str, Any]]:
    facts, narrative = sample_parts(get_artifact("monthly_market_brief"))
    source = facts["sources"][0]
    facts["sources"] = [{**source, "source_id": "S1"}, {**source, "source_id": "S2"}]
    return facts, narrative


def cite(narrative: dict[str, Any], source_id: str) -> dict[str, Any]:
    out = json.loads(json.dumps(narrative))
    out["trends"][0]["source_ids"] = [source_id]
    out["competitor_moves"][0]["source_ids"] = ["S1"]
    return out


async def test_market_brief_is_sent_the_source_ids_and_told_which_citation_is_wrong() -> None:
    facts, narrative = brief_parts()
    outcome, model = await ask(
        "trend_researcher",
        "monthly_market_brief",
        facts,
        [cite(narrative, "S9"), cite(narrative, "S2")],
    )
    schema = schema_of(model.requests[0])
    trend = schema["properties"]["trends"]["items"]
    assert trend["properties"]["source_ids"]["items"]["enum"] == ["S1", "S2"]
    message = told(model, 2)
    assert "breaks these rules" in message and "does not match" not in message
    assert "rule: trends[0].source_ids[0] must be one of [S1, S2]" in message
    assert "got 'S9'" in message
    assert outcome.artifact.narrative.trends[0].source_ids == ["S2"]  # type: ignore[attr-defined]
    assert outcome.calls == 2 and outcome.artifact.meta.defaulted is None


async def test_market_brief_without_sources_may_not_cite_anything() -> None:
    facts, narrative = brief_parts()
    facts["sources"] = []
    empty = {**narrative, "trends": [], "competitor_moves": []}
    outcome, model = await ask(
        "trend_researcher", "monthly_market_brief", facts, [cite(narrative, "S1"), empty]
    )
    props = schema_of(model.requests[0])["properties"]
    assert props["trends"]["maxItems"] == 0 and props["competitor_moves"]["maxItems"] == 0
    assert "no sources were provided" in props["trends"]["description"]
    assert "rule: trends may have at most 0 item(s)" in told(model, 2)
    assert outcome.artifact.narrative.trends == []  # type: ignore[attr-defined]


async def test_market_brief_leaves_out_unsourced_claims_when_repairs_fail() -> None:
    facts, narrative = brief_parts()
    bad = cite(narrative, "S9")
    outcome, _ = await ask("trend_researcher", "monthly_market_brief", facts, [bad, bad, bad])
    brief = outcome.artifact.narrative
    assert brief.trends == [] and len(brief.competitor_moves) == 1  # type: ignore[attr-defined]
    reason = outcome.artifact.meta.defaulted or ""
    assert "1 trend(s) or competitor move(s) citing unknown sources were left out" in reason
    assert "S9" in reason


# --- experiment decisions -------------------------------------------------------------------


def experiment_facts(significant: tuple[bool, ...]) -> dict[str, Any]:
    facts, _ = sample_parts(get_artifact("experiment_results_summary"))
    stat = facts["experiments"][0]
    facts["experiments"] = [
        {**stat, "experiment_id": f"EXP-{i + 1}", "significant": flag}
        for i, flag in enumerate(significant)
    ]
    return facts


def decisions(*pairs: tuple[str, str]) -> dict[str, Any]:
    return {
        "summary": "Two tests ran.",
        "decisions": [{"experiment_id": e, "decision": d, "rationale": "p=0.2"} for e, d in pairs],
        "next_experiments": [],
    }


async def test_experiment_decisions_are_sent_the_ids_and_a_go_needs_significance() -> None:
    facts = experiment_facts((True, False))
    bad = decisions(("EXP-1", "go"), ("EXP-2", "go"))
    good = decisions(("EXP-1", "go"), ("EXP-2", "continue"))
    outcome, model = await ask(
        "experiment_tracker", "experiment_results_summary", facts, [bad, good]
    )
    item = schema_of(model.requests[0])["properties"]["decisions"]["items"]
    assert item["properties"]["experiment_id"]["enum"] == ["EXP-1", "EXP-2"]
    message = told(model, 2)
    assert "rule: experiment 'EXP-2' is not significant; decide no_go or continue" in message
    assert outcome.calls == 2
    assert [d.decision for d in outcome.artifact.narrative.decisions] == ["go", "continue"]  # type: ignore[attr-defined]


async def test_no_go_is_offered_when_no_experiment_is_significant() -> None:
    facts = experiment_facts((False,))
    _, model = await ask(
        "experiment_tracker",
        "experiment_results_summary",
        facts,
        [decisions(("EXP-1", "continue"))],
    )
    item = schema_of(model.requests[0])["properties"]["decisions"]["items"]
    assert item["properties"]["decision"]["enum"] == ["no_go", "continue"]


async def test_an_unknown_experiment_is_named_with_the_known_ones() -> None:
    facts = experiment_facts((True, False))
    outcome, model = await ask(
        "experiment_tracker",
        "experiment_results_summary",
        facts,
        [decisions(("EXP-9", "go")), decisions(("EXP-1", "go"))],
    )
    assert "decisions[0].experiment_id must be one of [EXP-1, EXP-2]" in told(model, 2)
    assert "got 'EXP-9'" in told(model, 2)
    assert outcome.calls == 2


async def test_experiment_safe_default_drops_unknown_and_turns_go_into_continue() -> None:
    facts = experiment_facts((True, False))
    bad = decisions(("EXP-9", "go"), ("EXP-2", "go"), ("EXP-1", "go"))
    outcome, _ = await ask(
        "experiment_tracker", "experiment_results_summary", facts, [bad, bad, bad]
    )
    kept = outcome.artifact.narrative.decisions  # type: ignore[attr-defined]
    assert [(d.experiment_id, d.decision) for d in kept] == [("EXP-2", "continue"), ("EXP-1", "go")]
    assert "became continue, by rule" in (outcome.artifact.meta.defaulted or "")
    assert outcome.calls == 3


# --- developer proposal and escalation: code owns the ids -----------------------------------


def proposal_facts(issue_ids: list[str]) -> dict[str, Any]:
    facts, _ = sample_parts(get_artifact("developer_change_proposal"))
    issue = facts["qa_issues"][0]
    facts["qa_issues"] = [{**issue, "id": i} for i in issue_ids]
    facts["attempt"] = 2 if issue_ids else 1
    return facts


async def test_addressed_issue_ids_are_code_owned_not_asked_for() -> None:
    _, narrative = sample_parts(get_artifact("developer_change_proposal"))
    answer = {k: v for k, v in narrative.items() if k != "addressed_issue_ids"}
    for ids in ([], ["I1", "I2"]):
        outcome, model = await ask(
            "developer", "developer_change_proposal", proposal_facts(ids), [answer]
        )
        schema = schema_of(model.requests[0])
        assert "addressed_issue_ids" not in schema["properties"]
        assert "addressed_issue_ids" not in schema["required"]
        assert outcome.artifact.narrative.addressed_issue_ids == ids  # type: ignore[attr-defined]
    # a model that sends them anyway (an older prompt) cannot change them
    invented = {**answer, "addressed_issue_ids": ["I9"]}
    outcome, _ = await ask("developer", "developer_change_proposal", proposal_facts([]), [invented])
    assert outcome.artifact.narrative.addressed_issue_ids == []  # type: ignore[attr-defined]


async def test_escalation_options_are_labelled_by_code_in_a_fixed_order() -> None:
    facts, narrative = sample_parts(get_artifact("escalation"))
    answer = {
        **narrative,
        "options": [{k: v for k, v in o.items() if k != "option"} for o in narrative["options"]],
    }
    outcome, model = await ask("agents_orchestrator", "escalation", facts, [answer])
    options = schema_of(model.requests[0])["properties"]["options"]
    assert "option" not in options["items"]["properties"]
    assert (
        "in this order: reassign, decompose, revise_scope, accept_with_risk, defer"
        in (options["description"])
    )
    labelled = [o.option for o in outcome.artifact.narrative.options]  # type: ignore[attr-defined]
    assert labelled == ["reassign", "decompose", "revise_scope", "accept_with_risk", "defer"]


# --- deploy decision: a flagged deploy needs a flag name ------------------------------------


def deploy_parts() -> tuple[dict[str, Any], dict[str, Any]]:
    facts, narrative = sample_parts(get_artifact("deploy_decision"))
    facts["readiness"] = "READY"
    flagged = {**narrative, "action": "deploy", "strategy": "feature_flag", "flag_name": ""}
    return facts, flagged


async def test_a_flagged_deploy_without_a_flag_name_is_told_and_repaired() -> None:
    facts, flagged = deploy_parts()
    fixed = {**flagged, "flag_name": "onboarding_v2"}
    outcome, model = await ask("devops_automator", "deploy_decision", facts, [flagged, fixed])
    flag = schema_of(model.requests[0])["properties"]["flag_name"]
    assert "required for a flagged one" in flag["description"]
    assert "rule: a feature-flag deploy needs a flag_name; got an empty flag_name" in told(model, 2)
    assert outcome.artifact.narrative.action == "deploy"  # type: ignore[attr-defined]


async def test_a_deploy_decision_that_stays_incomplete_holds_and_says_why() -> None:
    facts, flagged = deploy_parts()
    outcome, _ = await ask("devops_automator", "deploy_decision", facts, [flagged] * 3)
    assert outcome.artifact.narrative.action == "hold"  # type: ignore[attr-defined]
    reason = outcome.artifact.meta.defaulted or ""
    assert reason.startswith("Action set to hold by rule")
    assert "feature-flag deploy needs a flag_name" in reason
    assert "Action set to hold by rule" in outcome.artifact.narrative.rationale  # type: ignore[attr-defined]
    assert "Action set to hold by rule" in outcome.artifact.to_markdown()


# --- executive summary: no safe default, so the rule is named in the failure ----------------


def summary_parts(words: int) -> tuple[dict[str, Any], dict[str, Any]]:
    facts, narrative = sample_parts(get_artifact("monthly_executive_summary"))
    narrative["answer"] = "word " * words
    return facts, narrative


async def test_a_too_long_summary_is_told_its_word_count_and_repaired() -> None:
    facts, long = summary_parts(600)
    _, short = summary_parts(50)
    outcome, model = await ask(
        "executive_summary_generator", "monthly_executive_summary", facts, [long, short]
    )
    assert "under 500 words" in schema_of(model.requests[0]).get("description", "")
    assert "words; it must stay under 500" in told(model, 2)
    assert outcome.calls == 2


async def test_a_summary_that_stays_too_long_fails_naming_the_rule() -> None:
    facts, long = summary_parts(600)
    with pytest.raises(StructuredOutputError) as info:
        await ask("executive_summary_generator", "monthly_executive_summary", facts, [long] * 3)
    message = str(info.value)
    assert message.startswith("agent executive_summary_generator: output broke a rule:")
    assert "it must stay under 500" in message
    assert "did not match the schema" not in message
    assert info.value.rule_errors and not info.value.schema_errors


async def test_repair_rounds_follow_the_config() -> None:
    facts, long = summary_parts(600)
    model = ScriptedModel([long] * 4)
    with pytest.raises(StructuredOutputError):
        await run_agent(
            model,
            ROSTER.get("executive_summary_generator"),
            bundle=FactBundle(facts=facts),
            task="write it",
            llm=LLMConfig(repair_rounds=3),
        )
    assert len(model.requests) == 4
    assert LLMConfig().repair_rounds == 2
