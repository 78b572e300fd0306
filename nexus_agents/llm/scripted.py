"""``ScriptedModel``: a ``ChatModel`` that plays back a script, for tests and examples.

Each call takes the next entry of the script. An entry may be a ``ChatResponse``, a
pydantic model or a dict (sent as JSON content), a string (content), a ``ToolCallStep``
(the model calls tools), an exception (raised), or a callable ``f(request)`` returning
any of these. Wrap an entry in ``expect(entry, agent="slug")`` to assert which agent
makes that call. A call the script did not expect, and a script left with unplayed
entries, fail loudly with ``ScriptError``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from nexus_agents.exceptions import ScriptError
from nexus_agents.llm.interface import ChatMessage, ChatRequest, ChatResponse, ToolCall, Usage


@dataclass(frozen=True)
class ToolCallStep:
    """The model calls one or more tools in a single turn."""

    calls: tuple[tuple[str, Mapping[str, Any] | BaseModel | str], ...]

    @classmethod
    def one(
        cls, name: str, arguments: Mapping[str, Any] | BaseModel | str | None = None
    ) -> ToolCallStep:
        return cls(((name, arguments if arguments is not None else {}),))


def call_tool(
    name: str, arguments: Mapping[str, Any] | BaseModel | str | None = None, /, **kwargs: Any
) -> ToolCallStep:
    """A step in which the model calls ``name`` with ``arguments`` (or keyword arguments)."""
    return ToolCallStep.one(name, arguments if arguments is not None else kwargs)


@dataclass(frozen=True)
class Expected:
    """A script entry that must be played by a given agent."""

    entry: Any
    agent: str | None = None


def expect(entry: Any, *, agent: str) -> Expected:
    return Expected(entry, agent)


class ScriptedModel:
    """Plays ``responses`` in order; records every request in ``requests``."""

    def __init__(self, responses: Iterable[Any] = (), default_model: str = "scripted") -> None:
        self.responses: list[Any] = list(responses)
        self.default_model_name = default_model
        self.requests: list[ChatRequest] = []
        self._played = 0

    @property
    def default_model(self) -> str:
        return self.default_model_name

    @property
    def remaining(self) -> list[Any]:
        return self.responses[self._played :]

    def add(self, *responses: Any) -> None:
        self.responses.extend(responses)

    async def complete(self, request: ChatRequest) -> ChatResponse:
        self.requests.append(request)
        number = len(self.requests)
        who = f"agent {request.agent!r}" if request.agent else "an unnamed caller"
        if self._played >= len(self.responses):
            raise ScriptError(
                f"unexpected model call #{number} from {who}: the script has only "
                f"{len(self.responses)} response(s); last message: {_last_text(request)!r}"
            )
        entry = self.responses[self._played]
        self._played += 1
        if isinstance(entry, Expected):
            if entry.agent is not None and entry.agent != request.agent:
                raise ScriptError(
                    f"model call #{number}: expected agent {entry.agent!r}, got {who}"
                )
            entry = entry.entry
        return self._respond(entry, request)

    def _respond(self, entry: Any, request: ChatRequest) -> ChatResponse:
        if isinstance(entry, BaseException):
            raise entry
        if isinstance(entry, type) and issubclass(entry, BaseException):
            raise entry()
        if isinstance(entry, ChatResponse):
            return entry
        model = request.model or self.default_model_name
        if isinstance(entry, ToolCallStep):
            calls = [
                ToolCall(id=f"call_{len(self.requests)}_{i}", name=name, arguments=_as_json(args))
                for i, (name, args) in enumerate(entry.calls)
            ]
            message = ChatMessage(role="assistant", tool_calls=calls)
            return ChatResponse(
                message=message,
                finish_reason="tool_calls",
                model=model,
                usage=_fake_usage(request, json.dumps([c.arguments for c in calls])),
            )
        if isinstance(entry, BaseModel | Mapping):
            entry = _as_json(entry)
        if isinstance(entry, str):
            return ChatResponse(
                message=ChatMessage(role="assistant", content=entry),
                model=model,
                usage=_fake_usage(request, entry),
            )
        if callable(entry):
            return self._respond(entry(request), request)
        raise ScriptError(f"script entry of type {type(entry).__name__} cannot be played")

    def assert_all_consumed(self) -> None:
        left = self.remaining
        if left:
            shown = "; ".join(_describe(e) for e in left[:5])
            raise ScriptError(
                f"{len(left)} scripted response(s) never played (after {self._played} call(s)): {shown}"
            )

    def __enter__(self) -> ScriptedModel:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.assert_all_consumed()

    async def __aenter__(self) -> ScriptedModel:
        return self

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.__exit__(exc_type, exc, tb)


def _as_json(value: Mapping[str, Any] | BaseModel | str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return json.dumps(dict(value))


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _fake_usage(request: ChatRequest, output: str) -> Usage:
    """Deterministic counts: about one token per four characters."""
    prompt = sum(_tokens(m.content or "") for m in request.messages)
    completion = _tokens(output)
    return Usage(
        calls=1,
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
    )


def _last_text(request: ChatRequest) -> str:
    for message in reversed(request.messages):
        if message.content:
            return message.content[:80]
    return ""


def _describe(entry: Any) -> str:
    if isinstance(entry, Expected):
        return f"{_describe(entry.entry)} (for agent {entry.agent!r})"
    if isinstance(entry, ToolCallStep):
        return "tool call " + ", ".join(name for name, _ in entry.calls)
    if isinstance(entry, str):
        return repr(entry[:40])
    if isinstance(entry, BaseModel):
        return type(entry).__name__
    return type(entry).__name__
