"""Stored call traces keep the exchange readable and leave credentials out."""

from __future__ import annotations

import random
import string

import pytest

from nexus_agents.llm.interface import ChatMessage, ChatRequest, ChatResponse
from nexus_agents.llm.trace import _LOOKS_SECRET, REDACTED, call_trace, redact, shared_prefix


def test_trace_keeps_messages_and_answer_and_drops_secrets() -> None:
    request = ChatRequest(
        messages=[
            ChatMessage(role="system", content="You are the reporter."),
            ChatMessage(
                role="user",
                content="ticket text: my key is sk-live-abcdef123456 and api_key=hunter22secret",
            ),
        ],
        agent="support_responder",
    )
    response = ChatResponse(
        message=ChatMessage(role="assistant", content='{"summary": "uses configured-secret-xyz"}')
    )
    trace = call_trace(request, response, None, secrets=["configured-secret-xyz"])
    text = str(trace)
    assert trace["messages"][0] == {"role": "system", "content": "You are the reporter."}
    assert "sk-live-abcdef123456" not in text and "hunter22secret" not in text
    assert "configured-secret-xyz" not in text
    assert REDACTED in trace["messages"][1]["content"] and REDACTED in trace["answer"]
    assert trace["finish_reason"] == "stop"


def test_trace_of_a_failed_call_records_the_error() -> None:
    request = ChatRequest(messages=[ChatMessage(role="user", content="hi")])
    trace = call_trace(request, None, RuntimeError("boom"))
    assert trace["error"] == "RuntimeError: boom"
    assert "answer" not in trace


# --- redaction: the fast scan gives what the pattern gives -----------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "no secrets here at all",
        "key sk-live-abcdef123456 then Bearer abc.def-ghi_jkl and API_KEY = hunter22secret",
        "SK-not-a-key-because-upper sk-short bearer lowercase-is-not-matched-12345",
        "password:swordfish1 PASSWORD= hunter2hunter2 Secret:\tabcdefgh token=abcdef",
        "tokentoken=abcdefgh api-key:zzzzzzzz apikey=12345678 api_key 12345678",
        "sk-sk-sk-abcdefghij İstanbul token=İİİİİİİİ ß secret=ﬃﬃﬃﬃﬃﬃ",
        "capital rapid tokens: 12 secrets : short",
    ],
)
def test_redact_matches_the_secret_pattern(text: str) -> None:
    assert redact(text) == _LOOKS_SECRET.sub(REDACTED, text)


def test_redact_agrees_with_the_pattern_on_random_hostile_strings() -> None:
    rng = random.Random(17)
    pieces = [
        "sk-", "SK-", "Bearer ", "bearer ", "api_key", "API-KEY", "apikey", "password",
        "SECRET", "ToKeN", ":", "=", " ", "\t", "\n", "abcdefgh", "1234", "İ", "ß", "ﬃ",
    ]
    for _ in range(20_000):
        text = "".join(
            rng.choice(pieces) if rng.random() < 0.6 else rng.choice(string.printable)
            for _ in range(rng.randint(0, 24))
        )
        assert redact(text) == _LOOKS_SECRET.sub(REDACTED, text), text


# --- a later call of a step stores only what is new -------------------------------------------


def test_trace_leaves_out_the_messages_the_call_before_sent() -> None:
    system = ChatMessage(role="system", content="You are the reporter.")
    user = ChatMessage(role="user", content="write it; api_key=hunter22secret")
    first = ChatRequest(messages=[system, user])
    answer = ChatMessage(role="assistant", content="not json")
    repair = ChatMessage(role="user", content="Reply with only the corrected JSON object.")
    second = ChatRequest(messages=[system, user, answer, repair])

    assert shared_prefix([], first.messages) == 0
    assert shared_prefix(first.messages, second.messages) == 2
    # equal text is not enough: only the very same messages count as already stored
    copy = [ChatMessage(role="system", content="You are the reporter."), user]
    assert shared_prefix(copy, second.messages) == 0
    assert shared_prefix(second.messages, first.messages) == 0

    trace = call_trace(second, None, RuntimeError("boom"), earlier=2)
    assert trace["earlier_messages"] == 2
    assert [m["role"] for m in trace["messages"]] == ["assistant", "user"]
    assert trace["messages"][1]["content"] == repair.content
    assert "earlier_messages" not in call_trace(first, None, RuntimeError("boom"))
