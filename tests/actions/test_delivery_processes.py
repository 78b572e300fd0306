"""Deliveries across processes: a run killed with SIGKILL after its webhook answered does
not send the action again on resume, and the installed ``nexus actions`` console script
lists failed actions and retries them with the right exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import yaml
from webhook_receiver import Receiver, free_port, running, verify

from nexus_agents.actions.ledger import DeliveryLedger, action_states
from nexus_agents.config import load_config
from nexus_agents.graphs.spec import parse_spec
from nexus_agents.runs.engine import Engine
from nexus_agents.runs.store import RunStore, default_db_path
from nexus_agents.testing.fake_executor import FakeStepExecutor

HERE = Path(__file__).parent
REPO = HERE.parents[1]
NEXUS = Path(sys.executable).parent / "nexus"
SECRET = "whsec-process-test"
KEY = "ship:kill-test:go"


def _env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NEXUS_", "OPENAI_")) and k != "PYTHONPATH"
    }
    env.update(PYTHONPATH=os.pathsep.join([str(REPO), str(HERE)]), NO_COLOR="1", COLUMNS="200")
    env["NEXUS_WEBHOOK_SECRET"] = SECRET
    return env


def _workspace(path: Path, url: str, max_attempts: int = 2) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "nexus.toml").write_text(
        textwrap.dedent(f"""
            [integrations]
            secret_env = "NEXUS_WEBHOOK_SECRET"
            max_attempts = {max_attempts}
            backoff_base_s = 0

            [integrations.deploy]
            url = "{url}"
        """)
    )
    return path


def _deploy_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(HERE / "deploy_run.py"), *args],
        capture_output=True, text=True, env=_env(), timeout=120, check=False,
    )


@pytest.mark.slow  # kills a run's process and resumes it in a new one
@pytest.mark.parametrize("point", ["after_delivery", "before_step_record"])
async def test_sigkill_after_delivery_then_resume_sends_the_action_once(
    tmp_path: Path, point: str
) -> None:
    with running(Receiver()) as receiver:
        ws = _workspace(tmp_path / "ws", receiver.url)
        first = _deploy_run("start", str(ws), point)
        assert first.returncode == -signal.SIGKILL, first.stderr
        assert len(receiver.requests) == 1
        state = DeliveryLedger(ws).get(KEY)
        assert state is not None and state.status == "delivered"  # durable before the kill

        second = _deploy_run("resume", str(ws))
        assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout.strip().splitlines()[-1])["status"] == "succeeded"
    [got] = receiver.requests  # the receiver saw the action once
    assert got.headers["Idempotency-Key"] == KEY and verify(SECRET, got)
    log = [json.loads(x) for x in (ws / "actions.jsonl").read_text().splitlines()]
    assert [row["idempotency_key"] for row in log] == [KEY]  # recorded once, on resume
    async with await RunStore.open(default_db_path(ws)) as store:
        [record] = await store.actions_for("ship:kill-test")
    assert record.result is not None and record.result["ok"] is True
    assert record.result["data"]["delivery"]["status"] == "delivered"


@pytest.mark.slow  # kills a run's process and resumes it in a new one
async def test_sigkill_while_sending_resends_with_the_same_key_on_resume(tmp_path: Path) -> None:
    """The one gap once-only delivery leaves: killed before the receiver answered, the
    action is pending and is sent again on resume, with the same key and body."""
    release = threading.Event()
    with running(Receiver(hold=release)) as receiver:
        ws = _workspace(tmp_path / "ws", receiver.url)
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "deploy_run.py"), "start", str(ws)],
            env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        try:
            assert receiver.got_request.wait(timeout=60), "the run never sent its deploy"
        finally:
            proc.kill()
            proc.wait(timeout=30)
            release.set()
        [state] = action_states(ws)
        assert (state.key, state.status) == (KEY, "pending")

        resumed = _deploy_run("resume", str(ws))
        assert resumed.returncode == 0, resumed.stderr
    first, second = receiver.requests
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"] == KEY
    assert first.body == second.body and verify(SECRET, first) and verify(SECRET, second)
    [state] = action_states(ws)
    assert state.status == "delivered"
    assert len((ws / "actions.jsonl").read_text().splitlines()) == 1


def nexus(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(NEXUS), *args], cwd=cwd, env=_env(), capture_output=True, text=True,
        timeout=120, check=False,
    )


@pytest.mark.skipif(not NEXUS.exists(), reason="the nexus console script is not installed")
async def test_nexus_actions_list_and_retry_a_failed_delivery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEXUS_WEBHOOK_SECRET", SECRET)
    port = free_port()
    url = f"http://127.0.0.1:{port}/hooks/T000/B000/XXXXSECRETPATH?token=querysecret"
    ws = _workspace(tmp_path / "ws", url)
    spec = parse_spec(
        yaml.safe_load("name: ship\nsteps:\n  - {id: build, agent: developer}\n"
                       "  - action: {id: go, kind: deploy, from: build}\n"),
        "ship.yaml",
    )
    async with await Engine.open(
        specs={"ship": spec}, executor=FakeStepExecutor(), workspace=ws,
        config=load_config(ws, env={}),
    ) as engine:
        run = await engine.start("ship", thread_id="ship:cli-test")
    assert run.status == "succeeded" and run.values["go"] == "failed"  # nobody listens

    listed = nexus("actions", "list", "--status", "failed", "--json", cwd=ws)
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert (row["key"], row["status"], row["attempts"]) == ("ship:cli-test:go", "failed", 2)
    assert row["target"] == f"http://127.0.0.1:{port}/…"
    table = nexus("actions", "list", "--run", "ship:cli", cwd=ws)
    assert table.returncode == 0 and "failed" in table.stdout and "ship:cli-test" in table.stdout
    assert nexus("actions", "list", "--status", "delivered", "--json", cwd=ws).stdout.strip() == "[]"
    bad = nexus("actions", "list", "--status", "lost", cwd=ws)
    assert bad.returncode == 2 and "not one of pending, delivered, failed" in bad.stderr

    still_down = nexus("actions", "retry", cwd=ws)
    assert still_down.returncode == 1
    assert "error: 1 action still failing: ship:cli-test:go" in still_down.stderr
    assert "Traceback" not in still_down.stderr

    with running(Receiver(port=port)) as receiver:
        retried = nexus("actions", "retry", "ship:cli-test", cwd=ws)
        assert retried.returncode == 0, retried.stderr
        assert "delivered: ship:cli-test:go" in retried.stdout
        again = nexus("actions", "retry", cwd=ws)
    assert again.returncode == 0 and "no failed actions" in again.stdout
    [got] = receiver.requests
    assert got.headers["Idempotency-Key"] == "ship:cli-test:go" and verify(SECRET, got)

    delivered = json.loads(nexus("actions", "list", "--json", cwd=ws).stdout)
    assert [(r["key"], r["status"], r["attempts"]) for r in delivered] == [
        ("ship:cli-test:go", "delivered", 5)
    ]
    async with await RunStore.open(default_db_path(ws)) as store:
        [record] = await store.actions_for("ship:cli-test")
    assert record.result is not None and record.result["ok"] is True  # the run store too
    for proc in (listed, table, still_down, retried):
        for hidden in ("XXXXSECRETPATH", "querysecret", SECRET):
            assert hidden not in proc.stdout + proc.stderr


@pytest.mark.skipif(not NEXUS.exists(), reason="the nexus console script is not installed")
def test_doctor_shows_targets_by_host_and_fails_on_a_missing_secret(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "ws", "https://deploy.example.com/hooks/XXXXSECRETPATH?token=querysecret")
    with (ws / "nexus.toml").open("a") as fh:
        fh.write('\n[integrations.notify]\nurl_env = "ONCALL_SLACK_URL"\nflavour = "slack"\n')
    env = _env()
    env.pop("NEXUS_WEBHOOK_SECRET")
    env["ONCALL_SLACK_URL"] = "https://hooks.slack.com/services/T0/B0/XXXXSECRETPATH"
    proc = subprocess.run(
        [str(NEXUS), "doctor", "--offline"], cwd=ws, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )
    assert proc.returncode == 1
    assert "action deploy: webhook to https://deploy.example.com/…; not set: NEXUS_WEBHOOK_SECRET" in proc.stdout
    assert "action notify: slack to https://hooks.slack.com/…" in proc.stdout
    assert "XXXXSECRETPATH" not in proc.stdout + proc.stderr and "querysecret" not in proc.stdout
