"""The improvement loop run end to end with a scripted executor: Dev<->QA loop,
escalation, deploy approval and the loop ledger."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from playbook_fakes import actions_log

from nexus_agents.testing.fake_executor import FakeStepExecutor

PERIOD = {"period": "2026-W48"}


def script(verdicts: list[str], readiness: str = "READY") -> dict[str, list[dict[str, Any]]]:
    return {
        "measure": [{"facts": {"kpis": [{"name": "Activation rate", "value": 55.0, "target": 60.0}]}}],
        "plan": [{
            "facts": {"candidates": [
                {"item_id": "BL-1", "title": "Faster onboarding", "score": 12.0},
                {"item_id": "BL-2", "title": "Fix export", "score": 30.0},
                {"item_id": "BL-3", "title": "Dark mode", "score": 50.0},
            ], "selected_item_ids": ["BL-9", "BL-2", "BL-1"]},  # BL-9 is not a candidate
        }],
        "validate": [
            {"narrative": {"verdict": v, "issues": [] if v == "PASS" else [{"id": f"I{i}"}]}}
            for i, v in enumerate(verdicts)
        ],
        "release": [{"narrative": {"verdict": readiness}}],
        "deploy_decision": [{"narrative": {"action": "deploy", "strategy": "feature_flag", "flag_name": "export_v2"}}],
    }


def backlog(workspace: Path) -> list[dict[str, str]]:
    path = workspace / "data" / "backlog.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize(("verdicts", "attempts"), [(["PASS"], 1), (["FAIL", "PASS"], 2)])
async def test_qa_loop_then_approved_deploy_and_ledger(
    make_engine: Any, workspace: Path, verdicts: list[str], attempts: int
) -> None:
    fake = FakeStepExecutor(script(verdicts))
    engine = await make_engine(fake)
    paused = await engine.start("improvement_loop", PERIOD)
    assert paused.status == "waiting_approval", paused.error
    assert paused.pending is not None and paused.pending.approval_id == "deploy_approval"
    assert paused.pending.decider == "studio_producer"
    assert paused.values["item_id"] == "BL-2"  # the first selected id that is a scored candidate
    assert [c.attempt for c in fake.calls if c.step == "build"] == list(range(1, attempts + 1))
    assert "escalation" not in fake.ran()
    assert actions_log(workspace) == []  # nothing deployed before the decision

    done = await engine.resume(paused.run_id, "approve", decided_by="producer")
    assert done.status == "succeeded", done.error
    deploys = [a for a in actions_log(workspace) if a["kind"] == "deploy"]
    assert len(deploys) == 1 and deploys[0]["payload"]["from"] == "deploy_decision"
    ledger = done.artifacts["ledger"]
    assert ledger["kind"] == "loop_ledger"
    assert ledger["facts"]["deployed"] == ["BL-2"] and ledger["facts"]["experiments"] == ["export_v2"]
    assert ledger["facts"]["kpis"][0]["value"] == 55.0 and ledger["facts"]["iteration"] == 1
    stored = await engine.store.latest_artifact("loop_ledger")
    assert stored is not None and stored.run_id == done.run_id


async def test_rejected_deploy_executes_no_deploy(make_engine: Any, workspace: Path) -> None:
    engine = await make_engine(FakeStepExecutor(script(["PASS"])))
    paused = await engine.start("improvement_loop", PERIOD)
    done = await engine.resume(paused.run_id, "reject")
    assert done.status == "succeeded", done.error
    assert done.values["deploy"] == "skipped"
    assert [a for a in actions_log(workspace) if a["kind"] == "deploy"] == []
    assert done.artifacts["ledger"]["facts"]["deployed"] == []


async def test_three_failures_escalate_and_unattended_default_defers(make_engine: Any, workspace: Path) -> None:
    fake = FakeStepExecutor(script(["FAIL", "FAIL", "FAIL", "PASS"]))
    engine = await make_engine(fake, auto_approve_policy="timeout_default")
    done = await engine.start("improvement_loop", PERIOD)
    assert done.status == "succeeded", done.error
    assert [c.attempt for c in fake.calls if c.step == "build"] == [1, 2, 3]
    assert done.values["build_validate"] == "exhausted"
    assert done.values["escalation_decision"] == "defer"
    assert "release" not in fake.ran() and "deploy_decision" not in fake.ran()
    kinds = [a["kind"] for a in actions_log(workspace)]
    assert kinds == ["backlog_append"]
    assert [row["id"] for row in backlog(workspace)] == ["BL-2"]
    assert done.artifacts["ledger"]["facts"]["escalations"] == ["BL-2"]


async def test_escalation_decision_decompose_adds_a_follow_up_item(make_engine: Any, workspace: Path) -> None:
    engine = await make_engine(FakeStepExecutor(script(["FAIL"])))
    paused = await engine.start("improvement_loop", PERIOD)
    assert paused.pending is not None and paused.pending.approval_id == "escalation_decision"
    assert paused.pending.options == ["reassign", "decompose", "revise_scope", "accept_with_risk", "defer"]
    done = await engine.resume(paused.run_id, "decompose", note="split by export format")
    assert done.status == "succeeded", done.error
    rows = backlog(workspace)
    assert len(rows) == 1 and rows[0]["id"] != "BL-2"
    assert rows[0]["title"].startswith("Decompose BL-2") and "split by export format" in rows[0]["description"]


async def test_not_ready_release_goes_back_to_backlog_without_deploy(make_engine: Any, workspace: Path) -> None:
    fake = FakeStepExecutor(script(["PASS"], readiness="NEEDS_WORK"))
    engine = await make_engine(fake)
    done = await engine.start("improvement_loop", PERIOD)
    assert done.status == "succeeded", done.error
    assert "deploy_decision" not in fake.ran()
    assert [a["kind"] for a in actions_log(workspace)] == ["backlog_append"]


async def test_developer_retry_sees_only_qa_issues_not_the_whole_history(make_engine: Any) -> None:
    fake = FakeStepExecutor(script(["FAIL", "PASS"]))
    engine = await make_engine(fake)
    await engine.start("improvement_loop", PERIOD)
    build = fake.steps["build"][-1]
    assert build.inputs == ["producer_review"]
    assert build.options["loop"] == "build_validate"


async def test_next_iteration_measures_against_the_previous_ledger(make_engine: Any) -> None:
    engine = await make_engine(FakeStepExecutor(script(["PASS"])), auto_approve_policy="timeout_default")
    first = await engine.start("improvement_loop", PERIOD)
    assert first.artifacts["ledger"]["facts"]["iteration"] == 1
    second = await engine.start("improvement_loop", {"period": "2026-W49"})
    assert second.status == "succeeded", second.error
    assert second.artifacts["previous_ledger"]["meta"]["run_id"] == first.run_id
    assert second.artifacts["ledger"]["facts"]["iteration"] == 2
    assert second.artifacts["measure"]["kind"] == "weekly_analytics_report"


async def test_nothing_selected_skips_build_and_still_writes_ledger(make_engine: Any) -> None:
    plan = {"plan": [{"facts": {"candidates": [], "selected_item_ids": []}}]}
    fake = FakeStepExecutor(plan)
    engine = await make_engine(fake)
    done = await engine.start("improvement_loop", PERIOD)
    assert done.status == "succeeded", done.error
    assert "build" not in fake.ran() and done.artifacts["ledger"]["facts"]["deployed"] == []
