"""``nexus ask``: one agent, once, against the configured endpoint (the local mock server here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nexus_agents.cli.main import app
from nexus_agents.cli.main import run as console_main
from nexus_agents.data.demo import generate_demo
from nexus_agents.testing import MockLLMServer
from nexus_agents.testing.playbook_author import PlaybookAuthor


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ask") / "ws"
    generate_demo(path, seed=7)
    return path


def test_missing_endpoint_is_one_line_naming_the_variables(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.argv", ["nexus", "ask", "analytics reporter", "-w", str(workspace)])
    with pytest.raises(SystemExit) as exit_info:
        console_main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "NEXUS_LLM_BASE_URL" in err
    assert "NEXUS_LLM_API_KEY" in err


def test_ask_prints_the_artifact_and_its_cost(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with MockLLMServer(responder=PlaybookAuthor(), max_requests=20, max_lifetime_s=60) as server:
        monkeypatch.setenv("NEXUS_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("NEXUS_LLM_API_KEY", "sk-ask-test-key")
        result = CliRunner().invoke(
            app, ["ask", "Data Analytics Reporter", "-w", str(workspace), "--period", "2026-W47"]
        )
        sent = server.requests
    assert result.exit_code == 0, result.output
    assert "Daily metrics snapshot" in result.output  # the agent's main output
    assert "1 model calls" in result.output
    assert "$" in result.output
    assert len(sent) == 1
    body = sent[0].body
    assert body["response_format"]["json_schema"]["name"].endswith("Narrative")
    assert "sk-ask-test-key" not in result.output


def test_ask_json_output_is_the_artifact(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with MockLLMServer(responder=PlaybookAuthor(), max_requests=20, max_lifetime_s=60) as server:
        monkeypatch.setenv("NEXUS_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("NEXUS_LLM_API_KEY", "sk-ask-test-key")
        result = CliRunner().invoke(
            app, ["ask", "sprint_prioritizer", "-w", str(workspace), "--period", "2026-W48", "--json"]
        )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    facts = data["facts"]
    assert facts["planned_points"] <= facts["capacity"]
    assert facts["selected_item_ids"]
