"""Typed answers from any ``ChatModel``: a bounded tool loop, validation and one repair.

``run_structured`` asks for JSON matching a pydantic model, lets the model call
``Tool``s for a bounded number of rounds (a failing tool is reported back to the model,
never raised), validates the final answer and, when it is invalid, shows the model its
own output with the validation errors for a bounded number of repair rounds.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nexus_agents.exceptions import ModelError, StructuredOutputError
from nexus_agents.llm.interface import (
    ChatMessage,
    ChatModel,
    ChatRequest,
    ChatResponse,
    ToolCall,
    ToolDefinition,
    Usage,
)
from nexus_agents.llm.schema import response_format_for
from nexus_agents.tools.base import Tool, input_schema

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*)\n\s*```\s*$", re.DOTALL)


class ToolCallRecord(BaseModel):
    """One tool call the model made, and whether it worked."""

    model_config = ConfigDict(extra="forbid")

    name: str
    arguments: dict[str, Any] | str = Field(
        description="parsed JSON, or the raw text if it was not JSON"
    )
    ok: bool
    error: str | None = None


class StructuredResult(BaseModel, Generic[T]):
    model_config = ConfigDict(extra="forbid")

    output: T
    usage: Usage
    calls: int
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    messages: list[ChatMessage] = Field(description="the whole transcript, final answer included")


async def run_structured(
    model: ChatModel,
    *,
    messages: list[ChatMessage],
    output_type: type[T],
    agent: str,
    tools: Sequence[Tool] = (),
    max_tool_rounds: int = 5,
    repair_rounds: int = 1,
    model_name: str | None = None,
    temperature: float | None = None,
    accept: Callable[[T], object] | None = None,
) -> StructuredResult[T]:
    """Ask ``model`` for an ``output_type``; see the module docstring for the rules.

    ``accept`` runs on a schema-valid answer; a ``ValueError`` (pydantic's
    ``ValidationError`` included) it raises counts as invalid output, so rules that span
    the model's answer and code-computed facts get the same repair round.
    """
    fmt = response_format_for(output_type)
    by_name = {t.name: t for t in tools}
    definitions = [_definition(t) for t in tools]
    transcript = list(messages)
    usage = Usage()
    calls = 0
    tool_log: list[ToolCallRecord] = []
    tool_rounds = 0
    repairs = 0

    while True:
        offer_tools = bool(definitions) and tool_rounds < max_tool_rounds
        request = ChatRequest(
            messages=list(transcript),
            model=model_name,
            tools=definitions if offer_tools else [],
            response_format=fmt,
            temperature=temperature,
            agent=agent,
        )
        try:
            response = await model.complete(request)
        except ModelError as exc:
            exc.usage, exc.calls = usage, calls + 1  # spent so far, the failed call counted
            raise
        calls += 1
        usage = usage + response.usage
        _check_refusal(response, agent, usage, calls)
        reply = response.message
        transcript.append(
            ChatMessage(role="assistant", content=reply.content, tool_calls=reply.tool_calls)
        )

        if reply.tool_calls:
            if not offer_tools:
                # Tools were withdrawn but the model called one anyway: tell it, once per repair.
                for call in reply.tool_calls:
                    transcript.append(_tool_message(call, {"error": "no tools are available now"}))
                if repairs >= repair_rounds:
                    raise StructuredOutputError(
                        agent,
                        [f"kept calling tools after the limit of {max_tool_rounds} tool rounds"],
                        reply.content,
                        usage=usage,
                        calls=calls,
                    )
                repairs += 1
                transcript.append(_final_answer_prompt(max_tool_rounds))
                continue
            tool_rounds += 1
            for call in reply.tool_calls:
                record, payload = _run_tool(call, by_name)
                tool_log.append(record)
                transcript.append(_tool_message(call, payload))
            if tool_rounds >= max_tool_rounds:
                transcript.append(_final_answer_prompt(max_tool_rounds))
            continue

        raw = reply.content or ""
        outcome = _validate(raw, output_type)
        if accept is not None and not isinstance(outcome, list):
            outcome = _accepted(outcome, accept)
        if not isinstance(outcome, list):
            return _result_type(output_type)(
                output=outcome,
                usage=usage,
                calls=calls,
                tool_calls=tool_log,
                messages=transcript,
            )
        errors = outcome
        cut_off = response.finish_reason == "length"
        if repairs >= repair_rounds:
            if cut_off:
                errors = [
                    f"output was cut off (length) after {response.usage.completion_tokens} "
                    "tokens and is not valid JSON",
                    *errors,
                ]
            raise StructuredOutputError(agent, errors, raw, usage=usage, calls=calls)
        repairs += 1
        transcript.append(_repair_prompt(errors, cut_off))


def run_structured_sync(model: ChatModel, **kwargs: Any) -> StructuredResult[Any]:
    """``run_structured`` for code without an event loop."""
    return asyncio.run(run_structured(model, **kwargs))


@lru_cache(maxsize=512)
def _result_type(output_type: type[BaseModel]) -> type[StructuredResult[Any]]:
    """``StructuredResult[output_type]``, built once per output type (pydantic builds a new
    class on every subscription it no longer holds in its weak cache)."""
    return StructuredResult[output_type]  # type: ignore[valid-type]


@lru_cache(maxsize=512)
def _definition(tool: Tool) -> ToolDefinition:
    """What the model is told about ``tool`` (shared per tool)."""
    return ToolDefinition(
        name=tool.name, description=tool.description, parameters=input_schema(tool.input_model)
    )


def _check_refusal(response: ChatResponse, agent: str, usage: Usage, calls: int) -> None:
    if response.refusal or response.finish_reason == "refusal":
        raise ModelError(
            f"model refused: {response.refusal or 'no reason given'}",
            agent=agent,
            usage=usage,
            calls=calls,
        )
    if response.finish_reason == "content_filter":
        raise ModelError(
            "the answer was blocked by the server's content filter",
            agent=agent,
            usage=usage,
            calls=calls,
        )


def _validate(raw: str, output_type: type[T]) -> T | list[str]:
    """The validated output, or readable errors (``field.path: problem``)."""
    text = raw.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    if not text:
        return ["the answer was empty; expected a JSON object"]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return [f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"]
    try:
        return output_type.model_validate(data)
    except ValidationError as exc:
        return [_format_error(e) for e in exc.errors(include_url=False)]


def _accepted(output: T, accept: Callable[[T], object]) -> T | list[str]:
    try:
        accept(output)
    except ValidationError as exc:
        return [_format_error(e) for e in exc.errors(include_url=False)]
    except ValueError as exc:
        return [str(exc)]
    return output


def _format_error(error: Any) -> str:
    path = ".".join(str(p) for p in error.get("loc", ())) or "(root)"
    return f"{path}: {error.get('msg', 'invalid')}"


def _run_tool(call: ToolCall, tools: dict[str, Tool]) -> tuple[ToolCallRecord, dict[str, Any]]:
    tool = tools.get(call.name)
    try:
        arguments: dict[str, Any] | str = json.loads(call.arguments or "{}")
    except json.JSONDecodeError as exc:
        arguments = call.arguments
        error = f"arguments are not valid JSON: {exc.msg}"
        return ToolCallRecord(name=call.name, arguments=arguments, ok=False, error=error), {
            "error": error
        }
    if not isinstance(arguments, dict):
        error = "arguments must be a JSON object"
    elif tool is None:
        error = f"unknown tool {call.name!r}; available: {', '.join(sorted(tools)) or 'none'}"
    else:
        try:
            result = tool.call(arguments)
        except ValidationError as exc:
            error = "invalid arguments: " + "; ".join(
                _format_error(e) for e in exc.errors(include_url=False)
            )
        except Exception as exc:  # a tool's failure goes back to the model, not up the stack
            error = f"{type(exc).__name__}: {exc}"
        else:
            record = ToolCallRecord(name=call.name, arguments=arguments, ok=True)
            return record, result.model_dump(mode="json")
    record = ToolCallRecord(name=call.name, arguments=arguments, ok=False, error=error)
    return record, {"error": error}


def _tool_message(call: ToolCall, payload: dict[str, Any]) -> ChatMessage:
    return ChatMessage(
        role="tool", tool_call_id=call.id, name=call.name, content=json.dumps(payload)
    )


def _final_answer_prompt(max_tool_rounds: int) -> ChatMessage:
    return ChatMessage(
        role="user",
        content=(
            f"You have used all {max_tool_rounds} tool rounds; no more tools can be called. "
            "Give your final answer now as the required JSON object."
        ),
    )


def _repair_prompt(errors: list[str], cut_off: bool) -> ChatMessage:
    listed = "\n".join(f"- {e}" for e in errors)
    if cut_off:
        head = (
            "Your previous answer was cut off because it was too long. Answer again with a "
            "shorter JSON object that still matches the schema (be more concise)."
        )
    else:
        head = "Your previous answer (above) does not match the required JSON schema."
    return ChatMessage(
        role="user",
        content=f"{head}\nProblems found:\n{listed}\nReply with only the corrected JSON object.",
    )
