"""``nexus agents list`` and ``nexus agents show`` through Typer's test runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nexus_agents.cli.main import app
from nexus_agents.exceptions import SpecError, UnknownNameError

from .test_roster import GOOD, PROMPT_TOOLS


@pytest.fixture(autouse=True)
def _tools_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend the tool modules the prompts name are registered."""
    from nexus_agents.tools import base

    monkeypatch.setattr(base, "all_tools", lambda: dict.fromkeys(PROMPT_TOOLS, object()))


def test_list_shows_every_agent_with_cadences_and_output(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["agents", "list", "--workspace", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Executive Summary Generator" in result.output
    assert "reddit_community_builder" in result.output
    assert "monthly: Monthly Executive Summary" in result.output
    assert "quarterly_strategic_review" in result.output


def test_list_marks_workspace_agents(tmp_path: Path) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "test_agent.md").write_text(GOOD, encoding="utf-8")
    result = CliRunner().invoke(app, ["agents", "list", "-w", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Test Agent (workspace)" in result.output


def test_show_resolves_an_alias_and_prints_front_matter_and_prompt(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["agents", "show", "data analytics reporter", "-w", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "slug: analytics_reporter" in result.output
    assert "- Data Analytics Reporter" in result.output
    assert "output: daily_metrics_snapshot" in result.output
    assert "You are the Analytics Reporter" in result.output


def test_show_unknown_agent_fails_with_known_names(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["agents", "show", "Nobody", "-w", str(tmp_path)])
    assert result.exit_code != 0
    assert isinstance(result.exception, UnknownNameError)
    assert "studio_producer" in str(result.exception)


def test_broken_workspace_prompt_is_reported_with_its_file(tmp_path: Path) -> None:
    (tmp_path / "prompts").mkdir()
    bad = tmp_path / "prompts" / "test_agent.md"
    bad.write_text(GOOD.replace("output: sprint_plan", "output: nope"), encoding="utf-8")
    result = CliRunner().invoke(app, ["agents", "list", "-w", str(tmp_path)])
    assert isinstance(result.exception, SpecError)
    assert str(bad) in str(result.exception)
