"""Replay through the real openai client, in strict and loose modes."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from eval_helpers import MODEL, ask, completion, interaction, request_body

from nexus_agents.evals.cassette import Cassette
from nexus_agents.evals.replay import Replayer
from nexus_agents.llm.openai_model import AGENT_HEADER

BASE = "https://replay.test/v1"


def cassette(*items: dict) -> Cassette:
    return Cassette.model_validate({"version": 1, "interactions": list(items)})


async def test_strict_replay_serves_the_recorded_answer_and_counts_usage() -> None:
    tape = cassette(
        interaction("analyst", "signups=120", {"kpi": 120}, prompt_tokens=50, completion_tokens=7),
        interaction("writer", "signups=120", {"text": "up"}, prompt_tokens=30, completion_tokens=3),
    )
    async with Replayer(tape, "strict", base_url=BASE) as replay, httpx.AsyncClient() as http:
        # Order differs from the recording: strict mode matches by content, not position.
        second = await ask(BASE, "k", http, "writer", "signups=120")
        first = await ask(BASE, "k", http, "analyst", "signups=120")
    assert json.loads(first.choices[0].message.content or "") == {"kpi": 120}
    assert json.loads(second.choices[0].message.content or "") == {"text": "up"}
    assert replay.unexpected == [] and replay.unplayed == []
    assert [(p.agent, p.interaction) for p in replay.played] == [("writer", 2), ("analyst", 1)]
    usage = replay.usage
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens) == (2, 80, 10)
    assert usage.cost_usd > 0  # gpt-4o-mini is priced


async def test_strict_ignores_whitespace_key_order_volatile_fields_and_tool_call_ids() -> None:
    recorded = {
        "model": MODEL,
        "messages": [
            {"role": "user", "content": "Find   the\n KPI"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_abc",
                        "type": "function",
                        "function": {"name": "kpi", "arguments": '{"a": 1, "b": 2}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_abc", "content": "42"},
        ],
        "seed": 7,
        "user": "someone",
    }
    tape = cassette(
        {
            "agent": "analyst",
            "request": {"body": recorded},
            "response": {"body": completion({"ok": True})},
        }
    )
    async with Replayer(tape, "strict", base_url=BASE) as replay, httpx.AsyncClient() as http:
        client = openai.AsyncOpenAI(base_url=BASE, api_key="k", http_client=http, max_retries=0)
        await client.chat.completions.create(
            model=MODEL,
            messages=[
                {"role": "user", "content": "Find the KPI"},
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "call_XYZ",
                            "type": "function",
                            "function": {"name": "kpi", "arguments": '{"b":2,"a":1}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_XYZ", "content": "42"},
            ],
            stream_options=None,
            extra_headers={AGENT_HEADER: "analyst"},
        )
    assert replay.unexpected == []
    assert len(replay.played) == 1


async def test_strict_unexpected_request_names_agent_call_number_and_diff() -> None:
    tape = cassette(interaction("analyst", "signups=120", {"kpi": 120}))
    async with Replayer(tape, "strict", base_url=BASE) as replay, httpx.AsyncClient() as http:
        with pytest.raises(openai.APIStatusError) as caught:
            await ask(BASE, "k", http, "analyst", "signups=999")
    assert caught.value.status_code == 409
    assert len(replay.unexpected) == 1
    text = str(replay.unexpected[0])
    assert "call #1 of agent 'analyst'" in text
    assert "closest is interaction 1" in text
    assert "-" in text and "signups=120" in text and "signups=999" in text  # the diff lines
    assert "unexpected request" in str(caught.value)
    # The recorded interaction was not consumed, so it is reported as unplayed.
    unplayed = replay.unplayed
    assert len(unplayed) == 1 and unplayed[0].agent == "analyst"
    assert "signups=120" in str(unplayed[0])


async def test_loose_mode_matches_by_agent_and_order_not_by_body() -> None:
    tape = cassette(
        interaction("analyst", "anything", {"n": 1}),
        interaction("writer", "anything", {"w": 1}),
        interaction("analyst", "anything", {"n": 2}),
    )
    async with Replayer(tape, "loose", base_url=BASE) as replay, httpx.AsyncClient() as http:
        a1 = await ask(BASE, "k", http, "analyst", "other text")
        a2 = await ask(BASE, "k", http, "analyst", "other text")
        with pytest.raises(openai.APIStatusError):
            await ask(BASE, "k", http, "analyst", "third")
    assert json.loads(a1.choices[0].message.content or "") == {"n": 1}
    assert json.loads(a2.choices[0].message.content or "") == {"n": 2}
    [miss] = replay.unexpected
    assert miss.agent == "analyst" and miss.call_number == 3
    assert "only 2 interaction(s) recorded for this agent" in str(miss)
    assert [u.agent for u in replay.unplayed] == ["writer"]


def test_sync_context_manager_with_sync_client_and_error_responses() -> None:
    tape = cassette(
        {
            "agent": "analyst",
            "request": {"body": request_body("analyst", "x")},
            "response": {
                "status": 429,
                "headers": {"retry-after": "3"},
                "body": {"error": {"message": "slow down"}},
            },
        }
    )
    with Replayer(tape, "loose", base_url=BASE) as replay, httpx.Client() as http:
        client = openai.OpenAI(base_url=BASE, api_key="k", http_client=http, max_retries=0)
        with pytest.raises(openai.RateLimitError) as caught:
            client.chat.completions.create(
                model=MODEL, messages=[], extra_headers={AGENT_HEADER: "analyst"}
            )
    assert caught.value.response.headers["retry-after"] == "3"
    assert len(replay.played) == 1
