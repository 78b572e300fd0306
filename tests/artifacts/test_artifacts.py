"""Artifacts: registry lookup, Markdown rendering, safe defaults and code-enforced rules."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from nexus_agents.artifacts import all_artifacts, get_artifact
from nexus_agents.artifacts.base import Artifact
from nexus_agents.artifacts.delivery import (
    DeployDecision,
    DeveloperChangeProposal,
    ReleaseReadiness,
)
from nexus_agents.artifacts.handoffs import QaFail, QaPass, QaVerdict
from nexus_agents.artifacts.incidents import IncidentTriage
from nexus_agents.artifacts.reports_monthly import MonthlyExecutiveSummary
from nexus_agents.artifacts.reports_weekly import SprintPlan
from nexus_agents.exceptions import UnknownNameError

from .samples import sample_artifact, sample_parts

PLAYBOOK_OUTPUTS = [
    "Daily metrics snapshot",
    "Support ticket summary",
    "Health status report",
    "Weekly Analytics Report",
    "Weekly Feedback Summary",
    "Sprint Plan",
    "Growth Metrics Report",
    "Weekly Status Update",
    "Bi-Weekly Insights Report",
    "Experiment Results Summary",
    "Published Content Report",
    "Monthly Executive Summary",
    "Monthly Financial Report",
    "Compliance Status Report",
    "Monthly Market Brief",
    "Brand Health Report",
    "Quarterly Strategic Review",
    "Optimization Report",
    "Quarterly Performance Report",
    "Tech Debt Assessment",
]
RECORDS = ["standard_handoff", "qa_pass", "qa_fail", "escalation", "incident", "sprint_record"]
WORKFLOW = [
    "post_mortem",
    "incident_triage",
    "status_page_update",
    "executive_incident_brief",
    "developer_change_proposal",
    "release_readiness",
    "deploy_decision",
    "loop_ledger",
    "preconditions_report",
    "monthly_growth_review",
    "content_ops_review",
    "feedback_insights",
]
ALL = sorted(all_artifacts().items())


@pytest.mark.parametrize("title", PLAYBOOK_OUTPUTS)
def test_every_playbook_output_resolves_by_its_title(title: str) -> None:
    cls = get_artifact(title)
    assert cls.title.lower() == title.lower()
    assert get_artifact(cls.kind) is cls


@pytest.mark.parametrize("kind", RECORDS + WORKFLOW)
def test_handoff_records_and_workflow_artifacts_exist(kind: str) -> None:
    assert get_artifact(kind).kind == kind


def test_lookup_ignores_case_and_punctuation() -> None:
    assert get_artifact("bi-weekly insights report") is get_artifact("BI_WEEKLY_INSIGHTS_REPORT")
    assert get_artifact("qa pass") is QaPass
    assert get_artifact("  Sprint plan ") is SprintPlan


def test_unknown_artifact_lists_known_kinds() -> None:
    with pytest.raises(UnknownNameError) as info:
        get_artifact("quarterly vibes report")
    message = str(info.value)
    assert "quarterly vibes report" in message
    assert "sprint_plan" in message and "qa_fail" in message


def _first_scalar_fact(artifact: Artifact) -> str:
    """The first text value in the facts, searching nested records too."""

    def walk(value: Any) -> str | None:
        if isinstance(value, str) and value:
            return value
        if isinstance(value, BaseModel):
            value = [getattr(value, n) for n in type(value).model_fields]
        if isinstance(value, list):
            for item in value:
                found = walk(item)
                if found:
                    return found
        return None

    found = walk(artifact.facts)
    assert found, f"{artifact.kind} has no text fact"
    return found


@pytest.mark.parametrize(("kind", "cls"), ALL, ids=[k for k, _ in ALL])
def test_every_artifact_renders_title_and_facts(kind: str, cls: type[Artifact]) -> None:
    artifact = sample_artifact(cls)
    md = artifact.to_markdown()
    assert md.startswith(f"# {cls.title}\n")
    assert _first_scalar_fact(artifact) in md
    # every narrative field becomes a section
    for name in cls.narrative_model().model_fields:
        if getattr(artifact.narrative, name) is not None:
            assert f"## {name.replace('_', ' ').capitalize()}" in md


def _forbidden_shapes(schema: Any, path: str = "$") -> list[str]:
    """Free-form dicts and unbounded lists in a narrative schema."""
    found: list[str] = []
    if isinstance(schema, dict):
        if schema.get("type") == "object" and schema.get("additionalProperties") not in (
            None,
            False,
        ):
            found.append(f"{path}: free-form object")
        if schema.get("type") == "object" and "properties" not in schema:
            found.append(f"{path}: object without properties")
        if schema.get("type") == "array" and "maxItems" not in schema:
            found.append(f"{path}: unbounded list")
        for key, value in schema.items():
            found += _forbidden_shapes(value, f"{path}.{key}")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            found += _forbidden_shapes(value, f"{path}[{i}]")
    return found


@pytest.mark.parametrize(("kind", "cls"), ALL, ids=[k for k, _ in ALL])
def test_narrative_schemas_are_strict_friendly(kind: str, cls: type[Artifact]) -> None:
    schema = cls.narrative_model().model_json_schema()
    if kind == "loop_ledger":
        assert schema.get("properties", {}) == {}
        return
    assert _forbidden_shapes(schema) == []
    json.dumps(schema)


def test_loop_ledger_is_facts_only() -> None:
    ledger = get_artifact("loop_ledger").compose(
        {"iteration": 3, "period": "2025-W14", "deployed": ["B-17"]}, {}
    )
    assert ledger.narrative.model_dump() == {}
    assert "B-17" in ledger.to_markdown()


def test_artifact_round_trips_through_json() -> None:
    triage = sample_artifact(IncidentTriage)
    again = IncidentTriage.model_validate_json(triage.model_dump_json())
    assert again == triage


# --- QA gate ---------------------------------------------------------------------------


def _qa_facts(criteria: list[str]) -> dict[str, Any]:
    return {
        "task_id": "T-1",
        "task_description": "Export CSV",
        "developer": "Developer",
        "attempt": 1,
        "timestamp": "2025-04-01T10:00:00Z",
        "acceptance_criteria": criteria,
        "evidence": [
            {"id": "E-export", "source": "run step build", "detail": "export.csv written", "passed": True},
            {"id": "E-lint", "source": "run step build", "detail": "lint failed", "passed": False},
        ],
    }


def test_qa_verdict_defaults_to_fail() -> None:
    verdict = QaVerdict.compose(_qa_facts(["exports"]), {"criteria": [], "issues": []})
    assert verdict.narrative.verdict == "FAIL"
    assert isinstance(verdict.to_record(), QaFail)


def test_qa_pass_without_evidence_becomes_fail() -> None:
    narrative = {
        "verdict": "PASS",
        "criteria": [{"criterion": "exports", "status": "pass", "evidence": " ", "evidence_refs": []}],
        "issues": [],
    }
    verdict = QaVerdict.compose(_qa_facts(["exports", "has header row"]), narrative)
    assert verdict.narrative.verdict == "FAIL"
    assert "has header row" in verdict.narrative.notes
    record = verdict.to_record()
    assert isinstance(record, QaFail)
    assert "Fix only the issues listed" in record.to_markdown()


def test_qa_pass_with_full_evidence_stays_pass() -> None:
    narrative = {
        "verdict": "PASS",
        "criteria": [
            {
                "criterion": "Exports",
                "status": "pass",
                "evidence": "export.csv has 3 rows",
                "evidence_refs": ["E-export"],
            }
        ],
        "issues": [],
    }
    record = QaVerdict.compose(_qa_facts(["exports"]), narrative).to_record()
    assert isinstance(record, QaPass)
    assert record.narrative.verdict == "PASS"


@pytest.mark.parametrize(
    ("refs", "reason"),
    [
        ([], "cites no evidence from the facts"),  # "trust me"
        (["E-made-up"], "cites evidence the facts do not have"),
        (["E-lint"], "cites failing evidence"),
    ],
)
def test_qa_pass_must_cite_passing_evidence_from_the_facts(refs: list[str], reason: str) -> None:
    check = {"criterion": "exports", "status": "pass", "evidence": "trust me", "evidence_refs": refs}
    verdict = QaVerdict.compose(_qa_facts(["exports"]), {"verdict": "PASS", "criteria": [check], "issues": []})
    assert verdict.narrative.verdict == "FAIL"
    assert reason in verdict.narrative.notes


def test_a_failing_required_check_blocks_any_pass() -> None:
    facts = _qa_facts(["exports"])
    facts["evidence"][1]["required"] = True
    check = {"criterion": "exports", "status": "pass", "evidence": "ok", "evidence_refs": ["E-export"]}
    verdict = QaVerdict.compose(facts, {"verdict": "PASS", "criteria": [check], "issues": []})
    assert verdict.narrative.verdict == "FAIL" and "required evidence E-lint failed" in verdict.narrative.notes


def test_qa_pass_record_refuses_a_fail() -> None:
    with pytest.raises(ValidationError, match="verdict PASS"):
        QaPass.compose(_qa_facts(["exports"]), {"criteria": [], "issues": []})


def test_third_failed_attempt_must_escalate() -> None:
    facts = {**_qa_facts(["x"]), "attempt": 3}
    fail = QaFail.compose(facts, {"criteria": [], "issues": []})
    assert fail.must_escalate
    assert "escalate" in fail.to_markdown()
    assert not QaFail.compose({**facts, "attempt": 2}, {"criteria": [], "issues": []}).must_escalate
    with pytest.raises(ValidationError):
        QaFail.compose({**facts, "attempt": 4}, {"criteria": [], "issues": []})


# --- readiness and deploy --------------------------------------------------------------


def _readiness(qa: str, verdict: str | None, evidence: list[str]) -> ReleaseReadiness:
    narrative: dict[str, Any] = {
        "rationale": "looks fine",
        "blocking_issues": [],
        "evidence_reviewed": [],
    }
    if verdict is not None:
        narrative["verdict"] = verdict
    facts = {"item_id": "B-1", "qa_verdict": qa, "qa_attempts": 1, "evidence": evidence}
    return ReleaseReadiness.compose(facts, narrative)  # type: ignore[return-value]


def test_readiness_defaults_to_needs_work() -> None:
    assert _readiness("PASS", None, ["e2e.log"]).narrative.verdict == "NEEDS_WORK"


def test_readiness_ready_requires_qa_pass_and_evidence() -> None:
    assert _readiness("PASS", "READY", ["e2e.log"]).narrative.verdict == "READY"
    downgraded = _readiness("FAIL", "READY", ["e2e.log"])
    assert downgraded.narrative.verdict == "NEEDS_WORK"
    assert "QA did not pass" in downgraded.narrative.rationale
    assert _readiness("PASS", "READY", []).narrative.verdict == "NEEDS_WORK"


def test_deploy_holds_unless_ready() -> None:
    narrative = {
        "action": "deploy",
        "strategy": "feature_flag",
        "flag_name": "csv_export",
        "rollout_pct": 10,
        "rollback_plan": "turn the flag off",
        "rationale": "user-visible",
    }
    held = DeployDecision.compose({"item_id": "B-1", "readiness": "NEEDS_WORK"}, narrative)
    assert held.narrative.action == "hold"
    go = DeployDecision.compose({"item_id": "B-1", "readiness": "READY"}, narrative)
    assert go.narrative.action == "deploy"
    with pytest.raises(ValidationError, match="flag_name"):
        DeployDecision.compose(
            {"item_id": "B-1", "readiness": "READY"}, {**narrative, "flag_name": ""}
        )


# --- severity floor --------------------------------------------------------------------


def _triage(
    floor: str, proposed: str, breach: bool = False, revenue: bool = False
) -> IncidentTriage:
    facts, narrative = sample_parts(IncidentTriage)
    facts["severity_floor"] = floor
    facts["notify_by_rule"] = []
    narrative.update(
        proposed_severity=proposed, suspected_breach_or_data_loss=breach, revenue_impact=revenue
    )
    return IncidentTriage.compose(facts, narrative)  # type: ignore[return-value]


def test_model_cannot_lower_the_severity_floor() -> None:
    triage = _triage("P1", "P3")
    assert triage.severity == "P1"
    assert triage.notify == ["Project Shepherd"]
    assert "Infrastructure Maintainer" in triage.response_team
    assert "**Severity**: P1" in triage.to_markdown()


def test_model_may_raise_severity_and_flags_add_people() -> None:
    assert _triage("P2", "P1").severity == "P1"
    breach = _triage("P3", "P3", breach=True, revenue=True)
    assert breach.severity == "P0"
    assert breach.notify == [
        "Studio Producer",
        "Legal Compliance Checker",
        "Finance Tracker",
    ]
    assert _triage("P3", "P3").response_team == ["Sprint Prioritizer"]


# --- executive summary -----------------------------------------------------------------


def _summary(answer: str, findings: list[str]) -> Artifact:
    narrative = {
        "situation": "MRR is 48,000 USD.",
        "complication": "Churn rose to 4%.",
        "question": "Do we pause paid acquisition?",
        "answer": answer,
        "key_findings": findings,
        "decisions_needed": ["Approve a 10% budget shift"],
    }
    return MonthlyExecutiveSummary.compose({"month": "2025-03"}, narrative)


def test_executive_summary_must_stay_under_500_words() -> None:
    _summary("word " * 400, ["Churn 4%"])
    with pytest.raises(ValidationError, match="under 500"):
        _summary("word " * 490, ["Churn 4%"])


def test_executive_summary_findings_are_quantified() -> None:
    # the schema says so (a pattern the model is sent), so pydantic rejects it first
    with pytest.raises(ValidationError, match=r"key_findings.0\n.*pattern"):
        _summary("Shift budget.", ["Churn went up a lot"])


# --- other cross-field rules -----------------------------------------------------------


def test_sprint_plan_selection_is_a_checked_fact() -> None:
    facts, narrative = sample_parts(SprintPlan)
    assert "selected_item_ids" not in SprintPlan.narrative_model().model_fields
    candidate = facts["candidates"][0]
    facts["candidates"] = [
        {**candidate, "item_id": "A", "effort": 20.0},
        {**candidate, "item_id": "B", "effort": 15.0},
    ]
    facts["capacity"] = 32.0
    plan = {**facts, "selected_item_ids": ["A"], "planned_points": 20.0, "carried_over_ids": ["B"]}
    built = SprintPlan.compose(plan, narrative)
    assert built.planned_points == 20.0  # type: ignore[attr-defined]
    assert "Planned points" in built.to_markdown()
    both = {**plan, "selected_item_ids": ["A", "B"], "planned_points": 35.0, "carried_over_ids": []}
    with pytest.raises(ValidationError, match="capacity is 32"):
        SprintPlan.compose(both, narrative)
    with pytest.raises(ValidationError, match="not candidates: Z"):
        SprintPlan.compose({**plan, "selected_item_ids": ["Z", "A"]}, narrative)
    with pytest.raises(ValidationError, match="selected twice"):
        SprintPlan.compose(
            {**plan, "selected_item_ids": ["A", "A"], "planned_points": 40.0}, narrative
        )
    with pytest.raises(ValidationError, match="planned_points is 5"):
        SprintPlan.compose({**plan, "planned_points": 5.0}, narrative)
    with pytest.raises(ValidationError, match="carried_over_ids"):
        SprintPlan.compose({**plan, "carried_over_ids": []}, narrative)
    with pytest.raises(ValidationError, match="selected_item_ids"):
        SprintPlan.compose(plan, {**narrative, "selected_item_ids": ["B"]})


def test_retry_addresses_exactly_the_listed_qa_issues() -> None:
    facts, narrative = sample_parts(DeveloperChangeProposal)
    issue = facts["qa_issues"][0]
    facts["qa_issues"] = [{**issue, "id": "I1"}, {**issue, "id": "I2"}]
    DeveloperChangeProposal.compose(facts, {**narrative, "addressed_issue_ids": ["I1", "I2"]})
    with pytest.raises(ValidationError, match="missing: I2"):
        DeveloperChangeProposal.compose(facts, {**narrative, "addressed_issue_ids": ["I1"]})
    with pytest.raises(ValidationError, match="did not list: I9"):
        DeveloperChangeProposal.compose(
            facts, {**narrative, "addressed_issue_ids": ["I1", "I2", "I9"]}
        )


def test_escalation_assesses_all_five_options_and_defaults_to_defer() -> None:
    cls = get_artifact("escalation")
    facts, narrative = sample_parts(cls)
    narrative.pop("recommended_option")
    escalation = cls.compose(facts, narrative)
    assert escalation.narrative.recommended_option == "defer"  # type: ignore[attr-defined]
    narrative["options"][4]["option"] = "reassign"
    with pytest.raises(ValidationError, match="missing: defer"):
        cls.compose(facts, narrative)


def test_market_brief_cites_only_provided_sources() -> None:
    cls = get_artifact("monthly market brief")
    facts, narrative = sample_parts(cls)
    narrative["trends"][0]["source_ids"] = ["S-404"]
    with pytest.raises(ValidationError, match="S-404"):
        cls.compose(facts, narrative)


def test_experiment_go_needs_significance() -> None:
    cls = get_artifact("experiment_results_summary")
    facts, narrative = sample_parts(cls)
    facts["experiments"][0]["significant"] = False
    narrative["decisions"][0]["decision"] = "go"
    with pytest.raises(ValidationError, match="not significant"):
        cls.compose(facts, narrative)
    facts["experiments"][0]["significant"] = True
    assert cls.compose(facts, narrative).narrative.decisions[0].decision == "go"  # type: ignore[attr-defined]


def test_facts_cannot_be_smuggled_into_the_narrative() -> None:
    cls = get_artifact("daily metrics snapshot")
    facts, narrative = sample_parts(cls)
    with pytest.raises(ValidationError, match="kpis"):
        cls.compose(facts, {**narrative, "kpis": []})
    assert isinstance(cls.narrative_model()(**narrative), BaseModel)
