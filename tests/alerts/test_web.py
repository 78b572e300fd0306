"""The alert receiver: POST /hooks/alerts/{source} of `nexus serve`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from alert_nexus import nexus_on
from payloads import alertmanager, am_alert, grafana, pagerduty

pytest.importorskip("starlette", reason="the serve extra (starlette, uvicorn) is not installed")
from starlette.testclient import TestClient

from nexus_agents.testing.mock_server import MockLLMServer
from nexus_agents.testing.playbook_author import PlaybookAuthor
from nexus_agents.web.app import create_app


def test_alertmanager_post_starts_one_run_then_resolve_closes_it(workspace: Path) -> None:
    with MockLLMServer(responder=PlaybookAuthor()) as server:
        nx = nexus_on(workspace, server)
        with TestClient(create_app(nx)) as client:
            first = client.post("/hooks/alerts/alertmanager", json=alertmanager())
            assert first.status_code == 202, first.text
            [accepted] = first.json()["accepted"]
            assert accepted["severity_floor"] == "P1" and accepted["status"] == "firing"
            again = client.post("/hooks/alerts/alertmanager?wait=true", json=alertmanager())
            [outcome] = again.json()["outcomes"]
            assert outcome["action"] == "already_open"
            assert outcome["run_id"] == "incident:alertmanager:1a30ba71cca2921f"
            resolved = client.post(
                "/hooks/alerts/alertmanager?wait=true", json=alertmanager(am_alert(status="resolved"))
            )
            [closed] = resolved.json()["outcomes"]
            assert closed["action"] == "closed" and closed["run_status"] == "cancelled"
            runs = client.portal.call(lambda: nx.alist_runs(graph="incident_response"))  # type: ignore[union-attr]
            assert [r.status for r in runs] == ["cancelled"]


def test_other_sources_and_bad_requests(workspace: Path) -> None:
    with MockLLMServer(responder=PlaybookAuthor()) as server:
        nx = nexus_on(workspace, server)
        with TestClient(create_app(nx, max_body=200_000)) as client:
            assert client.post("/hooks/alerts/grafana?wait=true&unattended=true", json=grafana()).json()["outcomes"][0]["action"] == "started"
            assert client.post("/hooks/alerts/pagerduty", json=pagerduty("resolve")).status_code == 202
            bad = client.post("/hooks/alerts/pagerduty", json={**pagerduty(), "payload": {"severity": "sev1"}})
            assert bad.status_code == 422 and "payload.severity" in bad.json()["error"]
            assert client.post("/hooks/alerts/datadog", json={}).status_code == 404
            assert client.post("/hooks/alerts/nexus", content=b"{not json").status_code == 400
            huge = client.post("/hooks/alerts/nexus", content=b"x" * 300_000)
            assert huge.status_code == 413
            assert client.get("/healthz").json() == {"status": "ok"}


def test_a_token_is_checked(workspace: Path) -> None:
    with MockLLMServer(responder=PlaybookAuthor()) as server:
        nx = nexus_on(workspace, server)
        from starlette.responses import PlainTextResponse
        from starlette.routing import Route

        page = Route("/dashboard", lambda request: PlainTextResponse("runs"))  # a later page
        with TestClient(create_app(nx, token="s3cret-token", routes=[page])) as client:
            assert client.get("/dashboard").status_code == 401
            assert client.get("/dashboard", headers={"Authorization": "Bearer s3cret-token"}).text == "runs"
            url = "/hooks/alerts/pagerduty"
            assert client.post(url, json=pagerduty("resolve")).status_code == 401
            wrong = {"Authorization": "Bearer nope"}
            assert client.post(url, json=pagerduty("resolve"), headers=wrong).status_code == 401
            right = {"Authorization": "Bearer s3cret-token"}
            assert client.post(url, json=pagerduty("resolve"), headers=right).status_code == 202
            assert client.get("/healthz").status_code == 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_line(stream: object, needle: str, timeout: float) -> str:
    seen: list[str] = []
    done = threading.Event()

    def read() -> None:
        for line in stream:  # type: ignore[attr-defined]
            seen.append(line)
            if needle in line:
                done.set()
                return

    threading.Thread(target=read, daemon=True).start()
    assert done.wait(timeout), "".join(seen)
    return "".join(seen)


def test_nexus_serve_in_a_subprocess(workspace: Path) -> None:
    port = _free_port()
    with MockLLMServer(responder=PlaybookAuthor()) as server:
        env = {
            **os.environ,
            "NEXUS_LLM_BASE_URL": server.base_url,
            "NEXUS_LLM_API_KEY": "sk-test-alerts",
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        }
        env.pop("NEXUS_SERVE_TOKEN", None)
        refused = subprocess.run(
            [sys.executable, "-m", "nexus_agents.cli.main", "serve", "-w", str(workspace), "--host", "0.0.0.0"],
            env=env, capture_output=True, text=True, timeout=60,
        )
        assert refused.returncode == 2 and "NEXUS_SERVE_TOKEN" in refused.stderr
        proc = subprocess.Popen(
            [sys.executable, "-m", "nexus_agents.cli.main", "serve", "-w", str(workspace), "--port", str(port)],
            env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        )
        try:
            _wait_for_line(proc.stderr, "Uvicorn running on", 60)
            reply = httpx.post(
                f"http://127.0.0.1:{port}/hooks/alerts/alertmanager?wait=true&unattended=true",
                content=json.dumps(alertmanager()),
                timeout=60,
            )
            assert reply.status_code == 200, reply.text
            [outcome] = reply.json()["outcomes"]
            assert outcome["action"] == "started" and outcome["severity_floor"] == "P1"
            assert outcome["run_status"] == "succeeded"
        finally:
            proc.terminate()
            proc.wait(timeout=30)
