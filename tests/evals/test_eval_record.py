"""Recording against a "live" endpoint (played by respx) writes a scrubbed cassette."""

from __future__ import annotations

import json
import re

import httpx
import openai
import pytest
import respx
from eval_helpers import MODEL, completion

from nexus_agents.evals.cassette import load_cassette
from nexus_agents.evals.record import Recorder
from nexus_agents.evals.replay import Replayer
from nexus_agents.exceptions import NexusError
from nexus_agents.llm.openai_model import AGENT_HEADER

LIVE = "https://live.test/v1"
KEY = "sk-live-TESTKEY-0123456789abcdef"
TICKET = "ZX-TICKET-7731"  # a customer secret matched by a configured pattern


async def _call(http: httpx.AsyncClient, content: str) -> str:
    client = openai.AsyncOpenAI(base_url=LIVE, api_key=KEY, http_client=http, max_retries=0)
    done = await client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": content}],
        extra_headers={AGENT_HEADER: "support-responder", "api-key": KEY},
    )
    return done.choices[0].message.content or ""


@pytest.fixture
def live_endpoint():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        echoed = json.loads(request.content)["messages"][0]["content"]
        return httpx.Response(
            200,
            json=completion({"echo": echoed}),
            headers={"x-request-id": "req-1", "set-cookie": "s=1", "openai-organization": "org-9"},
        )

    with respx.mock(base_url=LIVE, assert_all_called=False) as router:
        router.post("/chat/completions").mock(side_effect=answer)
        yield seen


async def test_record_scrubs_key_and_patterns_before_writing(tmp_path, live_endpoint) -> None:
    recorder = Recorder(LIVE, api_key=KEY, secret_patterns=[r"ZX-TICKET-\d+"])
    async with recorder.http_client() as http:
        text = await _call(
            http, f"my key is {KEY}, ticket {TICKET}, bearer Bearer abcdefgh12345678"
        )
    # The run itself saw the real answer; only the recording is scrubbed.
    assert KEY in text and TICKET in text
    assert live_endpoint[0].headers["authorization"] == f"Bearer {KEY}"

    path = recorder.save(tmp_path / "tape.yaml")
    written = path.read_text(encoding="utf-8")
    assert KEY not in written
    assert TICKET not in written
    assert not re.search(r"(?i)authorization|api-key|bearer abc", written)
    assert "x-request-id" not in written and "set-cookie" not in written and "org-9" not in written
    assert "[redacted]" in written

    tape = load_cassette(path)
    [item] = tape.interactions
    assert item.agent == "support-responder"
    assert item.request.path == "/chat/completions"
    assert item.request.body["messages"][0]["content"].startswith("my key is [redacted]")
    assert item.response.headers == {"content-type": "application/json"}
    assert (
        json.loads(item.response.body["choices"][0]["message"]["content"])["echo"].count(
            "[redacted]"
        )
        == 3
    )


async def test_recorded_cassette_replays_strictly(tmp_path, live_endpoint) -> None:
    recorder = Recorder(LIVE, api_key=KEY)
    async with recorder.http_client() as http:
        await _call(http, "first")
        await _call(http, "second")
    path = recorder.save(tmp_path / "tape.json")
    tape = load_cassette(path)
    assert [i.request.body["messages"][0]["content"] for i in tape.interactions] == [
        "first",
        "second",
    ]
    calls_before = len(live_endpoint)
    replay_url = "https://replay.test/v1"
    async with Replayer(tape, "strict", base_url=replay_url) as replay, httpx.AsyncClient() as http:
        client = openai.AsyncOpenAI(base_url=replay_url, api_key="x", http_client=http, max_retries=0)
        done = await client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "second"}],
            extra_headers={AGENT_HEADER: "support-responder"},
        )
    assert len(live_endpoint) == calls_before  # served from the cassette, not the endpoint
    assert json.loads(done.choices[0].message.content or "") == {"echo": "second"}
    assert [p.interaction for p in replay.played] == [2]


def test_save_refuses_when_a_secret_survived(tmp_path) -> None:
    recorder = Recorder(LIVE, api_key=KEY)
    recorder.scrubber.patterns.clear()
    recorder.scrubber.secrets.clear()
    recorder._slots.append(load_cassette_like({"messages": [{"role": "user", "content": KEY}]}))
    recorder.scrubber.secrets.append(KEY)  # the check at save time still knows the key
    with pytest.raises(NexusError, match="secret survived"):
        recorder.save(tmp_path / "tape.yaml")
    assert not (tmp_path / "tape.yaml").exists()


def load_cassette_like(body: dict):
    from nexus_agents.evals.cassette import Interaction

    return Interaction.model_validate({"request": {"body": body}, "response": {"body": {}}})
