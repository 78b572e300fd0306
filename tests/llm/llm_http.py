"""Response bodies and request helpers for the respx-based tests."""

from __future__ import annotations

import json
from typing import Any

import httpx

BASE_URL = "http://llm.test/v1"
API_KEY = "sk-test-SECRET-0123456789abcdef"


def completion(
    content: str | None = None,
    *,
    tool_calls: list[tuple[str, dict[str, Any]]] | None = None,
    finish_reason: str = "stop",
    refusal: str | None = None,
    model: str = "gpt-4o-2024-08-06",
    prompt_tokens: int = 100,
    completion_tokens: int = 20,
) -> dict[str, Any]:
    """A chat.completions response body as an OpenAI-compatible server sends it."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": refusal}
    if tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{i}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)},
            }
            for i, (name, args) in enumerate(tool_calls)
        ]
        finish_reason = "tool_calls"
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def ok(body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json=body)


def body_of(call: Any) -> dict[str, Any]:
    """The JSON body of a request respx recorded."""
    return json.loads(call.request.content)
