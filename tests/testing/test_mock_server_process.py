"""The mock server as a separate process: CLI responder options, the /_mock/* routes, and
the benchmarks' ``mock_server_process`` helper that starts and stops it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import openai
import pytest
from mock_client import API_KEY

from nexus_agents.testing import MockLLMServer
from nexus_agents.testing.mock_server import load_responder, main

HERE = Path(__file__).resolve().parent
BENCHMARKS = HERE.parents[1] / "benchmarks"
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hello there"}]}


def _child_env() -> dict[str, str]:
    paths = [str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


@contextmanager
def cli(*args: str) -> Iterator[str]:
    """Run the module's CLI (bounded) and yield the base URL it printed first."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nexus_agents.testing.mock_server",
            "--max-lifetime-s",
            "30",
            "--max-requests",
            "20",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_child_env(),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line:
            proc.wait(timeout=10)
            pytest.fail(
                f"the mock server printed no URL: {proc.stderr.read() if proc.stderr else ''}"
            )
        yield line
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0  # SIGTERM is a clean stop


def _root(base_url: str) -> str:
    return base_url.removesuffix("/v1")


def test_cli_responder_answers_and_stats_are_readable_over_http() -> None:
    with cli("--responder", "mock_responders:shouting") as base_url:
        client = openai.OpenAI(base_url=base_url, api_key=API_KEY, max_retries=0, timeout=10)
        reply = client.chat.completions.create(**CHAT)
        with httpx.Client(base_url=_root(base_url), timeout=10) as http:
            first = http.get("/_mock/stats").json()
            second = http.get("/_mock/stats").json()
            recorded = http.get("/_mock/requests").json()
            later = http.get("/_mock/requests", params={"since": 1}).json()
        client.close()
    assert reply.choices[0].message.content == "HELLO THERE"
    assert first["requests"] == 1
    assert first["prompt_tokens"] == reply.usage.prompt_tokens
    assert first["completion_tokens"] == reply.usage.completion_tokens
    assert first["peak_concurrency"] == 1
    # reading the stats is neither a chat request nor an "other" request
    assert second["requests"] == 1
    assert second["other_requests"] == 0
    assert [r["body"]["messages"] for r in recorded] == [CHAT["messages"]]
    assert "authorization" not in recorded[0]["headers"]
    assert API_KEY not in json.dumps(recorded)
    assert later == []


def test_cli_author_scenario_changes_the_narrative() -> None:
    readiness = {
        **CHAT,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "ReleaseReadinessNarrative", "schema": {"type": "object"}},
        },
    }
    with cli("--author-scenario", '{"readiness": "NEEDS WORK"}') as base_url:
        reply = httpx.post(f"{base_url}/chat/completions", json=readiness, timeout=10)
    assert reply.status_code == 200
    content = json.loads(reply.json()["choices"][0]["message"]["content"])
    assert content["verdict"] == "NEEDS WORK"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--author", "--responder", "mock_responders:shouting"], "not allowed with"),
        (["--responder", "mock_responders"], "not of the form 'module:factory'"),
        (["--responder", "no_such_module_xyz:make"], "cannot import 'no_such_module_xyz'"),
        (["--responder", "mock_responders:missing"], "no callable 'missing'"),
        (["--responder", "mock_responders:not_a_responder"], "returned int, not a callable"),
        (["--author-scenario", '{"qa_fails": 1}'], "qa_fails"),
        (
            ["--responder", "mock_responders:shouting", "--author-scenario", "{}"],
            "--author-scenario applies to --author",
        ),
    ],
)
def test_cli_rejects_bad_responder_options_before_serving(
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(HERE))
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.out == ""  # no URL line: nothing was served


def test_load_responder_calls_the_factory_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(HERE))
    first = load_responder("mock_responders:shouting")
    second = load_responder("mock_responders:shouting")
    assert first is not second
    assert first({"messages": [{"role": "user", "content": "abc"}]}) == {"content": "ABC"}


def test_introspection_routes_reject_writes_and_bad_offsets() -> None:
    with MockLLMServer() as server, httpx.Client(base_url=_root(server.base_url)) as http:
        http.post("/v1/chat/completions", json=CHAT)
        http.post("/v1/chat/completions", json=CHAT)
        post = http.post("/_mock/stats")
        bad = http.get("/_mock/requests", params={"since": "-1"})
        unknown = http.get("/_mock/nope")
        tail = http.get("/_mock/requests", params={"since": 1}).json()
        stats = server.stats
    assert (post.status_code, bad.status_code, unknown.status_code) == (405, 400, 404)
    assert bad.json()["error"]["param"] == "since"
    assert [r["number"] for r in tail] == [2]
    assert (stats.requests, stats.other_requests) == (2, 0)


# -- the benchmarks' helper -----------------------------------------------------------------


@pytest.fixture
def bench_common(monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.setenv("PYTHONPATH", str(HERE))
    import _common

    return _common


def test_mock_server_process_serves_reports_and_stops(bench_common: object) -> None:
    with bench_common.mock_server_process(  # type: ignore[attr-defined]
        responder="mock_responders:shouting", max_lifetime_s=30, max_requests=5
    ) as mock:
        reply = httpx.post(f"{mock.base_url}/chat/completions", json=CHAT, timeout=10)
        stats = mock.stats()
        recorded = mock.requests(since=0)
        proc = mock.proc
    assert reply.json()["choices"][0]["message"]["content"] == "HELLO THERE"
    assert mock.mode == "subprocess"
    assert stats.requests == 1
    assert [r.number for r in recorded] == [1]
    assert proc.returncode == 0  # stopped by SIGTERM, cleanly, when the block ended


def test_mock_server_process_failure_shows_the_child_stderr(bench_common: object) -> None:
    with pytest.raises(RuntimeError) as failed:  # noqa: SIM117
        with bench_common.mock_server_process(  # type: ignore[attr-defined]
            responder="no_such_module_xyz:make", max_lifetime_s=30, start_timeout_s=20
        ):
            pytest.fail("the server should not have started")
    assert "exited with 2" in str(failed.value)
    assert "cannot import 'no_such_module_xyz'" in str(failed.value)


def test_mock_server_modes_share_one_interface(bench_common: object) -> None:
    with bench_common.mock_server(  # type: ignore[attr-defined]
        in_process=True, responder="mock_responders:shouting", max_lifetime_s=30
    ) as mock:
        reply = httpx.post(f"{mock.base_url}/chat/completions", json=CHAT, timeout=10)
        assert mock.mode == "thread"
        assert mock.stats().requests == 1
        assert [r.body for r in mock.requests(since=0)] == [CHAT]
    assert reply.json()["choices"][0]["message"]["content"] == "HELLO THERE"
    with pytest.raises(ValueError, match="not both"):  # noqa: SIM117
        with bench_common.mock_server(author=True, responder="x:y"):  # type: ignore[attr-defined]
            pass
