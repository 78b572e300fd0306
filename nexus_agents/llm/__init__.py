"""The only package that talks to a model.

``ChatModel`` is the interface; ``OpenAIChatModel`` (imported lazily, it pulls in
``openai``) talks to any OpenAI-compatible server; ``ScriptedModel`` plays a script in
tests; ``run_structured`` turns any of them into typed, validated answers, narrowed per
call by an ``AnswerContract``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nexus_agents._lazy import lazy_exports
from nexus_agents.artifacts.contract import AnswerContract, CodeOwned, FieldRule
from nexus_agents.llm.call_record import CallRecord
from nexus_agents.llm.factory import build_chat_model
from nexus_agents.llm.interface import (
    ChatMessage,
    ChatModel,
    ChatRequest,
    ChatResponse,
    FinishReason,
    ResponseFormat,
    Role,
    ToolCall,
    ToolDefinition,
    Usage,
)
from nexus_agents.llm.limiter import ConcurrencyLimiter, shared_limiter
from nexus_agents.llm.pricing import DEFAULT_PRICES, Cost, PriceTable, cost_of
from nexus_agents.llm.retry import RetryPolicy
from nexus_agents.llm.schema import response_format_for, strict_json_schema
from nexus_agents.llm.scripted import Expected, ScriptedModel, ToolCallStep, call_tool, expect
from nexus_agents.llm.structured import (
    StructuredResult,
    ToolCallRecord,
    run_structured,
    run_structured_sync,
)

if TYPE_CHECKING:
    from nexus_agents.llm.openai_model import OpenAIChatModel

__all__ = [
    "DEFAULT_PRICES",
    "AnswerContract",
    "CallRecord",
    "ChatMessage",
    "ChatModel",
    "ChatRequest",
    "ChatResponse",
    "CodeOwned",
    "ConcurrencyLimiter",
    "Cost",
    "Expected",
    "FieldRule",
    "FinishReason",
    "OpenAIChatModel",
    "PriceTable",
    "ResponseFormat",
    "RetryPolicy",
    "Role",
    "ScriptedModel",
    "StructuredResult",
    "ToolCall",
    "ToolCallRecord",
    "ToolCallStep",
    "ToolDefinition",
    "Usage",
    "build_chat_model",
    "call_tool",
    "cost_of",
    "expect",
    "response_format_for",
    "run_structured",
    "run_structured_sync",
    "shared_limiter",
    "strict_json_schema",
]


__getattr__, __dir__ = lazy_exports(
    __name__, {"OpenAIChatModel": "nexus_agents.llm.openai_model"}, globals()
)
