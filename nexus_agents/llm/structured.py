"""Typed answers from any ``ChatModel``: a bounded tool loop, validation and repair.

``run_structured`` asks for JSON matching a pydantic model, lets the model call
``Tool``s for a bounded number of rounds (a failing tool is reported back to the model,
never raised), validates the final answer and, when it is invalid, shows the model its
own output with what is wrong for a bounded number of repair rounds.

Two kinds of problem are kept apart, in the repair prompt and in ``StructuredOutputError``:
a *schema* problem (not JSON, a missing field, a wrong type or enum value) and a broken
*rule* (a per-call ``AnswerContract`` rule, a model validator, a check of ``accept``
that joins the answer with code-computed facts). A rule message names the rule, the
offending value and, where there is a set of them, the allowed values.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

import nexus_agents.tracing as tracing
from nexus_agents.artifacts.contract import (
    AnswerContract,
    check_contract,
    contract_schema,
    fill_owned,
)
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
from nexus_agents.llm.trace import redact
from nexus_agents.tools.base import Tool, input_schema

# text put on a span is cleaned like a stored call trace: no key-shaped strings, no secrets
tracing.use_redactor(lambda text: redact(text, tracing.secrets()))

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
    defaulted: str | None = Field(
        default=None,
        description="why code replaced the answer with a safe default after the repair rounds",
    )


DEFAULT_REPAIR_ROUNDS = 2
"""Repair rounds after a first invalid answer unless the caller says otherwise."""


async def run_structured(
    model: ChatModel,
    *,
    messages: list[ChatMessage],
    output_type: type[T],
    agent: str,
    tools: Sequence[Tool] = (),
    max_tool_rounds: int = 5,
    repair_rounds: int = DEFAULT_REPAIR_ROUNDS,
    model_name: str | None = None,
    temperature: float | None = None,
    accept: Callable[[T], object] | None = None,
    contract: AnswerContract | None = None,
    fallback: Callable[[T, list[str]], tuple[T, str] | None] | None = None,
) -> StructuredResult[T]:
    """Ask ``model`` for an ``output_type``; see the module docstring for the rules.

    ``contract`` holds the rules of this one call: they are written into the schema sent
    and checked on the answer (code-owned fields are filled in first). ``accept`` runs on
    a schema-valid answer; a ``ValueError`` (pydantic's ``ValidationError`` included) it
    raises counts as a broken rule and gets the same repair rounds. When the last answer
    matches the schema but still breaks a rule, ``fallback`` may turn it into a safe one
    (``(output, reason)``); the result then names the reason in ``defaulted``.
    """
    contract = contract or AnswerContract()
    fmt = response_format_for(output_type)
    if contract:
        fmt = fmt.model_copy(update={"json_schema": contract_schema(fmt.json_schema, contract)})
    by_name = {t.name: t for t in tools}
    definitions = [_definition(t) for t in tools]
    transcript = list(messages)
    usage = Usage()
    calls = 0
    tool_log: list[ToolCallRecord] = []
    tool_rounds = 0
    repairs = 0

    def result(output: T, defaulted: str | None = None) -> StructuredResult[T]:
        return _result_type(output_type)(
            output=output,
            usage=usage,
            calls=calls,
            tool_calls=tool_log,
            messages=transcript,
            defaulted=defaulted,
        )

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
            with (span := tracing.chat_span(request, model.default_model)):
                response = await model.complete(request)
                span.response(response)
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
                with tracing.tool_span(call.name, call.id) as span:
                    record, payload = _run_tool(call, by_name)
                    span.tool_result(record.ok, record.error)
                tool_log.append(record)
                transcript.append(_tool_message(call, payload))
            if tool_rounds >= max_tool_rounds:
                transcript.append(_final_answer_prompt(max_tool_rounds))
            continue

        raw = reply.content or ""
        checked = _check(raw, output_type, contract, accept)
        if checked.output is not None and checked.ok:
            return result(checked.output)
        cut_off = response.finish_reason == "length"
        if repairs < repair_rounds:
            repairs += 1
            transcript.append(_repair_prompt(checked, cut_off))
            continue
        if checked.output is not None and not checked.schema and fallback is not None:
            safe = fallback(checked.output, checked.rules)
            if safe is not None:
                output, reason = safe
                if accept is None or not _accepted(output, accept):
                    return result(output, defaulted=reason)
        schema_errors = list(checked.schema)
        if cut_off:
            schema_errors.insert(
                0,
                f"output was cut off (length) after {response.usage.completion_tokens} "
                "tokens and is not valid JSON",
            )
        raise StructuredOutputError(
            agent,
            [*schema_errors, *checked.rules],
            raw,
            rule_errors=checked.rules,
            usage=usage,
            calls=calls,
        )


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


# pydantic error types for constraints the schema sent does not carry: a model
# validator's rule, or a length limit strict mode cannot express
_RULE_ERROR_TYPES = frozenset(
    {"value_error", "assertion_error", "string_too_long", "string_too_short"}
)


@dataclass
class _Checked(Generic[T]):
    """One answer checked: the validated output (when the schema was met) and what is wrong."""

    output: T | None = None
    schema: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.schema and not self.rules


def _check(
    raw: str,
    output_type: type[T],
    contract: AnswerContract,
    accept: Callable[[T], object] | None,
) -> _Checked[T]:
    text = raw.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    if not text:
        return _Checked(schema=["the answer was empty; expected a JSON object"])
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return _Checked(
            schema=[f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"]
        )
    data = fill_owned(data, contract)
    checked: _Checked[T] = _Checked(rules=[f"rule: {p}" for p in check_contract(data, contract)])
    try:
        checked.output = output_type.model_validate(data)
    except ValidationError as exc:
        _sort_errors(exc, checked)
        return checked
    if accept is not None and not checked.rules:
        checked.rules += _accepted(checked.output, accept)
    return checked


def _sort_errors(exc: ValidationError, into: _Checked[Any]) -> None:
    for error in exc.errors(include_url=False):
        if error.get("type") in _RULE_ERROR_TYPES:
            into.rules.append(_format_rule(error))
        else:
            into.schema.append(_format_error(error))


def _accepted(output: T, accept: Callable[[T], object]) -> list[str]:
    """The rules ``accept`` finds broken (empty when it accepts ``output``)."""
    try:
        accept(output)
    except ValidationError as exc:
        return [_format_rule(e) for e in exc.errors(include_url=False)]
    except ValueError as exc:
        return [f"rule: {exc}"]
    return []


def _format_rule(error: Any) -> str:
    message = str(error.get("msg", "invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    path = ".".join(str(p) for p in error.get("loc", ()))
    return f"rule: {path}: {message}" if path else f"rule: {message}"


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


def _repair_prompt(checked: _Checked[Any], cut_off: bool) -> ChatMessage:
    parts: list[str] = []
    if cut_off:
        parts.append(
            "Your previous answer was cut off because it was too long. Answer again with a "
            "shorter JSON object that still matches the schema (be more concise)."
        )
    if checked.schema:
        if not cut_off:
            parts.append("Your previous answer (above) does not match the required JSON schema.")
        parts.append("Problems found:\n" + "\n".join(f"- {e}" for e in checked.schema))
    if checked.rules:
        head = (
            "It also breaks these rules:"
            if checked.schema or cut_off
            else "Your previous answer (above) matches the JSON schema but breaks these rules:"
        )
        parts.append(head + "\n" + "\n".join(f"- {e}" for e in checked.rules))
        parts.append("Keep every value within what the rule allows.")
    parts.append("Reply with only the corrected JSON object.")
    return ChatMessage(role="user", content="\n".join(parts))
