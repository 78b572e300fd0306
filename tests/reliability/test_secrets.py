"""The API key never lands in anything a run writes: workspace files (the SQLite bytes
included), actions, logs, errors or recorded cassettes."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from rel_support import FAST_LLM, env_for, iterate

from nexus_agents.api import Nexus
from nexus_agents.config import load_config
from nexus_agents.evals.record import Recorder
from nexus_agents.llm.factory import build_chat_model
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
