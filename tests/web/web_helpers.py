"""Helpers of the dashboard tests: a Nexus on the mock model server, and a run that waits
for a decision (an incident from a critical Alertmanager alert stops at the P1 gate)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from nexus_agents.api import Nexus
from nexus_agents.config import load_config
from nexus_agents.testing.mock_server import MockLLMServer

FAST = {"llm.backoff_base_s": 0.01, "llm.backoff_max_s": 0.05, "llm.timeout_s": 5.0}
API_KEY = "sk-test-dashboard-0123456789"


def nexus_on(workspace: Path, server: MockLLMServer) -> Nexus:
    env = {"NEXUS_LLM_BASE_URL": server.base_url, "NEXUS_LLM_API_KEY": API_KEY}
    return Nexus(load_config(workspace, env=env, overrides=FAST))


def critical_alert(fingerprint: str = "5e1f0c0ffee0beef", summary: str = "API probe failing") -> dict[str, Any]:
    """An Alertmanager webhook body with one firing critical alert."""
    recent = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    alert = {
        "status": "firing",
        "labels": {"alertname": "ProbeFailure", "job": "api", "severity": "critical"},
        "annotations": {"summary": summary, "description": "the probe has failed for 5m"},
        "startsAt": recent,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example.org/graph",
        "fingerprint": fingerprint,
    }
    return {
        "version": "4",
        "groupKey": "{}:{alertname=\"ProbeFailure\"}",
        "status": "firing",
        "receiver": "nexus",
        "groupLabels": {"alertname": "ProbeFailure"},
        "commonLabels": alert["labels"],
        "commonAnnotations": alert["annotations"],
        "externalURL": "http://alertmanager.example.org",
        "alerts": [alert],
    }


async def waiting_run(nexus: Nexus, fingerprint: str = "5e1f0c0ffee0beef", **kw: Any) -> str:
    """Start an incident run that stops at its approval gate; its run id."""
    [outcome] = await nexus.areceive_alerts(critical_alert(fingerprint, **kw), source="alertmanager")
    assert outcome.run_status == "waiting_approval", outcome
    assert outcome.run_id is not None
    return outcome.run_id
