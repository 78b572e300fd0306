"""The tiny model interface every other module talks to.

A ``ChatModel`` turns one ``ChatRequest`` into one ``ChatResponse``. Retries, HTTP,
JSON-schema fallbacks live inside an implementation; the tool-calling loop and the
structured-output repair round live above it (``nexus_agents.llm.structured``), so
they behave the same for the OpenAI-compatible client and for ``ScriptedModel``.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "refusal", "other"]


class ToolCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    arguments: str = Field(description="JSON text exactly as the model produced it")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    content: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None


class ToolDefinition(BaseModel):
    """A function the model may call, described by a JSON schema of its arguments."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str
    parameters: dict[str, Any]


class ResponseFormat(BaseModel):
    """Ask for JSON that matches ``json_schema`` (strict when the server supports it)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    json_schema: dict[str, Any]
    strict: bool = True


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: list[ChatMessage]
    model: str | None = Field(default=None, description="None = the implementation's default")
    tools: list[ToolDefinition] = Field(default_factory=list)
    response_format: ResponseFormat | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    agent: str | None = Field(
        default=None, description="slug of the calling agent; for errors, usage and replay"
    )


class Usage(BaseModel):
    """Tokens, latency and cost of one or more model calls."""

    model_config = ConfigDict(extra="forbid")

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    latency_ms: float = 0.0
    cost_usd: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            calls=self.calls + other.calls,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            latency_ms=self.latency_ms + other.latency_ms,
            cost_usd=self.cost_usd + other.cost_usd,
        )


class ChatResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: ChatMessage
    finish_reason: FinishReason = "stop"
    refusal: str | None = None
    model: str | None = None
    usage: Usage = Field(default_factory=Usage)


@runtime_checkable
class ChatModel(Protocol):
    """Anything that can answer a chat request."""

    @property
    def default_model(self) -> str: ...

    async def complete(self, request: ChatRequest) -> ChatResponse: ...
