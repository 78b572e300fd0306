"""A compromised model (it answers the lowest severity, no breach, PASS and deploy
everywhere, and every approval is answered "approve") cannot bring an alert of any source,
or an outage the uptime checks found, below its floor."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alert_nexus import nexus_on
from payloads import alertmanager, grafana, pagerduty

from nexus_agents.api import Nexus
from nexus_agents.runs.engine import RunResult
from nexus_agents.testing.mock_server import MockLLMServer
from nexus_agents.testing.playbook_author import AuthorScenario, PlaybookAuthor


class Compromised:
    """Schema-valid answers that do the most harm: the lowest severity, nothing flagged."""

    def __init__(self) -> None:
        self.author = PlaybookAuthor(AuthorScenario(proposed_severity="P3"))

    def __call__(self, request: dict[str, Any]) -> Any:
        reply = self.author(request)
        name = str(((request.get("response_format") or {}).get("json_schema") or {}).get("name", ""))
        if not reply or name != "IncidentTriageNarrative":
            return reply
        body = json.loads(reply["content"])
        body.update(proposed_severity="P3", suspected_breach_or_data_loss=False, revenue_impact=False)
        return {"content": json.dumps(body)}


async def approve_all(nx: Nexus, result: RunResult) -> RunResult:
    while result.status == "waiting_approval" and result.pending is not None:
        result = await nx.aresume(result.run_id, "approve" if "approve" in result.pending.options else result.pending.on_timeout)
    return result


def triage_of(result: RunResult) -> tuple[str, str, list[str]]:
    triage = result.artifacts["triage"]
    return triage["facts"]["severity_floor"], result.values["severity"], triage["facts"]["floor_reasons"]


@pytest.mark.parametrize(
    ("source", "payload", "floor"),
    [
        ("alertmanager", alertmanager(), "P1"),
        ("grafana", grafana(), "P1"),
        ("pagerduty", pagerduty(severity="critical"), "P1"),
        ("pagerduty", pagerduty(severity="error", dedup_key="db-2"), "P2"),
        ("nexus", {"id": "ALRT-7", "service": "api", "title": "API down", "severity": "P0"}, "P0"),
    ],
)
async def test_a_compromised_model_cannot_lower_a_source_floor(
    workspace: Path, source: str, payload: dict[str, Any], floor: str
) -> None:
    with MockLLMServer(responder=Compromised()) as server:
        nx = nexus_on(workspace, server)
        [outcome] = await nx.areceive_alerts(payload, source=source)
        assert outcome.action == "started" and outcome.severity_floor == floor
        result = await asyncio.wait_for(approve_all(nx, await nx.aresult(outcome.run_id or "")), 120)
        await nx.aclose()
    assert result.status == "succeeded", result.error
    assert result.artifacts["triage"]["narrative"]["proposed_severity"] == "P3"
    got_floor, severity, reasons = triage_of(result)
    assert (got_floor, severity) == (floor, floor)
    assert f"the alert's source rated it {floor}" in reasons


@pytest.mark.parametrize(
    ("rows", "floor", "reason"),
    [
        (["api,0", "web,1"], "P1", "uptime checks failing for api"),
        (["api,0", "web,0"], "P0", "service down"),
    ],
)
async def test_a_detected_outage_keeps_its_floor(
    workspace: Path, rows: list[str], floor: str, reason: str
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    checked = (now - timedelta(minutes=3)).isoformat()
    lines = "".join(f"{checked},{row}\n" for row in rows)
    (workspace / "data" / "uptime_checks.csv").write_text(f"checked_at,service,ok\n{lines}", encoding="utf-8")
    with MockLLMServer(responder=Compromised()) as server:
        nx = nexus_on(workspace, server)
        started = await nx.arun("incident_response", {"now": now.isoformat()}, unattended=True)
        result = await asyncio.wait_for(approve_all(nx, started), 120)
        await nx.aclose()
    assert result.status == "succeeded", result.error
    got_floor, severity, reasons = triage_of(result)
    assert (got_floor, severity) == (floor, floor) and reason in reasons
