"""``nexus init`` and ``nexus kpis`` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from nexus_agents.cli.main import app
from nexus_agents.exceptions import ConfigError

runner = CliRunner()


def test_init_demo_then_kpis_json_defaults_to_last_complete_month(tmp_path: Path) -> None:
    ws = tmp_path / "demo"
    result = runner.invoke(app, ["init", str(ws), "--demo", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert (ws / "data" / "activity.csv").is_file()
    out = runner.invoke(app, ["kpis", "--workspace", str(ws), "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["period"] == "2026-10"
    assert report["as_of"].startswith("2026-11-27T00:00")
    statuses = {r["key"]: r["status"] for r in report["results"]}
    assert len(statuses) == 14 and statuses["mttr"] == "missed"


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    ws = tmp_path / "w"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    again = runner.invoke(app, ["init", str(ws)])
    assert again.exit_code != 0 and isinstance(again.exception, ConfigError)
    assert runner.invoke(app, ["init", str(ws), "--force"]).exit_code == 0


def test_empty_workspace_table_is_all_no_data(tmp_path: Path) -> None:
    ws = tmp_path / "w"
    runner.invoke(app, ["init", str(ws)])
    header = (ws / "data" / "tickets.csv").read_text().splitlines()
    assert header[0].startswith("id,created_at,first_response_at")
    out = runner.invoke(
        app, ["kpis", "-w", str(ws), "--period", "2026-W44", "--as-of", "2026-11-27T00:00:00"]
    )
    assert out.exit_code == 0, out.output
    assert "KPIs 2026-W44" in out.output
    assert "0 met, 0 missed, 14 no data" in out.output


def test_bad_period_is_a_usage_error(tmp_path: Path) -> None:
    ws = tmp_path / "w"
    runner.invoke(app, ["init", str(ws)])
    out = runner.invoke(app, ["kpis", "-w", str(ws), "--period", "2026-13"])
    assert out.exit_code == 2
