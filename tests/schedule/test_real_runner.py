"""The scheduler with its default runner runs real cadence jobs through the graph engine
(real OpenAI client, mock server answering as the PlaybookAuthor) on a demo workspace."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nexus_agents.api import Nexus, default_runner
from nexus_agents.cli.main import app
from nexus_agents.config import load_config
from nexus_agents.data.demo import DemoFacts, generate_demo
from nexus_agents.schedule.engine import ScheduleEngine
from nexus_agents.schedule.jobs import JobStatus
from nexus_agents.testing import MockLLMServer
from nexus_agents.testing.playbook_author import PlaybookAuthor

API_KEY = "sk-schedule-test-key"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoFacts]:
    path = tmp_path_factory.mktemp("sched_demo") / "ws"
    return path, generate_demo(path, seed=7)


@pytest.fixture
def server() -> Iterator[MockLLMServer]:
    with MockLLMServer(responder=PlaybookAuthor(), max_lifetime_s=120) as srv:
        yield srv


@pytest.fixture
def ws(
    demo: tuple[Path, DemoFacts],
    tmp_path: Path,
    server: MockLLMServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """A copy of the demo workspace whose config points at the mock server."""
    dest = tmp_path / "ws"
    shutil.copytree(demo[0], dest)
    monkeypatch.setenv("NEXUS_LLM_BASE_URL", server.base_url)
    monkeypatch.setenv("NEXUS_LLM_API_KEY", API_KEY)
    return dest


def _engine(ws: Path) -> ScheduleEngine:
    config = load_config(ws)
    return ScheduleEngine.from_config(config, default_runner(ws), poll_interval_s=0.05)


def test_default_runner_runs_cadence_jobs_once_per_period(
    ws: Path, server: MockLLMServer, demo: tuple[Path, DemoFacts]
) -> None:
    month = demo[1].over_budget_month
    with _engine(ws) as engine:
        daily = engine.run("daily-metrics-snapshot", "2026-11-26")
        monthly = engine.run("monthly-financial-report", month)
        calls = len(server.requests)
        again = engine.run("daily-metrics-snapshot", "2026-11-26")
    assert daily.status is JobStatus.SUCCEEDED, daily.error
    assert monthly.status is JobStatus.SUCCEEDED, monthly.error
    assert again.run_id == daily.run_id
    assert len(server.requests) == calls  # the second run of the period made no model call

    nx = Nexus.from_workspace(ws)
    runs = nx.list_runs(job="daily-metrics-snapshot")
    assert [(r.thread_id, r.status, r.graph) for r in runs] == [
        ("daily-metrics-snapshot:2026-11-26", "succeeded", "cadence_run")
    ]
    assert runs[0].run_id == daily.run_id and runs[0].period == "2026-11-26"
    snapshot = nx.latest_artifact("daily_metrics_snapshot")
    assert snapshot is not None and snapshot.run_id == daily.run_id
    assert snapshot.data["facts"]["date"] == "2026-11-26"

    financial = nx.list_runs(job="monthly-financial-report")
    assert [(r.thread_id, r.graph) for r in financial] == [
        (f"monthly-financial-report:{month}", "financial_review")
    ]
    report = nx.latest_artifact("monthly_financial_report")
    assert report is not None and report.run_id == monthly.run_id
    assert any(
        demo[1].over_budget_category in b["category"] and b["actual"] > b["budget"]
        for b in report.data["facts"]["budget_variance"]
    )


def test_cli_schedule_run_then_runs_list_and_artifacts_show(
    ws: Path, server: MockLLMServer
) -> None:
    cli = CliRunner()
    args = ["-w", str(ws)]
    first = cli.invoke(
        app, ["schedule", "run", "daily-metrics-snapshot", "--period", "2026-11-26", *args]
    )
    assert first.exit_code == 0, first.output
    assert "succeeded" in first.output
    calls = len(server.requests)
    assert calls == 1
    second = cli.invoke(
        app, ["schedule", "run", "daily-metrics-snapshot", "--period", "2026-11-26", *args]
    )
    assert second.exit_code == 0, second.output
    assert len(server.requests) == calls

    listed = cli.invoke(app, ["runs", "list", "--job", "daily-metrics-snapshot", *args])
    assert listed.exit_code == 0, listed.output
    assert "1 runs" in listed.output
    assert "2026-11-26" in listed.output and "succeeded" in listed.output

    shown = cli.invoke(app, ["artifacts", "show", "daily_metrics_snapshot", *args])
    assert shown.exit_code == 0, shown.output
    assert "Daily metrics snapshot" in shown.output
    for out in (first.output, second.output, listed.output, shown.output):
        assert API_KEY not in out
