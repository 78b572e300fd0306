"""What ``nexus runs trace`` shows of one model call: the messages sent and the raw
answer, with anything that looks like a credential replaced before it is stored."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from nexus_agents.llm.interface import ChatRequest, ChatResponse

__all__ = ["REDACTED", "call_trace", "redact"]

REDACTED = "[redacted]"
MAX_CHARS = 20_000  # per message: a trace is for reading, not a full archive
_LOOKS_SECRET = re.compile(
    r"(sk-[A-Za-z0-9_\-]{8,}|Bearer\s+[A-Za-z0-9._\-]{8,}|"
    r"(?i:api[_-]?key|password|secret|token)\s*[:=]\s*\S{6,})"
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without the given secret values and without key-shaped strings."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return _LOOKS_SECRET.sub(REDACTED, text)


def _clip(text: str) -> str:
    return (
        text
        if len(text) <= MAX_CHARS
        else text[:MAX_CHARS] + f"... [{len(text) - MAX_CHARS} more characters]"
    )


def call_trace(
    request: ChatRequest,
    response: ChatResponse | None,
    error: BaseException | None,
    secrets: Iterable[str] = (),
) -> dict[str, Any]:
    """A JSON-safe record of one call (messages, raw answer or error), secrets removed."""
    keep = [s for s in secrets if s]

    def clean(text: str | None) -> str | None:
        return None if text is None else _clip(redact(text, keep))

    messages = [
        {"role": m.role, "content": clean(m.content)}
        | (
            {"tool_calls": [clean(c.model_dump_json()) for c in m.tool_calls]}
            if m.tool_calls
            else {}
        )
        for m in request.messages
    ]
    trace: dict[str, Any] = {"model": request.model, "messages": messages}
    if response is not None:
        trace["answer"] = clean(response.message.content)
        if response.message.tool_calls:
            trace["tool_calls"] = [clean(c.model_dump_json()) for c in response.message.tool_calls]
        if response.refusal:
            trace["refusal"] = clean(response.refusal)
        trace["finish_reason"] = response.finish_reason
    if error is not None:
        trace["error"] = clean(f"{type(error).__name__}: {error}")
    return trace
