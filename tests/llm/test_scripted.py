"""ScriptedModel: a test double that fails loudly on surprises."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from nexus_agents.exceptions import ModelError, ScriptError
from nexus_agents.llm import (
    ChatMessage,
    ChatModel,
    ChatRequest,
    ChatResponse,
    ScriptedModel,
    call_tool,
    expect,
)


def _req(text: str = "hi", agent: str | None = "analytics-reporter") -> ChatRequest:
    return ChatRequest(messages=[ChatMessage(role="user", content=text)], agent=agent)


class Point(BaseModel):
    x: int


async def test_plays_each_kind_of_entry_in_order() -> None:
    canned = ChatResponse(message=ChatMessage(role="assistant", content="canned"))
    model = ScriptedModel(
        ["text", {"a": 1}, Point(x=2), call_tool("add", a=1), canned, lambda r: f"echo {r.agent}"]
    )
    assert isinstance(model, ChatModel)
    out = [await model.complete(_req()) for _ in range(6)]
    assert out[0].message.content == "text"
    assert [json.loads(o.message.content or "") for o in out[1:3]] == [{"a": 1}, {"x": 2}]
    assert out[3].finish_reason == "tool_calls"
    assert out[3].message.tool_calls[0].name == "add"
    assert out[3].message.tool_calls[0].arguments == '{"a": 1}'
    assert out[4] is canned
    assert out[5].message.content == "echo analytics-reporter"
    assert len(model.requests) == 6
    model.assert_all_consumed()


async def test_exceptions_are_raised() -> None:
    model = ScriptedModel([ModelError("boom", agent="a")])
    with pytest.raises(ModelError, match="boom"):
        await model.complete(_req())


async def test_unexpected_call_names_the_call_and_agent() -> None:
    model = ScriptedModel(["only one"])
    await model.complete(_req())
    with pytest.raises(ScriptError) as info:
        await model.complete(_req("second question", agent="growth-hacker"))
    message = str(info.value)
    assert "#2" in message and "growth-hacker" in message and "second question" in message


async def test_wrong_agent_fails() -> None:
    model = ScriptedModel([expect("ok", agent="finance-tracker")])
    with pytest.raises(ScriptError, match="expected agent 'finance-tracker'"):
        await model.complete(_req(agent="growth-hacker"))


async def test_unconsumed_responses_fail_on_exit() -> None:
    with pytest.raises(ScriptError) as info, ScriptedModel(["a", expect("b", agent="qa")]) as model:
        await model.complete(_req())
    assert "1 scripted response(s) never played" in str(info.value)
    assert "'b'" in str(info.value) and "qa" in str(info.value)


def test_exit_does_not_mask_the_original_error() -> None:
    with pytest.raises(ValueError), ScriptedModel(["never played"]):
        raise ValueError("the real problem")


async def test_fake_usage_is_deterministic() -> None:
    first = await ScriptedModel(["x" * 40]).complete(_req("y" * 80))
    second = await ScriptedModel(["x" * 40]).complete(_req("y" * 80))
    assert first.usage == second.usage
    assert (first.usage.prompt_tokens, first.usage.completion_tokens) == (20, 10)
    assert first.model == "scripted"
