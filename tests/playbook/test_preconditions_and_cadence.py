"""The entry checklist reports what is missing; cadence_run runs the agent named in inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playbook_fakes import actions_log

from nexus_agents.playbook.cadence import InputAgentExecutor
from nexus_agents.testing.fake_executor import FakeCall, FakeStepExecutor

NOW = "2026-11-27T12:00:00"


def complete(workspace: Path) -> None:
    (workspace / "handoff").mkdir()
    (workspace / "handoff" / "phase5_quality_gate.md").write_text("Verdict: PASS\n", encoding="utf-8")
    (workspace / "handoff" / "package.md").write_text("# Handoff\nrunbooks, dashboards\n", encoding="utf-8")
    (workspace / "data" / "uptime_checks.csv").write_text(
        "checked_at,service,ok\n2026-10-03T10:00:00,api,1\n2026-10-04T10:00:00,api,0\n", encoding="utf-8"
    )


async def test_missing_preconditions_are_named(make_engine: Any, workspace: Path) -> None:
    engine = await make_engine(FakeStepExecutor())
    result = await engine.start("preconditions", {"now": NOW})
    assert result.status == "succeeded", result.error
    report = result.artifacts["check"]
    assert report["kind"] == "preconditions_report"
    assert report["narrative"]["recommendation"] == "hold"
    failed = {c["name"] for c in report["facts"]["checks"] if not c["passed"]}
    assert failed == {"phase5_quality_gate", "handoff_package", "baseline_metrics"}
    assert "handoff/phase5_quality_gate.md is missing" in report["narrative"]["assessment"]
    assert result.values["preconditions"] == "missing"
    assert [a["kind"] for a in actions_log(workspace)] == ["notify"]
    stored = await engine.store.latest_artifact("preconditions_report")
    assert stored is not None and stored.markdown


async def test_failed_gate_blocks_even_with_everything_else(make_engine: Any, workspace: Path) -> None:
    complete(workspace)
    (workspace / "handoff" / "phase5_quality_gate.md").write_text("Verdict: FAIL\n", encoding="utf-8")
    engine = await make_engine(FakeStepExecutor())
    result = await engine.start("preconditions", {"now": NOW})
    checks = {c["name"]: c for c in result.artifacts["check"]["facts"]["checks"]}
    assert not checks["phase5_quality_gate"]["passed"] and "FAIL" in checks["phase5_quality_gate"]["detail"]
    assert checks["baseline_metrics"]["passed"] and checks["cadences_established"]["passed"]


async def test_all_preconditions_met(make_engine: Any, workspace: Path) -> None:
    complete(workspace)
    engine = await make_engine(FakeStepExecutor())
    result = await engine.start("preconditions", {"now": NOW})
    report = result.artifacts["check"]
    assert report["narrative"]["recommendation"] == "proceed", report["narrative"]
    assert result.values["preconditions"] == "met" and actions_log(workspace) == []


async def test_cadence_run_uses_the_agent_and_output_from_inputs(make_engine: Any) -> None:
    fake = FakeStepExecutor()
    engine = await make_engine(InputAgentExecutor(fake))
    result = await engine.start(
        "cadence_run", {"agent": "Data Analytics Reporter", "output": "Weekly Analytics Report", "period": "2026-W48"}
    )
    assert result.status == "succeeded", result.error
    assert fake.calls == [FakeCall("report", "analytics_reporter", None)]
    assert result.artifacts["report"]["kind"] == "weekly_analytics_report"
    assert "agent_from_input" not in fake.steps["report"][0].options


async def test_cadence_run_defaults_output_and_rejects_unknown_agent(make_engine: Any) -> None:
    fake = FakeStepExecutor()
    engine = await make_engine(InputAgentExecutor(fake))
    ok = await engine.start("cadence_run", {"agent": "finance_tracker", "period": "2026-11"})
    assert ok.artifacts["report"]["kind"] == "monthly_financial_report"
    bad = await engine.start("cadence_run", {"agent": "chief_vibes_officer", "period": "2026-11"})
    assert bad.status == "failed" and "check_inputs" in (bad.error or "") and "chief_vibes_officer" in (bad.error or "")
    assert [c.agent for c in fake.calls] == ["finance_tracker"]
