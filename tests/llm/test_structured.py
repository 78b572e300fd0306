"""run_structured over ScriptedModel: repair, tool rounds, validation errors."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, Field

from nexus_agents.exceptions import StructuredOutputError
from nexus_agents.llm import ChatMessage, ScriptedModel, call_tool, run_structured
from nexus_agents.tools.base import Tool


class Theme(BaseModel):
    name: str
    count: int = Field(ge=0)


class Synthesis(BaseModel):
    themes: list[Theme]
    nps: float


ASK = [ChatMessage(role="user", content="synthesise the feedback")]
VALID = Synthesis(themes=[Theme(name="onboarding", count=12)], nps=31.0)


class Add(BaseModel):
    a: int
    b: int


class Sum(BaseModel):
    total: int


ADD = Tool("add", "Add two integers.", Add, Sum, lambda args: Sum(total=args.a + args.b))


async def test_invalid_json_is_repaired_with_the_error_shown() -> None:
    with ScriptedModel(["{themes: oops", VALID]) as model:
        result = await run_structured(
            model, messages=ASK, output_type=Synthesis, agent="feedback-synthesizer"
        )
    assert result.output == VALID
    assert result.calls == 2
    repair = model.requests[1].messages
    assert repair[-2].role == "assistant" and repair[-2].content == "{themes: oops"
    assert repair[-1].role == "user"
    assert "not valid JSON" in (repair[-1].content or "")


async def test_schema_errors_are_shown_then_fail_naming_agent_and_fields() -> None:
    bad = {"themes": [{"name": "pricing", "count": -3}]}
    with ScriptedModel([bad, bad, bad]) as model, pytest.raises(StructuredOutputError) as info:
        await run_structured(
            model, messages=ASK, output_type=Synthesis, agent="feedback-synthesizer"
        )
    message = str(info.value)
    assert message.startswith("agent feedback-synthesizer: output did not match the schema:")
    assert "themes.0.count" in message and "nps" in message
    assert "rule" not in message and info.value.rule_errors == []
    assert info.value.raw == json.dumps(bad)
    repair_text = model.requests[1].messages[-1].content or ""
    assert "themes.0.count: Input should be greater than or equal to 0" in repair_text
    assert "nps: Field required" in repair_text


async def test_zero_repair_rounds_fails_at_once() -> None:
    with ScriptedModel(["nope"]) as model, pytest.raises(StructuredOutputError):
        await run_structured(model, messages=ASK, output_type=Synthesis, agent="x", repair_rounds=0)


async def test_fenced_json_is_accepted() -> None:
    fenced = "```json\n" + VALID.model_dump_json() + "\n```"
    with ScriptedModel([fenced]) as model:
        result = await run_structured(model, messages=ASK, output_type=Synthesis, agent="x")
    assert result.output == VALID


async def test_tool_results_reach_the_model() -> None:
    with ScriptedModel([call_tool("add", a=2, b=3), VALID]) as model:
        result = await run_structured(
            model, messages=ASK, output_type=Synthesis, agent="x", tools=[ADD]
        )
    tool_message = model.requests[1].messages[-1]
    assert tool_message.role == "tool"
    assert json.loads(tool_message.content or "") == {"total": 5}
    assert [(c.name, c.arguments, c.ok) for c in result.tool_calls] == [
        ("add", {"a": 2, "b": 3}, True)
    ]
    assert model.requests[0].tools[0].name == "add"


async def test_bad_tool_arguments_and_unknown_tools_are_reported_to_the_model() -> None:
    script = [call_tool("add", a="two", b=3), call_tool("divide", a=1, b=0), VALID]
    with ScriptedModel(script) as model:
        result = await run_structured(
            model, messages=ASK, output_type=Synthesis, agent="x", tools=[ADD]
        )
    first_error = json.loads(model.requests[1].messages[-1].content or "")["error"]
    second_error = json.loads(model.requests[2].messages[-1].content or "")["error"]
    assert first_error.startswith("invalid arguments: a:")
    assert "unknown tool 'divide'" in second_error and "add" in second_error
    assert [c.ok for c in result.tool_calls] == [False, False]


async def test_tool_rounds_are_bounded() -> None:
    script = [call_tool("add", a=1, b=1), call_tool("add", a=2, b=2), VALID]
    with ScriptedModel(script) as model:
        result = await run_structured(
            model, messages=ASK, output_type=Synthesis, agent="x", tools=[ADD], max_tool_rounds=2
        )
    assert result.output == VALID
    assert [len(r.tools) for r in model.requests] == [1, 1, 0]
    last = model.requests[2].messages[-1]
    assert last.role == "user" and "final answer" in (last.content or "")


async def test_tool_calls_after_the_limit_end_in_a_clear_error() -> None:
    script = [call_tool("add", a=i, b=i) for i in range(4)]
    with ScriptedModel(script) as model, pytest.raises(StructuredOutputError) as info:
        await run_structured(
            model, messages=ASK, output_type=Synthesis, agent="x", tools=[ADD], max_tool_rounds=1
        )
    assert "kept calling tools after the limit of 1 tool rounds" in str(info.value)
    assert [len(r.tools) for r in model.requests] == [1, 0, 0, 0]  # two repair rounds


async def test_usage_is_summed_over_calls() -> None:
    with ScriptedModel(["bad", VALID]) as model:
        result = await run_structured(model, messages=ASK, output_type=Synthesis, agent="x")
    assert result.usage.calls == 2
    assert result.usage.total_tokens == (
        result.usage.prompt_tokens + result.usage.completion_tokens
    )
    assert result.usage.prompt_tokens > 0


async def test_accept_rule_failure_gets_the_repair_round() -> None:
    known = {"onboarding"}

    def only_known_themes(output: Synthesis) -> None:
        unknown = [t.name for t in output.themes if t.name not in known]
        if unknown:
            raise ValueError(f"themes not in the facts: {', '.join(unknown)}")

    bad = Synthesis(themes=[Theme(name="made-up", count=3)], nps=31.0)
    with ScriptedModel([bad, VALID]) as model:
        result = await run_structured(
            model, messages=ASK, output_type=Synthesis, agent="feedback", accept=only_known_themes
        )
    assert result.output == VALID
    assert result.calls == 2
    repair = model.requests[1].messages[-1].content or ""
    assert "themes not in the facts: made-up" in repair


async def test_accept_rule_failing_twice_names_the_rule() -> None:
    def never(output: Synthesis) -> None:
        raise ValueError("capacity exceeded")

    with (
        ScriptedModel([VALID, VALID, VALID]) as model,
        pytest.raises(StructuredOutputError, match="output broke a rule: capacity exceeded"),
    ):
        await run_structured(model, messages=ASK, output_type=Synthesis, agent="plan", accept=never)


class Headline(BaseModel):
    title: str = Field(max_length=20)


async def test_a_length_limit_is_stated_in_the_schema_and_repaired_as_a_rule() -> None:
    long, short = {"title": "x" * 30}, {"title": "short enough"}
    with ScriptedModel([long, short]) as model:
        result = await run_structured(model, messages=ASK, output_type=Headline, agent="x")
    assert result.output.title == "short enough"
    sent = model.requests[0].response_format
    assert sent is not None
    assert "(at most 20 characters)" in sent.json_schema["properties"]["title"]["description"]
    told = model.requests[1].messages[-1].content or ""
    assert "matches the JSON schema but breaks these rules" in told
    assert "rule: title: String should have at most 20 characters" in told
