"""`nexus run incident --alert FILE --source S` opens one run per alert key and closes it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from payloads import alertmanager, am_alert
from typer.testing import CliRunner

from nexus_agents.cli.main import app
from nexus_agents.testing.mock_server import MockLLMServer
from nexus_agents.testing.playbook_author import PlaybookAuthor


def test_run_incident_with_a_source(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    firing, resolved = tmp_path / "firing.json", tmp_path / "resolved.json"
    firing.write_text(json.dumps(alertmanager()), encoding="utf-8")
    resolved.write_text(json.dumps(alertmanager(am_alert(status="resolved"))), encoding="utf-8")
    with MockLLMServer(responder=PlaybookAuthor()) as server:
        monkeypatch.setenv("NEXUS_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("NEXUS_LLM_API_KEY", "sk-test-alerts")
        run = ["run", "incident", "-w", str(workspace), "--alert"]
        first = CliRunner().invoke(app, [*run, str(firing), "--source", "alertmanager", "--unattended"])
        assert first.exit_code == 0, first.output
        assert "started run incident:alertmanager:1a30ba71cca2921f (succeeded), floor P1" in first.output
        again = CliRunner().invoke(app, [*run, str(firing), "--source", "alertmanager", "--json"])
        assert json.loads(again.output)[0]["action"] == "already_open"
        closed = CliRunner().invoke(app, [*run, str(resolved), "--source", "alertmanager"])
        assert "firing" not in closed.output and ": closed run incident:alertmanager:" in closed.output
        bad = CliRunner().invoke(app, [*run, str(firing), "--source", "datadog"])
        assert bad.exit_code != 0 and "unknown source" in str(bad.exception or bad.output)
