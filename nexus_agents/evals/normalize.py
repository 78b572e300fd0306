"""How strict replay decides two chat requests are "the same".

Only ``model``, ``messages``, ``tools``, ``tool_choice`` and ``response_format`` are
compared; every other field (``temperature``, ``max_tokens``, ``user``, ``seed``,
``stream_options``, ``metadata``, ...) is dropped. Then:

- every string has runs of whitespace collapsed to one space and is stripped;
- object key order never matters (objects compare as mappings, print sorted);
- keys whose value is ``null`` are dropped from messages;
- tool-call ids are replaced by their order of appearance (``call_1``, ``call_2``...),
  both in assistant ``tool_calls`` and in ``tool`` messages' ``tool_call_id``;
- tool-call ``arguments`` (JSON text) are parsed, so spacing and key order inside do
  not matter;
- the ``tools`` list is sorted by function name.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import re
from typing import Any

COMPARED_FIELDS: tuple[str, ...] = (
    "model",
    "messages",
    "tools",
    "tool_choice",
    "response_format",
)
_SPACE = re.compile(r"\s+")


def normalize_request(body: Any) -> Any:
    """The comparable form of a chat-completions request body."""
    if not isinstance(body, dict):
        return _strings(body)
    kept = {k: body[k] for k in COMPARED_FIELDS if k in body and body[k] is not None}
    ids: dict[str, str] = {}
    if isinstance(kept.get("messages"), list):
        kept["messages"] = [_message(m, ids) for m in kept["messages"]]
    if isinstance(kept.get("tools"), list):
        kept["tools"] = sorted(kept["tools"], key=_tool_name)
    return _strings(kept)


def _message(message: Any, ids: dict[str, str]) -> Any:
    if not isinstance(message, dict):
        return message
    out = {k: v for k, v in message.items() if v is not None}
    calls = out.get("tool_calls")
    if isinstance(calls, list):
        if not calls:
            out.pop("tool_calls")
        else:
            out["tool_calls"] = [_tool_call(c, ids) for c in calls]
    if isinstance(out.get("tool_call_id"), str):
        out["tool_call_id"] = _call_id(out["tool_call_id"], ids)
    return out


def _tool_call(call: Any, ids: dict[str, str]) -> Any:
    if not isinstance(call, dict):
        return call
    out = dict(call)
    if isinstance(out.get("id"), str):
        out["id"] = _call_id(out["id"], ids)
    function = out.get("function")
    if isinstance(function, dict) and isinstance(function.get("arguments"), str):
        function = dict(function)
        with contextlib.suppress(ValueError):
            function["arguments"] = json.loads(function["arguments"])
        out["function"] = function
    return out


def _call_id(value: str, ids: dict[str, str]) -> str:
    if value not in ids:
        ids[value] = f"call_{len(ids) + 1}"
    return ids[value]


def _tool_name(tool: Any) -> str:
    if isinstance(tool, dict):
        function = tool.get("function")
        if isinstance(function, dict):
            return str(function.get("name", ""))
        return str(tool.get("name", ""))
    return ""


def _strings(value: Any) -> Any:
    if isinstance(value, str):
        return _SPACE.sub(" ", value).strip()
    if isinstance(value, dict):
        return {k: _strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strings(v) for v in value]
    return value


def canonical_text(value: Any) -> str:
    """Stable, line-oriented text of a normalised value (for diffs and similarity)."""
    return json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False, default=str)


def similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def short_diff(recorded: str, sent: str, *, max_lines: int = 24, width: int = 160) -> str:
    """A unified diff of two canonical texts, cut to ``max_lines`` lines."""
    lines = list(
        difflib.unified_diff(
            recorded.splitlines(),
            sent.splitlines(),
            fromfile="recorded",
            tofile="sent",
            n=1,
            lineterm="",
        )
    )
    if len(lines) > max_lines:
        lines = [*lines[:max_lines], f"... ({len(lines) - max_lines} more diff lines)"]
    return "\n".join(line if len(line) <= width else line[: width - 3] + "..." for line in lines)
