"""The API key never lands in anything a run writes: workspace files (the SQLite bytes
included), actions, logs, errors or recorded cassettes."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from rel_support import FAST_LLM, env_for, iterate, nexus_for
from typer.testing import CliRunner

from nexus_agents.api import Nexus
from nexus_agents.cli.main import app
from nexus_agents.config import load_config
from nexus_agents.evals.record import Recorder
from nexus_agents.exceptions import NexusError
from nexus_agents.llm.factory import build_chat_model
from nexus_agents.testing.faults import Fault, FaultKind
from nexus_agents.testing.mock_server import MockLLMServer
from nexus_agents.testing.playbook_author import PlaybookAuthor

SECRET = "sk-live-SECRET-XYZ-0123456789abcdef"


def written_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


async def test_the_key_is_in_nothing_the_run_writes(
    make_workspace, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ok_ws, failing_ws = make_workspace("ok"), make_workspace("failing")
    cassette = tmp_path / "cassette.yaml"
    texts: list[str] = []
    # one run that retries once and succeeds (recorded), one that fails on a lost connection
    with MockLLMServer(faults={3: "server_error"}, responder=PlaybookAuthor()) as server:
        config = load_config(ok_ws, env=env_for(server, SECRET), overrides=FAST_LLM)
        recorder = Recorder(server.base_url, api_key=SECRET)
        model = build_chat_model(config, http_client=recorder.http_client())
        result = await iterate(Nexus(config, model=model))
        assert result.status == "succeeded", result.error
        assert len(recorder.interactions) == server.stats.requests
        recorder.save(cassette)
        texts += [result.model_dump_json(), repr(config), str(config.redacted())]
    with MockLLMServer(faults=lambda n: "reset" if n >= 2 else None) as server:
        config = load_config(failing_ws, env=env_for(server, SECRET), overrides=FAST_LLM)
        failed = await iterate(Nexus(config))
        assert failed.status == "failed" and failed.error
        texts += [failed.model_dump_json(), failed.error]
    files = {
        **written_bytes(ok_ws),
        **written_bytes(failing_ws),
        str(cassette): cassette.read_bytes(),
    }
    assert any(name.endswith(".sqlite") for name in files)
    assert any(name.endswith("actions.jsonl") for name in files)
    leaked = [name for name, data in files.items() if SECRET.encode() in data]
    assert leaked == []
    assert caplog.records  # the run did log something
    assert SECRET not in caplog.text
    for text in texts:
        assert SECRET not in text


# --- a model (or proxy) that echoes the key ------------------------------------------------

ECHOED = "sk-live-ECHOED-KEY-9f8e7d6c5b4a"


class EchoesTheKey:
    """PlaybookAuthor whose every answer carries the API key in its longest text field."""

    def __init__(self) -> None:
        self.author = PlaybookAuthor()

    def __call__(self, request: dict[str, Any]) -> Any:
        reply = self.author(request)
        if not reply or "content" not in reply:
            return reply
        body = json.loads(reply["content"])
        texts = [k for k, v in body.items() if isinstance(v, str)]
        if texts:
            longest = max(texts, key=lambda k: len(body[k]))
            body[longest] += f" (the key is {ECHOED})"
        return {"content": json.dumps(body)}


def test_an_echoed_key_is_redacted_before_it_is_stored_or_shown(
    make_workspace, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    ws = make_workspace("echo")
    with MockLLMServer(responder=EchoesTheKey()) as server:
        result = asyncio.run(iterate(nexus_for(ws, server, key=ECHOED)))
        monkeypatch.setenv("NEXUS_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("NEXUS_LLM_API_KEY", ECHOED)
        shown = CliRunner().invoke(
            app, ["ask", "Data Analytics Reporter", "-w", str(ws), "--period", "2026-W47"]
        )
    assert result.status == "succeeded", result.error
    assert shown.exit_code == 0, shown.output
    stored = json.dumps(result.artifacts)
    assert "[redacted]" in stored and "[redacted]" in shown.output  # it was echoed ...
    assert ECHOED not in stored + shown.output  # ... and hidden everywhere
    leaked = [name for name, data in written_bytes(ws).items() if ECHOED.encode() in data]
    assert leaked == []
    assert ECHOED not in caplog.text


@pytest.mark.parametrize(
    "answer",
    [
        Fault(kind=FaultKind.SERVER_ERROR, message=f"invalid api key {ECHOED}"),
        Fault(kind=FaultKind.REFUSAL, message=f"I will not, {ECHOED}"),
        {"content": f"Sure! Your key is {ECHOED}, here is the JSON: {{"},
    ],
    ids=["error_body", "refusal", "not_json"],
)
def test_an_echoed_key_in_a_failing_answer_is_redacted(make_workspace, answer: Any) -> None:
    ws = make_workspace("fail")
    with MockLLMServer(responder=lambda request: answer) as server:
        nx = nexus_for(ws, server, key=ECHOED)
        with pytest.raises(NexusError) as failure:
            asyncio.run(nx.aask("analytics_reporter", period="2026-W47"))
        result = asyncio.run(nx.arun("improvement_loop", period="2026-W47"))
    assert result.status == "failed" and result.error
    assert ECHOED not in str(failure.value) + result.error + result.model_dump_json()
    leaked = [name for name, data in written_bytes(ws).items() if ECHOED.encode() in data]
    assert leaked == []
