"""What ``nexus runs trace`` shows of one model call: the messages sent and the raw
answer, with anything that looks like a credential replaced before it is stored.

A later call of the same step (a repair round, a tool round) resends the conversation
so far; its trace keeps only the messages added since the call before
(``earlier_messages`` says how many it leaves out), so a step's traces read in order
hold the whole conversation once."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from nexus_agents.llm.interface import ChatRequest, ChatResponse

__all__ = ["REDACTED", "call_trace", "redact", "shared_prefix"]

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
    return _redact_shapes(text)


# A key-shaped string can only start where one of these starts (compared in lower case,
# a superset of where ``_LOOKS_SECRET`` can match: "sk-" and "Bearer" are case-sensitive
# in it). Finding them is a few scans in C; the pattern is then tried at those places only,
# which gives what ``_LOOKS_SECRET.sub`` gives, without trying it at every character.
_STARTS = ("sk-", "bearer", "api", "password", "secret", "token")


def _redact_shapes(text: str) -> str:
    lower = text.lower()
    if len(lower) != len(text):  # lower-casing changed a length: positions would not match
        return _LOOKS_SECRET.sub(REDACTED, text)
    starts: set[int] = set()
    for word in _STARTS:
        at = lower.find(word)
        while at >= 0:
            starts.add(at)
            at = lower.find(word, at + 1)
    if not starts:
        return text
    pieces: list[str] = []
    done = 0
    for at in sorted(starts):
        if at < done:
            continue
        found = _LOOKS_SECRET.match(text, at)
        if found is not None:
            pieces += [text[done:at], REDACTED]
            done = found.end()
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


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
    *,
    earlier: int = 0,
) -> dict[str, Any]:
    """A JSON-safe record of one call (messages, raw answer or error), secrets removed.

    ``earlier``: how many leading messages the trace of the step's call before already
    holds; they are left out and counted in ``earlier_messages``."""
    keep = [s for s in secrets if s]

    def clean(text: str | None) -> str | None:
        return None if text is None else _clip(redact(text, keep))

    skipped = max(0, min(earlier, len(request.messages)))
    messages = [
        {"role": m.role, "content": clean(m.content)}
        | (
            {"tool_calls": [clean(c.model_dump_json()) for c in m.tool_calls]}
            if m.tool_calls
            else {}
        )
        for m in request.messages[skipped:]
    ]
    trace: dict[str, Any] = {"model": request.model, "messages": messages}
    if skipped:
        trace["earlier_messages"] = skipped
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


def shared_prefix(before: Sequence[Any], now: Sequence[Any]) -> int:
    """How many leading messages ``now`` shares (the very same objects) with ``before``:
    the messages a trace of ``now`` may leave out after a trace of ``before``."""
    if len(before) > len(now):
        return 0
    for a, b in zip(before, now, strict=False):
        if a is not b:
            return 0
    return len(before)
