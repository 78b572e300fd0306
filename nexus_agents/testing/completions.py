"""Chat-completion bodies as the mock server writes them.

A ``responder`` (see ``MockLLMServer``) returns one of:
- a full response body (a dict with ``choices``), sent as is with ``id``/``usage`` filled in;
- ``{"tool_calls": [{"name": ..., "arguments": dict | str, "id"?: ...}], "content"?: ...}``;
- ``{"content": str | dict | list | None, "refusal"?: str, "finish_reason"?: str}``;
- ``None`` to fall back to the generated answer, or a fault (name, ``FaultKind``, ``Fault``).
``content_reply`` and ``tool_call_reply`` build the two message forms.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from typing import Any

from nexus_agents.testing.schema_faker import fake_instance

_SCHEMA_CACHE_SIZE = 256

__all__ = [
    "completion_body",
    "content_reply",
    "default_content",
    "estimate_tokens",
    "prompt_text",
    "reply_from_responder",
    "requested_schema",
    "tool_call_reply",
    "wants_json",
]


def content_reply(content: str | Mapping[str, Any] | list[Any] | None) -> dict[str, Any]:
    """A responder result that answers with ``content`` (dicts and lists are JSON-encoded)."""
    return {"content": content}


def tool_call_reply(
    name: str, arguments: Mapping[str, Any] | str, *, call_id: str | None = None
) -> dict[str, Any]:
    """A responder result that asks the client to call one tool."""
    call: dict[str, Any] = {"name": name, "arguments": arguments}
    if call_id is not None:
        call["id"] = call_id
    return {"tool_calls": [call]}


def estimate_tokens(text: str) -> int:
    """About four characters per token, as the usage figures of the mock server assume."""
    return math.ceil(len(text) / 4)


def prompt_text(request: Mapping[str, Any]) -> str:
    """All text the messages carry (content parts, tool-call arguments)."""
    parts: list[str] = []
    for message in request.get("messages") or []:
        if not isinstance(message, Mapping):
            continue
        parts.append(_message_text(message.get("content")))
        for call in message.get("tool_calls") or []:
            function = call.get("function", {}) if isinstance(call, Mapping) else {}
            parts.append(str(function.get("arguments", "")))
    return "".join(parts)


def _message_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return ""


def wants_json(request: Mapping[str, Any]) -> bool:
    fmt = request.get("response_format")
    return isinstance(fmt, Mapping) and fmt.get("type") in ("json_schema", "json_object")


def requested_schema(request: Mapping[str, Any]) -> dict[str, Any] | None:
    """The schema the answer must follow: ``json_schema.schema``, or for ``json_object``
    the first JSON schema written into a system message, else ``None``."""
    fmt = request.get("response_format")
    if not isinstance(fmt, Mapping):
        return None
    if fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, Mapping) else None
        return dict(schema) if isinstance(schema, Mapping) else {}
    if fmt.get("type") == "json_object":
        for message in request.get("messages") or []:
            if isinstance(message, Mapping) and message.get("role") in ("system", "developer"):
                found = _schema_in_text(_message_text(message.get("content")))
                if found is not None:
                    return found
    return None


def _schema_in_text(text: str) -> dict[str, Any] | None:
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            value = None
        if isinstance(value, dict) and (
            "properties" in value or "type" in value or "$defs" in value
        ):
            return value
        start = text.find("{", start + 1)
    return None


def default_content(request: Mapping[str, Any], schema_cache: dict[str, str]) -> str:
    """Schema-valid JSON when JSON was asked for, otherwise a short plain-text answer."""
    schema = requested_schema(request)
    if schema is not None:
        key = json.dumps(schema)
        text = schema_cache.get(key)
        if text is None:
            text = json.dumps(fake_instance(schema))
            if len(schema_cache) >= _SCHEMA_CACHE_SIZE:
                schema_cache.clear()
            schema_cache[key] = text
        return text
    if wants_json(request):
        return "{}"
    last = _last_user_text(request)
    return f"Mock answer to: {last[:80]}" if last else "Mock answer."


def _last_user_text(request: Mapping[str, Any]) -> str:
    for message in reversed(request.get("messages") or []):
        if isinstance(message, Mapping) and message.get("role") == "user":
            return _message_text(message.get("content"))
    return ""


def completion_body(
    request: Mapping[str, Any],
    number: int,
    *,
    content: str | None,
    tool_calls: list[dict[str, Any]] | None = None,
    refusal: str | None = None,
    finish_reason: str = "stop",
) -> dict[str, Any]:
    """A ``chat.completion`` object with usage estimated from the text sizes."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": refusal}
    completion_text = content or refusal or ""
    if tool_calls:
        message["tool_calls"] = tool_calls
        completion_text += "".join(c["function"]["arguments"] for c in tool_calls)
    prompt_tokens = estimate_tokens(prompt_text(request))
    completion_tokens = estimate_tokens(completion_text)
    return {
        "id": f"chatcmpl-mock-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(request.get("model") or "mock-model"),
        "system_fingerprint": "mock",
        "choices": [
            {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def reply_from_responder(
    result: Mapping[str, Any], request: Mapping[str, Any], number: int
) -> dict[str, Any]:
    """Turn a responder's dict into a full response body (see the module docstring)."""
    if "choices" in result:
        body = dict(result)
        body.setdefault("id", f"chatcmpl-mock-{number}")
        body.setdefault("object", "chat.completion")
        body.setdefault("created", int(time.time()))
        body.setdefault("model", str(request.get("model") or "mock-model"))
        if "usage" not in body:
            body["usage"] = completion_body(request, number, content="")["usage"]
        return body
    if "tool_calls" in result:
        calls = [_tool_call(call, number, i) for i, call in enumerate(result["tool_calls"])]
        return completion_body(
            request,
            number,
            content=_as_text(result.get("content")),
            tool_calls=calls,
            finish_reason=str(result.get("finish_reason", "tool_calls")),
        )
    if "content" in result or "refusal" in result:
        return completion_body(
            request,
            number,
            content=_as_text(result.get("content")),
            refusal=result.get("refusal"),
            finish_reason=str(result.get("finish_reason", "stop")),
        )
    raise ValueError(
        "a responder must return a dict with 'choices', 'tool_calls', 'content' or 'refusal', "
        f"or None or a fault; got keys {sorted(result)}"
    )


def _tool_call(call: Mapping[str, Any], number: int, index: int) -> dict[str, Any]:
    if "name" not in call:
        raise ValueError(f"tool call {index} returned by the responder has no 'name'")
    arguments = call.get("arguments", {})
    return {
        "id": str(call.get("id") or f"call_mock_{number}_{index}"),
        "type": "function",
        "function": {
            "name": str(call["name"]),
            "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
        },
    }


def _as_text(content: Any) -> str | None:
    if content is None or isinstance(content, str):
        return content
    return json.dumps(content)
