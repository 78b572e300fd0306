"""What the real openai client sees when it talks to the mock server."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import openai
import pytest
from mock_client import API_KEY, ClientFactory
from mock_models import Incident, Thread
from pydantic import ValidationError

from nexus_agents.testing import (
    Fault,
    FaultKind,
    MockLLMServer,
    content_reply,
    tool_call_reply,
)

MESSAGES: list[Any] = [
    {"role": "system", "content": "You are the Infrastructure Maintainer."},
    {"role": "user", "content": "Summarise the open incident."},
]


def _json_schema_format(model: type[Any]) -> Any:
    return {
        "type": "json_schema",
        "json_schema": {
            "name": model.__name__,
            "schema": model.model_json_schema(),
            "strict": True,
        },
    }


async def _ask_incident(client: openai.AsyncOpenAI) -> Any:
    return await client.chat.completions.create(
        model="gpt-test", messages=MESSAGES, response_format=_json_schema_format(Incident)
    )


async def test_structured_content_validates_against_the_requested_models(
    server: MockLLMServer, make_client: ClientFactory
) -> None:
    client = make_client(server)
    for model in (Incident, Thread):
        reply = await client.chat.completions.create(
            model="gpt-test", messages=MESSAGES, response_format=_json_schema_format(model)
        )
        choice = reply.choices[0]
        assert choice.finish_reason == "stop"
        assert isinstance(model.model_validate_json(choice.message.content or ""), model)
    assert reply.model == "gpt-test"


async def test_usage_is_estimated_from_text_sizes(
    server: MockLLMServer, make_client: ClientFactory
) -> None:
    reply = await _ask_incident(make_client(server))
    prompt_chars = sum(len(m["content"]) for m in MESSAGES)
    content = reply.choices[0].message.content or ""
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == math.ceil(prompt_chars / 4)
    assert reply.usage.completion_tokens == math.ceil(len(content) / 4)
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert server.stats.completion_tokens == reply.usage.completion_tokens


async def test_json_object_gives_empty_object_or_follows_a_schema_in_the_system_message(
    server: MockLLMServer, make_client: ClientFactory
) -> None:
    client = make_client(server)
    bare = await client.chat.completions.create(
        model="m", messages=MESSAGES, response_format={"type": "json_object"}
    )
    assert json.loads(bare.choices[0].message.content or "") == {}

    schema = json.dumps(Incident.model_json_schema())
    system = f"Answer with JSON matching this schema:\n{schema}\nNothing else."
    guided = await client.chat.completions.create(
        model="m",
        messages=[{"role": "system", "content": system}, {"role": "user", "content": "go"}],
        response_format={"type": "json_object"},
    )
    Incident.model_validate_json(guided.choices[0].message.content or "")


async def test_plain_text_without_response_format(
    server: MockLLMServer, make_client: ClientFactory
) -> None:
    reply = await make_client(server).chat.completions.create(model="m", messages=MESSAGES)
    content = reply.choices[0].message.content or ""
    assert "Summarise the open incident." in content
    with pytest.raises(ValueError):
        json.loads(content)


async def test_streaming_is_refused_with_a_clear_400(
    server: MockLLMServer, make_client: ClientFactory
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await make_client(server).chat.completions.create(model="m", messages=MESSAGES, stream=True)
    assert info.value.status_code == 400
    assert "stream" in str(info.value.message)


async def test_rate_limit_fault_is_a_429_with_retry_after(make_client: ClientFactory) -> None:
    async with MockLLMServer(
        faults=["rate_limit", Fault(kind="rate_limit", retry_after_s=7)]
    ) as server:
        client = make_client(server)
        for expected in ("1", "7"):
            with pytest.raises(openai.RateLimitError) as info:
                await _ask_incident(client)
            assert info.value.status_code == 429
            assert info.value.response.headers["retry-after"] == expected
        assert (await _ask_incident(client)).choices[0].message.content
    assert server.stats.faults == {"rate_limit": 2}


async def test_server_error_fault_is_a_500(make_client: ClientFactory) -> None:
    async with MockLLMServer(faults={2: FaultKind.SERVER_ERROR}) as server:
        client = make_client(server)
        await _ask_incident(client)
        with pytest.raises(openai.InternalServerError) as info:
            await _ask_incident(client)
        assert info.value.status_code == 500


async def test_slow_fault_trips_a_short_client_timeout(make_client: ClientFactory) -> None:
    async with MockLLMServer(faults=["slow"], slow_s=30) as server:
        client = make_client(server, timeout=0.3)
        with pytest.raises(openai.APITimeoutError):
            await _ask_incident(client)
        # the next request is answered normally
        Incident.model_validate_json((await _ask_incident(client)).choices[0].message.content or "")


async def test_reset_fault_is_a_connection_error(make_client: ClientFactory) -> None:
    async with MockLLMServer(faults=["reset"]) as server:
        with pytest.raises(openai.APIConnectionError) as info:
            await _ask_incident(make_client(server))
        assert not isinstance(info.value, openai.APITimeoutError)


async def test_invalid_json_fault(make_client: ClientFactory) -> None:
    async with MockLLMServer(faults=["invalid_json"]) as server:
        reply = await _ask_incident(make_client(server))
    assert reply.choices[0].finish_reason == "stop"
    with pytest.raises(ValueError):
        json.loads(reply.choices[0].message.content or "")


async def test_schema_invalid_fault_parses_but_fails_validation(make_client: ClientFactory) -> None:
    async with MockLLMServer(faults=["schema_invalid"]) as server:
        reply = await _ask_incident(make_client(server))
    content = reply.choices[0].message.content or ""
    assert isinstance(json.loads(content), dict)
    with pytest.raises(ValidationError) as info:
        Incident.model_validate_json(content)
    kinds = {error["type"] for error in info.value.errors()}
    assert "missing" in kinds
    assert len(kinds) > 1  # and a wrong type besides


async def test_refusal_fault(make_client: ClientFactory) -> None:
    async with MockLLMServer(faults=["refusal"]) as server:
        reply = await _ask_incident(make_client(server))
    message = reply.choices[0].message
    assert message.content is None
    assert message.refusal


async def test_length_fault_truncates_json(make_client: ClientFactory) -> None:
    async with MockLLMServer(faults=["length"]) as server:
        client = make_client(server)
        truncated = await _ask_incident(client)
        whole = await _ask_incident(client)
    assert truncated.choices[0].finish_reason == "length"
    text = truncated.choices[0].message.content or ""
    assert (whole.choices[0].message.content or "").startswith(text)
    with pytest.raises(ValueError):
        json.loads(text)


async def test_latency_is_applied_to_each_call(make_client: ClientFactory) -> None:
    async with MockLLMServer(latency_s=0.2) as server:
        client = make_client(server)
        for _ in range(2):
            started = time.perf_counter()
            await client.chat.completions.create(model="m", messages=MESSAGES)
            assert time.perf_counter() - started >= 0.2


async def test_tool_calls_then_answer_via_responder(make_client: ClientFactory) -> None:
    def responder(request: dict[str, Any]) -> dict[str, Any]:
        tool_messages = [m for m in request["messages"] if m["role"] == "tool"]
        if not tool_messages:
            return tool_call_reply("compute_mttr", {"incident_ids": ["INC-1", "INC-2"]})
        mttr = json.loads(tool_messages[-1]["content"])["mttr_minutes"]
        return content_reply({"summary": f"MTTR is {mttr} minutes"})

    tools: Any = [{
        "type": "function",
        "function": {"name": "compute_mttr", "description": "MTTR", "parameters": {"type": "object"}},
    }]  # fmt: skip
    async with MockLLMServer(responder=responder) as server:
        client = make_client(server)
        first = await client.chat.completions.create(model="m", messages=MESSAGES, tools=tools)
        choice = first.choices[0]
        assert choice.finish_reason == "tool_calls"
        call = (choice.message.tool_calls or [])[0]
        assert call.function.name == "compute_mttr"  # type: ignore[union-attr]
        assert json.loads(call.function.arguments) == {"incident_ids": ["INC-1", "INC-2"]}  # type: ignore[union-attr]
        follow_up: Any = [
            *MESSAGES,
            choice.message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": json.dumps({"mttr_minutes": 23})},
        ]
        second = await client.chat.completions.create(model="m", messages=follow_up, tools=tools)
    assert json.loads(second.choices[0].message.content or "") == {"summary": "MTTR is 23 minutes"}
    assert [r.body["messages"][-1]["role"] for r in server.requests] == ["user", "tool"]


async def test_responder_can_inject_a_fault_or_fall_back(make_client: ClientFactory) -> None:
    def responder(request: dict[str, Any]) -> Any:
        return "server_error" if "boom" in request["messages"][-1]["content"] else None

    async with MockLLMServer(responder=responder) as server:
        client = make_client(server)
        with pytest.raises(openai.InternalServerError):
            await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "boom"}]
            )
        reply = await _ask_incident(client)
    Incident.model_validate_json(reply.choices[0].message.content or "")


async def test_authorization_header_is_never_recorded(
    server: MockLLMServer, make_client: ClientFactory
) -> None:
    await _ask_incident(make_client(server))
    (recorded,) = server.requests
    assert recorded.body["response_format"]["json_schema"]["name"] == "Incident"
    assert "authorization" not in recorded.headers
    assert API_KEY not in recorded.model_dump_json()
    assert recorded.headers["content-type"] == "application/json"
