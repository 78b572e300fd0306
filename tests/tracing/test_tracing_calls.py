"""Spans of single model calls through the real openai client (respx answers at the HTTP
level): retries, a call that fails for good, tool calls, and content only when asked for."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from opentelemetry.trace import StatusCode
from otel_spans import Spans, traced
from pydantic import BaseModel

import nexus_agents.tracing as tracing
from nexus_agents.exceptions import ModelError
from nexus_agents.llm import ChatMessage, run_structured
from nexus_agents.llm.limiter import ConcurrencyLimiter
from nexus_agents.llm.openai_model import OpenAIChatModel
from nexus_agents.llm.retry import RetryPolicy
from nexus_agents.tools.base import Tool

BASE_URL = "http://llm.test/v1"
API_KEY = "local-placeholder-credential-7731"  # not shaped like a key: only hide() knows it


class Verdict(BaseModel):
    verdict: str


class Add(BaseModel):
    a: int
    b: int


class Sum(BaseModel):
    total: int


ADD = Tool("add", "Add two integers.", Add, Sum, lambda args: Sum(total=args.a + args.b))


def completion(
    content: str | None, *, tool_calls: list[dict[str, Any]] | None = None, prompt: int = 120
) -> httpx.Response:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "gpt-4o-2024-08-06",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if tool_calls else "stop",
                }
            ],
            "usage": {"prompt_tokens": prompt, "completion_tokens": 9, "total_tokens": prompt + 9},
        },
    )


async def no_sleep(seconds: float) -> None:
    return None


def model(max_attempts: int = 3) -> OpenAIChatModel:
    return OpenAIChatModel(
        model="gpt-4o",
        base_url=BASE_URL,
        api_key=API_KEY,
        retry=RetryPolicy(max_attempts=max_attempts, sleep=no_sleep),
        limiter=ConcurrencyLimiter(4),
        http_client=httpx.AsyncClient(),
    )


PROMPT = [
    ChatMessage(role="system", content="You judge releases."),
    ChatMessage(
        role="user",
        content=(
            "Judge it. Release notes mention key sk-proj-AbCdEf0123456789xyz and the header "
            f"Authorization: Bearer tok_0123456789abcdef; the credential {API_KEY} leaked too."
        ),
    ),
]


async def ask(**kwargs: Any) -> Any:
    return await run_structured(
        kwargs.pop("llm", None) or model(),
        messages=PROMPT,
        output_type=Verdict,
        agent="reality_checker",
        **kwargs,
    )


async def test_a_retried_call_is_one_span_with_its_retries(spans: Spans) -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(
            side_effect=[
                httpx.Response(500, json={"error": {"message": "model is loading"}}),
                completion('{"verdict": "READY"}'),
            ]
        )
        result = await ask()
    assert route.call_count == 2
    assert result.output.verdict == "READY"

    chat = spans.one("chat gpt-4o")
    attrs = spans.attrs(chat)
    assert chat.status.status_code is StatusCode.UNSET
    assert attrs["nexus.model.attempts"] == 2
    assert attrs["nexus.model.retries"] == 1
    assert attrs["gen_ai.request.model"] == "gpt-4o"
    assert attrs["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    assert attrs["gen_ai.usage.input_tokens"] == result.usage.prompt_tokens == 120
    assert attrs["gen_ai.usage.output_tokens"] == result.usage.completion_tokens == 9
    assert attrs["server.address"] == "llm.test" and attrs["server.port"] == 80
    (retry,) = chat.events
    assert retry.name == "nexus.model.retry"
    retry_attrs = dict(retry.attributes or {})
    assert retry_attrs["nexus.retry.attempt"] == 1
    assert retry_attrs["http.response.status_code"] == 500
    assert "model is loading" in str(retry_attrs["nexus.retry.cause"])


async def test_a_call_that_keeps_failing_ends_its_span_in_error(spans: Spans) -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(return_value=httpx.Response(503))
        with pytest.raises(ModelError):
            await ask(llm=model(max_attempts=2))

    chat = spans.one("chat gpt-4o")
    attrs = spans.attrs(chat)
    assert chat.status.status_code is StatusCode.ERROR
    assert attrs["error.type"] == "ModelError"
    assert attrs["http.response.status_code"] == 503
    assert attrs["nexus.model.attempts"] == 2
    assert [e.name for e in chat.events] == ["nexus.model.retry", "exception"]


async def test_tool_calls_get_spans_under_the_step(spans: Spans) -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'},
    }
    bad = {"id": "call_2", "type": "function", "function": {"name": "nope", "arguments": "{}"}}
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(
            side_effect=[
                completion(None, tool_calls=[call, bad]),
                completion('{"verdict": "READY"}'),
            ]
        )
        await ask(tools=[ADD])

    chats = spans.named("chat ")
    assert len(chats) == 2
    add, unknown = spans.one("execute_tool add"), spans.one("execute_tool nope")
    assert spans.attrs(add)["gen_ai.operation.name"] == "execute_tool"
    assert spans.attrs(add)["gen_ai.tool.call.id"] == "call_1"
    assert add.status.status_code is StatusCode.UNSET
    assert unknown.status.status_code is StatusCode.ERROR
    assert spans.attrs(unknown)["error.type"] == "tool_error"
    assert spans.attrs(chats[0])["nexus.tool_calls"] == 2


@pytest.fixture
def content_spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[Spans]:
    monkeypatch.setenv(tracing.CONTENT_ENV, "1")
    recorded, provider = traced()
    yield recorded
    tracing.configure(None)
    provider.shutdown()


ANSWER = '{"verdict": "READY"}'


async def test_content_is_absent_by_default(spans: Spans) -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(return_value=completion(ANSWER))
        await ask()
    attrs = spans.attrs(spans.one("chat gpt-4o"))
    assert not {"gen_ai.input.messages", "gen_ai.output.messages"} & set(attrs)
    assert "READY" not in json.dumps(attrs)


async def test_content_with_the_flag_is_recorded_redacted(content_spans: Spans) -> None:
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(return_value=completion(ANSWER))
        await ask()
    attrs = content_spans.attrs(content_spans.one("chat gpt-4o"))
    sent = json.loads(attrs["gen_ai.input.messages"])
    assert [m["role"] for m in sent] == ["system", "user"]
    assert sent[0]["parts"] == [{"type": "text", "content": "You judge releases."}]
    user = sent[1]["parts"][0]["content"]
    assert user.startswith("Judge it.")
    assert "[redacted]" in user
    answered = json.loads(attrs["gen_ai.output.messages"])
    assert answered == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": ANSWER}],
            "finish_reason": "stop",
        }
    ]
    everything = json.dumps(
        [dict(s.attributes or {}) for s in content_spans.all()]
        + [dict(e.attributes or {}) for s in content_spans.all() for e in s.events]
    )
    for secret in ("sk-proj-AbCdEf0123456789xyz", "tok_0123456789abcdef", API_KEY):
        assert secret not in everything


async def test_errors_on_spans_are_redacted(spans: Spans) -> None:
    leak = f"bad credential {API_KEY} / sk-live-0123456789abcdefgh"
    with respx.mock(base_url=BASE_URL) as mock:
        mock.post("/chat/completions").mock(
            return_value=httpx.Response(400, json={"error": {"message": leak}})
        )
        with pytest.raises(ModelError):
            await ask()
    chat = spans.one("chat gpt-4o")
    shown = json.dumps(
        [chat.status.description, dict(chat.attributes or {})]
        + [dict(e.attributes or {}) for e in chat.events]
    )
    assert "bad credential" in shown
    assert API_KEY not in shown and "sk-live-0123456789abcdefgh" not in shown
