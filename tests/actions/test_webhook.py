"""The webhook and Slack integrations against a receiver on 127.0.0.1: signature, retries,
failures recorded (never sent twice), secrets kept out of everything shown."""

from __future__ import annotations

import json
import logging
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from webhook_receiver import Receiver, free_port, running, verify

from nexus_agents.actions import ActionRequest, DeliveryLedger, WebhookIntegration, integration_for
from nexus_agents.actions.ledger import action_states
from nexus_agents.config import IntegrationsConfig, load_config
from nexus_agents.exceptions import ConfigError
from nexus_agents.graphs.spec import parse_spec
from nexus_agents.runs.engine import Engine
from nexus_agents.testing.fake_executor import FakeStepExecutor

SECRET = "whsec-test-0123456789"
ENV = {"NEXUS_WEBHOOK_SECRET": SECRET}
HIDDEN = ("XXXXSECRETPATH", "querysecret", SECRET)


def _settings(url: str, kind: str = "deploy", **target: Any) -> IntegrationsConfig:
    return IntegrationsConfig.model_validate(
        {
            "secret_env": "NEXUS_WEBHOOK_SECRET",
            "backoff_base_s": 0,
            "timeout_s": 5,
            kind: {"url": url, **target},
        }
    )


def _deploy(key: str = "run-1:ship") -> ActionRequest:
    run, step = key.split(":")
    artifact = {
        "kind": "deploy_decision",
        "facts": {"item_id": "BL-7", "ready": True},
        "narrative": {"action": "deploy", "summary": "ship it"},
    }
    return ActionRequest(
        kind="deploy", idempotency_key=key, run_id=run, step_id=step,
        payload={"from": "decide", "artifact": artifact},
    )


def _no_secret_in(*texts: str) -> None:
    for text in texts:
        for hidden in HIDDEN:
            assert hidden not in text


async def test_delivery_is_signed_and_carries_key_run_step_and_facts(tmp_path: Path) -> None:
    with running(Receiver()) as receiver:
        hook = WebhookIntegration(tmp_path, _settings(receiver.url), env=ENV)
        result = await hook.deploy(_deploy())
    assert result.ok, result.detail
    [got] = receiver.requests
    assert verify(SECRET, got, max_age_s=300)
    assert not verify("another-secret", got)
    tampered = type(got)(got.path, got.headers, got.body.replace(b"BL-7", b"BL-8"))
    assert not verify(SECRET, tampered)  # the signature covers the exact body bytes
    assert got.headers["Idempotency-Key"] == "run-1:ship"
    body = json.loads(got.body)
    assert body["action"]["kind"] == "deploy" and body["run_id"] == "run-1"
    assert body["step_id"] == "ship" and body["facts"] == {"item_id": "BL-7", "ready": True}
    assert body["action"]["payload"]["artifact"]["narrative"]["summary"] == "ship it"
    # the workspace record is written after the delivery, and says where it went
    [logged] = [json.loads(x) for x in (tmp_path / "actions.jsonl").read_text().splitlines()]
    assert logged["idempotency_key"] == "run-1:ship"
    assert result.data["delivery"]["status"] == "delivered"
    assert result.data["delivery"]["target"] == f"http://127.0.0.1:{receiver.port}/…"
    _no_secret_in(result.detail, json.dumps(result.data))


async def test_503_twice_then_200_is_delivered_once(tmp_path: Path) -> None:
    with running(Receiver(statuses=[503, 503])) as receiver:
        hook = WebhookIntegration(tmp_path, _settings(receiver.url), env=ENV)
        result = await hook.deploy(_deploy())
        again = await hook.deploy(_deploy())  # the same key: not sent again
        other_process = WebhookIntegration(tmp_path, _settings(receiver.url), env=ENV)
        await other_process.deploy(_deploy())
    assert result.ok and again.ok
    assert len(receiver.requests) == 3  # two 503s, one 200; nothing after
    assert {r.headers["Idempotency-Key"] for r in receiver.requests} == {"run-1:ship"}
    assert len({r.body for r in receiver.requests}) == 1  # the same bytes on every attempt
    state = DeliveryLedger(tmp_path).get("run-1:ship")
    assert state is not None and state.status == "delivered" and state.attempts == 3
    assert len((tmp_path / "actions.jsonl").read_text().splitlines()) == 1


async def test_a_400_is_recorded_failed_without_retry(tmp_path: Path) -> None:
    with running(Receiver(statuses=[400])) as receiver:
        hook = WebhookIntegration(tmp_path, _settings(receiver.url), env=ENV)
        result = await hook.deploy(_deploy())
    assert len(receiver.requests) == 1
    assert not result.ok and "HTTP 400" in result.detail
    state = DeliveryLedger(tmp_path).get("run-1:ship")
    assert state is not None
    assert (state.status, state.attempts, state.http_status) == ("failed", 1, 400)
    assert state.last_error and "HTTP 400" in state.last_error and state.at
    assert not (tmp_path / "actions.jsonl").exists()  # nothing executed
    assert not (tmp_path / "data" / "backlog.csv").exists()


async def test_5xx_is_retried_a_bounded_number_of_times(tmp_path: Path) -> None:
    with running(Receiver(default=502)) as receiver:
        settings = _settings(receiver.url).model_copy(update={"max_attempts": 3})
        result = await WebhookIntegration(tmp_path, settings, env=ENV).deploy(_deploy())
    assert len(receiver.requests) == 3
    assert not result.ok and "after 3 attempts" in result.detail


async def test_a_receiver_that_is_down_leaves_the_action_failed_and_retry_delivers_it(
    tmp_path: Path,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hooks/T000/B000/XXXXSECRETPATH?token=querysecret"
    hook = WebhookIntegration(tmp_path, _settings(url).model_copy(update={"max_attempts": 2}), env=ENV)
    failed = await hook.deploy(_deploy())
    assert not failed.ok and "after 2 attempts" in failed.detail
    [state] = action_states(tmp_path)
    assert (state.status, state.attempts) == ("failed", 2)
    _no_secret_in(failed.detail, (tmp_path / ".nexus" / "deliveries.jsonl").read_text())

    with running(Receiver(port=port)) as receiver:
        outcomes = await hook.retry()
        assert await hook.retry() == []  # delivered: nothing left to retry
    [(_, result)] = outcomes
    assert result.ok and len(receiver.requests) == 1
    assert receiver.requests[0].headers["Idempotency-Key"] == "run-1:ship"
    [state] = action_states(tmp_path)
    assert (state.status, state.attempts) == ("delivered", 3)


async def test_secrets_stay_out_of_errors_logs_and_records(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with running(Receiver(statuses=[500, 404])) as receiver:
        hook = WebhookIntegration(tmp_path, _settings(receiver.url), env=ENV)
        result = await hook.deploy(_deploy())
    assert not result.ok and "HTTP 404" in result.detail
    assert "HTTP Request: POST http://127.0.0.1" in caplog.text  # httpx logged the requests
    _no_secret_in(
        caplog.text,
        result.detail,
        (tmp_path / ".nexus" / "deliveries.jsonl").read_text(),
        json.dumps([s.summary() for s in action_states(tmp_path)]),
    )


async def test_a_missing_secret_fails_the_action_without_sending(tmp_path: Path) -> None:
    with running(Receiver()) as receiver:
        result = await WebhookIntegration(tmp_path, _settings(receiver.url), env={}).deploy(_deploy())
    assert receiver.requests == []
    assert not result.ok and "NEXUS_WEBHOOK_SECRET is not set" in result.detail


async def test_kinds_without_a_url_stay_file_only(tmp_path: Path) -> None:
    hook = WebhookIntegration(tmp_path, _settings("http://127.0.0.1:9/x", kind="publish"), env=ENV)
    result = await hook.deploy(_deploy())
    assert result.ok and "delivery" not in result.data
    [state] = action_states(tmp_path)
    assert (state.status, state.target) == ("delivered", "file")


async def test_slack_message_escapes_hostile_model_text(tmp_path: Path) -> None:
    hostile = "<!channel> ping <@U024BE7LH> see <https://evil.example|your bank> & @here"
    artifact = {
        "kind": "status_page_update",
        "facts": {"incident_id": "INC-9", "status": "investigating <!here>"},
        "narrative": {"impact": hostile, "current_action": "rollback\n<!everyone>"},
    }
    request = ActionRequest(
        kind="status_post", idempotency_key="r9:post", run_id="r9", step_id="post",
        payload={"from": "status", "artifact": artifact},
    )
    with running(Receiver()) as receiver:
        settings = IntegrationsConfig.model_validate(
            {"status_post": {"url_env": "SLACK_URL", "flavour": "slack"}}
        )
        hook = WebhookIntegration(tmp_path, settings, env={"SLACK_URL": receiver.url})
        result = await hook.status_post(request)
    assert result.ok, result.detail
    [got] = receiver.requests
    message = json.loads(got.body)
    assert set(message) >= {"text", "blocks"} and message["parse"] == "none"
    raw = got.body.decode()
    assert "<!" not in raw and "<@" not in raw and "<http" not in raw
    shown = json.dumps(message["blocks"])
    assert "&lt;!channel&gt;" in shown and "&amp;" in shown and "INC-9" in shown
    texts = [
        obj
        for block in message["blocks"]
        for obj in [block.get("text"), *block.get("fields", []), *block.get("elements", [])]
        if obj
    ]
    assert texts and all(t["type"] == "mrkdwn" and t["verbatim"] is True for t in texts)
    assert "X-Nexus-Signature" not in got.headers  # nothing to sign with: Slack checks the URL


def test_bad_integration_config_names_the_file_and_field(tmp_path: Path) -> None:
    cases = {
        '[integrations.deploy]\nurl = "ftp://x/y"\nsecret_env = "S"\n': "integrations.deploy.url",
        '[integrations.deploy]\nurl = "https://x/y"\n': "secret_env",
        '[integrations.deploy]\nurl_env = "U"\nflavour = "slack"\n': "flavour 'slack'",
        '[integrations.notify]\nflavour = "slack"\n': "exactly one of 'url' and 'url_env'",
        '[integrations.pager]\nurl = "https://x/y"\n': "integrations.pager",
    }
    for text, needle in cases.items():
        (tmp_path / "nexus.toml").write_text(text)
        with pytest.raises(ConfigError) as caught:
            load_config(tmp_path, env={})
        message = str(caught.value)
        assert "nexus.toml" in message and needle in message, message
        assert "x/y" not in message  # the URL is not echoed


SHIP = """
    name: ship
    steps:
      - {id: build, agent: developer}
      - action: {id: go, kind: deploy, from: build}
      - {id: after, agent: developer}
"""


async def test_a_failed_action_is_recorded_and_the_run_goes_on(tmp_path: Path) -> None:
    spec = parse_spec(yaml.safe_load(textwrap.dedent(SHIP)), "ship.yaml")
    url = f"http://127.0.0.1:{free_port()}/hook"
    (tmp_path / "nexus.toml").write_text(
        "[integrations]\nsecret_env = 'NEXUS_WEBHOOK_SECRET'\nmax_attempts = 1\n"
        f"[integrations.deploy]\nurl = '{url}'\n"
    )
    config = load_config(tmp_path, env={})
    assert isinstance(integration_for(config, tmp_path), WebhookIntegration)
    async with await Engine.open(
        specs={"ship": spec}, executor=FakeStepExecutor(), workspace=tmp_path, config=config
    ) as engine:
        result = await engine.start("ship")
        [record] = await engine.store.actions_for(result.run_id)
        events = await engine.store.events_for(result.run_id)
        resumed = await engine.resume(result.run_id)
    assert result.status == "succeeded" and result.values["go"] == "failed"
    assert "after" in [e.step for e in events if e.event == "finished"]
    assert record.result is not None and record.result["ok"] is False
    assert record.result["data"]["delivery"]["status"] == "failed"
    failed = [e for e in events if e.event == "action_failed"]
    assert len(failed) == 1 and "failed" in (failed[0].detail or {})["error"]
    assert resumed.values["go"] == "failed"
