"""Incident response routes on the code-enforced severity and mitigates by cause."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playbook_fakes import actions_log

from nexus_agents.artifacts.incidents import DECISION_AUTHORITY
from nexus_agents.playbook.incidents import incident_escalations
from nexus_agents.testing.fake_executor import FakeStepExecutor

ALERT = {"summary": "checkout returns 500", "detected_at": "2026-11-27T10:00:00+00:00"}
RESPONDERS = {"infrastructure_maintainer", "devops_automator", "backend_architect", "developer",
              "support_responder", "executive_summary_generator"}


def triage(severity: str, cause: str = "bad_deploy", **narrative: Any) -> dict[str, list[dict[str, Any]]]:
    return {
        "triage": [{
            "facts": {"incident_id": "INC-7", "detected_at": "2026-11-27T10:00:00+00:00", "signal": "checkout 500"},
            # the model proposed P3; the derived (floor-enforced) severity is what routes
            "narrative": {"proposed_severity": "P3", "suspected_cause": cause, "rationale": "r", **narrative},
            "derived": {"severity": severity, "decision_authority": DECISION_AUTHORITY[severity]},
        }],
        "verify_fix": [{"narrative": {"verdict": "PASS"}}],
        "post_mortem": [{"narrative": {"prevention_actions": [
            {"action": "Add canary stage", "owner": "devops_automator", "deadline": "2026-12-05"}]}}],
    }


async def run(make_engine: Any, script: dict[str, Any], **inputs: Any) -> tuple[Any, FakeStepExecutor]:
    fake = FakeStepExecutor(script)
    engine = await make_engine(fake, auto_approve_policy="timeout_default")
    result = await engine.start("incident_response", {"alert": ALERT, "now": "2026-11-27T10:10:00+00:00", **inputs})
    return result, fake


async def test_p3_goes_to_the_backlog_without_a_response_team(make_engine: Any, workspace: Path) -> None:
    result, fake = await run(make_engine, triage("P3"))
    assert result.status == "succeeded", result.error
    assert fake.ran() == ["triage"]
    assert not fake.agents() & RESPONDERS
    assert [a["kind"] for a in actions_log(workspace)] == ["notify", "backlog_append"]
    assert (workspace / "data" / "backlog.csv").read_text(encoding="utf-8").count("[P3]") == 1


async def test_p0_runs_the_full_team_and_waits_for_the_studio_producer(make_engine: Any, workspace: Path) -> None:
    fake = FakeStepExecutor(triage("P0"))
    engine = await make_engine(fake)
    paused = await engine.start("incident_response", {"alert": ALERT, "now": "2026-11-27T10:45:00+00:00"})
    assert paused.status == "waiting_approval", paused.error
    assert paused.pending is not None and paused.pending.decider == "studio_producer"
    assert {"p0_command", "p0_rollback_check", "p0_diagnosis", "p0_status", "p0_brief"} <= set(fake.ran())
    assert paused.artifacts["p0_brief"]["kind"] == "executive_incident_brief"
    # the mitigation is verified first; nothing ships before the producer approves
    assert fake.ran().index("rollback") < fake.ran().index("verify_fix")
    assert "deploy" not in [a["kind"] for a in actions_log(workspace)]
    done = await engine.resume(paused.run_id, "approve")
    assert done.status == "succeeded", done.error
    ran = fake.ran()
    assert ran.index("verify_fix") < ran.index("confirm_stability") < ran.index("status_resolved") < ran.index("post_mortem")
    kinds = [a["kind"] for a in actions_log(workspace)]
    assert kinds.count("status_post") == 2 and kinds.count("deploy") == 1
    assert kinds.index("deploy") < len(kinds) - 1 - kinds[::-1].index("status_post")  # deploy before "resolved"
    assert done.values["escalated_to"] == ["studio_producer"]  # open 45 min > 30
    assert done.values["resolution"] == "fix_deployed"
    assert kinds[-1] == "backlog_append" and "Add canary stage" in (workspace / "data" / "backlog.csv").read_text()


async def test_p0_rejected_deploy_ships_nothing_and_says_nothing_resolved(make_engine: Any, workspace: Path) -> None:
    fake = FakeStepExecutor(triage("P0"))
    engine = await make_engine(fake)
    paused = await engine.start("incident_response", {"alert": ALERT, "now": "2026-11-27T10:05:00+00:00"})
    done = await engine.resume(paused.run_id, "reject")
    assert done.status == "succeeded", done.error
    kinds = [a["kind"] for a in actions_log(workspace)]
    assert "deploy" not in kinds and kinds.count("status_post") == 1  # only "investigating"
    assert "status_resolved" not in fake.ran() and "post_mortem" in fake.ran()
    assert done.values["resolution"] == "unresolved"


@pytest.mark.parametrize(("severity", "authority"), [("P0", "studio_producer"), ("P1", "project_shepherd")])
async def test_unattended_p0_p1_never_deploy_by_timeout(
    make_engine: Any, workspace: Path, severity: str, authority: str
) -> None:
    result, fake = await run(make_engine, triage(severity, cause="infrastructure"))
    assert result.status == "succeeded", result.error
    assert result.values[f"{severity.lower()}_deploy_approval"] == "reject"
    assert "deploy" not in [a["kind"] for a in actions_log(workspace)]
    assert "status_resolved" not in fake.ran()
    assert authority in result.values["escalated_to"] and result.values["resolution"] == "unresolved"


async def test_a_qa_fail_goes_back_to_mitigation_then_escalates(make_engine: Any, workspace: Path) -> None:
    script = triage("P2", cause="code_bug")
    script["verify_fix"] = [{"narrative": {"verdict": "FAIL"}}]
    result, fake = await run(make_engine, script)
    assert result.status == "succeeded", result.error
    assert fake.ran().count("hotfix_build") == 3 and fake.ran().count("verify_fix") == 3
    assert "deploy" not in [a["kind"] for a in actions_log(workspace)]
    assert "confirm_stability" not in fake.ran()
    assert result.values["resolve"] == "exhausted" and result.values["resolution"] == "unresolved"
    assert "agents_orchestrator" in result.values["escalated_to"]  # P2's decision authority


async def test_a_qa_fail_then_pass_ships_once(make_engine: Any, workspace: Path) -> None:
    script = triage("P2", cause="code_bug")
    script["verify_fix"] = [{"narrative": {"verdict": "FAIL"}}, {"narrative": {"verdict": "PASS"}}]
    result, fake = await run(make_engine, script)
    assert result.status == "succeeded", result.error
    assert fake.ran().count("hotfix_build") == 2
    assert [a["kind"] for a in actions_log(workspace)].count("deploy") == 1
    assert result.values["resolution"] == "fix_deployed"


@pytest.mark.parametrize(
    ("severity", "team", "absent"),
    [
        ("P1", {"p1_command", "p1_developer", "p1_devops", "p1_status"}, {"p0_brief", "p2_response"}),
        ("P2", {"p2_response"}, {"p1_command", "p0_command", "status_resolved"}),
    ],
)
async def test_p1_and_p2_teams(make_engine: Any, severity: str, team: set[str], absent: set[str]) -> None:
    result, fake = await run(make_engine, triage(severity, cause="infrastructure"))
    assert result.status == "succeeded", result.error
    assert team <= set(fake.ran()) and not absent & set(fake.ran())
    assert {"infra_mitigation", "verify_fix", "post_mortem"} <= set(fake.ran())


@pytest.mark.parametrize(
    ("cause", "mitigation"),
    [("bad_deploy", "rollback"), ("infrastructure", "infra_mitigation"),
     ("code_bug", "hotfix_build"), ("external_dependency", "dependency_fallback")],
)
async def test_mitigation_by_cause(make_engine: Any, cause: str, mitigation: str) -> None:
    result, fake = await run(make_engine, triage("P2", cause=cause))
    assert result.status == "succeeded", result.error
    others = {"rollback", "infra_mitigation", "hotfix_build", "dependency_fallback"} - {mitigation}
    assert mitigation in fake.ran() and not others & set(fake.ran())
    assert result.artifacts["collect_fix"]["mitigation_step"] == mitigation
    assert fake.ran().index(mitigation) < fake.ran().index("verify_fix")  # verified before it ships


async def test_no_alert_and_healthy_data_ends_quietly(make_engine: Any, workspace: Path) -> None:
    (workspace / "data" / "uptime_checks.csv").write_text(
        "checked_at,service,ok\n2026-11-27T10:05:00,api,1\n", encoding="utf-8"
    )
    fake = FakeStepExecutor()
    engine = await make_engine(fake)
    result = await engine.start("incident_response", {"now": "2026-11-27T10:06:00+00:00"})
    assert result.status == "succeeded" and fake.ran() == [] and result.values["detected"] is False


async def test_detection_from_data_starts_triage(make_engine: Any, workspace: Path) -> None:
    (workspace / "data" / "uptime_checks.csv").write_text(
        "checked_at,service,ok\n2026-11-27T10:05:00,api,0\n", encoding="utf-8"
    )
    result, fake = await run(make_engine, triage("P3"), alert=None)
    assert fake.ran() == ["triage"]
    assert result.artifacts["detect"]["details"]["services_down"] == ["api"]


def test_escalation_rules() -> None:
    def to(*args: Any, **kw: Any) -> list[str]:
        return [r.to for r in incident_escalations(*args, **kw)]

    assert to("P0", 31, breach=False, revenue=False) == ["studio_producer"]
    assert to("P0", 29, breach=False, revenue=False) == []
    assert to("P1", 121, breach=False, revenue=False) == ["project_shepherd"]
    assert to("P1", 90, breach=True, revenue=True) == ["legal_compliance_checker", "finance_tracker", "studio_producer"]


async def test_a_deploy_guarded_by_only_if_is_skipped_without_a_pass(
    make_engine: Any, workspace: Path, specs: dict[str, Any]
) -> None:
    """Even a graph that routes a FAIL to its deploy step ships nothing (code guard)."""
    from nexus_agents.graphs.spec import parse_spec

    spec = parse_spec({
        "name": "careless",
        "state": {"verdict": {"enum": ["PASS", "FAIL"]}},
        "steps": [
            {"id": "check", "agent": "evidence_collector", "output": "qa_verdict", "set": {"verdict": "narrative.verdict"}},
            {"action": {"id": "ship", "kind": "deploy", "from": "check", "only_if": {"value": "verdict", "equals": "PASS"}}},
        ],
    })
    fake = FakeStepExecutor({"check": [{"narrative": {"verdict": "FAIL"}}]})
    specs["careless"] = spec  # the (session's) specs the engine factory reads
    try:
        result = await (await make_engine(fake)).start("careless", {})
    finally:
        del specs["careless"]
    assert result.status == "succeeded", result.error
    assert result.values["ship"] == "skipped"
    assert actions_log(workspace) == []
