"""``nexus serve`` run as people run it: the console script in a subprocess."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
NEXUS = Path(sys.executable).parent / "nexus"
pytestmark = pytest.mark.skipif(not NEXUS.exists(), reason="the nexus console script is not installed")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEXUS_", "OPENAI_"))}
    env["PYTHONPATH"] = str(REPO)
    return {**env, **extra}


def test_off_loopback_without_a_token_it_refuses_to_start(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(NEXUS), "serve", "--host", "0.0.0.0", "--port", "0"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode != 0
    assert "needs a token: set NEXUS_SERVE_TOKEN" in done.stderr


def test_it_serves_the_dashboard_on_the_port_it_prints(demo_template: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(demo_template, workspace)
    proc = subprocess.Popen(
        [str(NEXUS), "serve", "-w", str(workspace), "--port", "0"],
        env=_env(), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    lines: list[str] = []
    found = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if "Uvicorn running on" in line:
                found.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        assert found.wait(timeout=120), "".join(lines)
        url = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", "".join(lines))
        assert url, "".join(lines)
        with httpx.Client(base_url=url.group(1), timeout=60) as client:
            assert client.get("/healthz").json() == {"status": "ok"}
            page = client.get("/schedules")
            assert page.status_code == 200 and page.text.count("<tr data-job=") == 23
            assert client.get("/graphs/improvement_loop").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
