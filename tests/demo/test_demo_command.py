"""The README's main job: ``nexus demo`` on a fresh folder, with no model endpoint."""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from nexus_agents.cli.main import app
from nexus_agents.runs.store import RunStore, default_db_path


def test_demo_replays_recorded_responses_and_runs_the_whole_loop(tmp_path: Path) -> None:
    workspace = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--dir", str(workspace)])
    assert result.exit_code == 0, result.output
    first_line = result.output.splitlines()[0]
    assert "No model endpoint configured" in first_line
    assert "replaying" in first_line
    assert "succeeded" in result.output
    assert "not in the recording" not in result.output
    # the demo ends with what was decided, and the gate said what it was approving
    decided = result.output.split("What was decided", 1)[1]
    assert "KPIs that missed target" in decided or "KPIs: all" in decided
    assert "item selected: BL-" in decided and "RICE score" in decided
    assert "QA verdict: PASS" in decided
    assert "release verdict: READY" in decided
    assert "deploy decision: deploy" in decided and "approval: approve" in decided
    assert "--markdown" in decided
    assert "approving: Deploy Decision" in result.output

    async def stored() -> tuple[list[str], list[str]]:
        async with await RunStore.open(default_db_path(workspace)) as store:
            (run,) = await store.list_runs(graph="improvement_loop")
            kinds = [a.kind or "" for a in await store.artifacts_for(run.run_id)]
            actions = [a.kind for a in await store.actions_for(run.run_id)]
            return kinds, actions

    kinds, actions = asyncio.run(stored())
    for kind in ("weekly_analytics_report", "sprint_plan", "qa_verdict", "deploy_decision", "loop_ledger"):
        assert kind in kinds
    assert actions == ["deploy"]
    # the deploy went through the workspace integration exactly once
    log = (workspace / "actions.jsonl").read_text(encoding="utf-8").splitlines()
    assert len([line for line in log if '"deploy"' in line]) == 1


def test_demo_with_reject_deploys_nothing(tmp_path: Path) -> None:
    workspace = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--dir", str(workspace), "--decision", "reject"])
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.output
    actions = workspace / "actions.jsonl"
    assert not actions.exists() or '"deploy"' not in actions.read_text(encoding="utf-8")


def test_demo_live_without_endpoint_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--dir", str(tmp_path / "d"), "--live"])
    assert result.exit_code != 0
    assert "NEXUS_LLM_BASE_URL" in str(result.exception) + result.output
