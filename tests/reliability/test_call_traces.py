"""Stored model-call traces: a repair round's trace holds only the messages added since
the step's call before, and ``nexus runs trace`` says so; nothing of the key is stored."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rel_support import TEST_KEY, nexus_for
from typer.testing import CliRunner

from nexus_agents.cli.main import app
from nexus_agents.runs.store import EventRecord
from nexus_agents.testing.mock_server import MockLLMServer
from nexus_agents.testing.playbook_author import PlaybookAuthor

ALERT = {
    "id": "ALERT-TRACE-1",
    "service": "exports",
    "title": "exports are slow",
    "detected_at": "2026-11-27T10:00:00+00:00",
}


def test_a_repair_round_stores_only_the_new_messages(workspace: Path) -> None:
    # the first answer is not JSON: the triage step repairs it in a second call
    with MockLLMServer(responder=PlaybookAuthor(), faults={1: "invalid_json"}) as server:
        nx = nexus_for(workspace, server)
        inputs = {"alert": ALERT, "now": "2026-11-27T10:20:00+00:00"}
        result = nx.run("incident_response", inputs)
    assert result.status == "succeeded", result.error

    async def model_calls() -> list[EventRecord]:
        store = await nx._store()
        try:
            return [e for e in await store.events_for(result.run_id) if e.event == "model_call"]
        finally:
            await store.close()

    calls = asyncio.run(model_calls())
    triage = [e.detail or {} for e in calls if e.step == "triage"]
    assert len(triage) == 2
    first, repair = triage
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    assert "earlier_messages" not in first
    assert repair["earlier_messages"] == 2
    assert [m["role"] for m in repair["messages"]] == ["assistant", "user"]
    assert "JSON" in repair["messages"][1]["content"]
    assert TEST_KEY not in str(triage)

    shown = CliRunner().invoke(
        app, ["runs", "trace", result.run_id, "triage", "-w", str(workspace)]
    )
    assert shown.exit_code == 0, shown.output
    assert "=== triage (agents_orchestrator) call 1" in shown.output
    assert "call 2" in shown.output
    assert "--- (2 earlier message(s), shown with the call before)" in shown.output
    assert shown.output.count("--- system") == 1
