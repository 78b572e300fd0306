"""A real Alertmanager (Debian's prometheus-alertmanager) delivers to the nexus receiver:
one firing alert opens one incident run with its floor, resolving it closes the run.

Skips, saying why, where the binary is missing (.ci/run installs it when apt can)."""

from __future__ import annotations

import asyncio
import queue
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from alert_nexus import nexus_on

from nexus_agents.runs.alert_runs import open_incident
from nexus_agents.runs.store import RunStore, default_db_path
from nexus_agents.testing.mock_server import MockLLMServer
from nexus_agents.testing.playbook_author import PlaybookAuthor

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(BINARY is None, reason="prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)"),
]
uvicorn = pytest.importorskip("uvicorn", reason="the serve extra (uvicorn) is not installed")
DELIVERY_TIMEOUT_S = 90


def _listening() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # connections wait in the backlog until the server serves them
    return sock


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Receiver:
    """``create_app`` under uvicorn in a thread; ``deliveries`` gets each handled hook."""

    def __init__(self, app: Any) -> None:
        self.deliveries: queue.Queue[str] = queue.Queue()
        self.sock = _listening()
        self.port = self.sock.getsockname()[1]

        async def signalling(scope: Any, receive: Any, send: Any) -> None:
            await app(scope, receive, send)  # returns after the response's background task
            if scope["type"] == "http" and scope["path"].startswith("/hooks/"):
                self.deliveries.put(scope["path"])

        config = uvicorn.Config(signalling, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> _Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()


def _wait_for(stream: Any, needle: str, timeout: float) -> None:
    found = threading.Event()
    seen: list[str] = []

    def read() -> None:
        for line in stream:
            seen.append(line)
            if needle in line:
                found.set()

    threading.Thread(target=read, daemon=True).start()
    assert found.wait(timeout), "".join(seen[-20:])


def _alertmanager(tmp: Path, hook: str) -> Iterator[str]:
    port = _free_port()
    (tmp / "am.yml").write_text(
        "route:\n  receiver: nexus\n  group_by: [alertname]\n  group_wait: 1s\n"
        "  group_interval: 1s\n  repeat_interval: 1h\n"
        f"receivers:\n  - name: nexus\n    webhook_configs:\n      - url: {hook}\n"
        "        send_resolved: true\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [str(BINARY), f"--config.file={tmp / 'am.yml'}", f"--storage.path={tmp / 'am-data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        _wait_for(proc.stderr, "Listening", 60)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _post_alert(base: str, *, ends: datetime | None = None) -> None:
    now = datetime.now(UTC)
    alert: dict[str, Any] = {
        "labels": {"alertname": "ApiDown", "service": "api", "severity": "critical"},
        "annotations": {"summary": "api probe failing", "description": "blackbox probe failed"},
        "startsAt": (now - timedelta(minutes=2)).isoformat(),
    }
    if ends is not None:
        alert["endsAt"] = ends.isoformat()
    reply = httpx.post(f"{base}/api/v2/alerts", json=[alert], timeout=30)
    assert reply.status_code == 200, reply.text


async def _open_run(workspace: Path) -> Any:
    store = await RunStore.open(default_db_path(workspace))
    try:
        runs = await store.list_runs(graph="incident_response")
        open_record = None
        if runs:  # the first run's thread id is the alert's base thread id
            open_record, _ = await open_incident(store, runs[-1].run_id)
        return runs, open_record
    finally:
        await store.close()


def test_real_alertmanager_opens_one_run_and_closes_it(workspace: Path, tmp_path: Path) -> None:
    from nexus_agents.web.app import create_app

    with MockLLMServer(responder=PlaybookAuthor()) as server:
        nx = nexus_on(workspace, server)
        with _Receiver(create_app(nx)) as receiver:
            hook = f"http://127.0.0.1:{receiver.port}/hooks/alerts/alertmanager"
            for base in _alertmanager(tmp_path, hook):
                _post_alert(base)
                receiver.deliveries.get(timeout=DELIVERY_TIMEOUT_S)
                runs, open_record = asyncio.run(_open_run(workspace))
                assert len(runs) == 1 and open_record is not None
                assert open_record.status == "waiting_approval"  # P1: the deploy gate
                result = asyncio.run(nx.aresult(runs[0].run_id))
                assert result.artifacts["triage"]["facts"]["severity_floor"] == "P1"

                _post_alert(base, ends=datetime.now(UTC) - timedelta(seconds=1))
                while True:  # a repeat of the firing group may come first; the resolve closes
                    receiver.deliveries.get(timeout=DELIVERY_TIMEOUT_S)
                    runs, open_record = asyncio.run(_open_run(workspace))
                    if open_record is None:
                        break
                assert [r.status for r in runs] == ["cancelled"]
