"""A notify or status_post action as a Slack incoming-webhook message.

Every string from an artifact may be hostile model or data text. Slack reads ``<...>`` as
a control sequence (``<!channel>`` pings everyone, ``<https://x|here>`` is a disguised
link), so ``&``, ``<`` and ``>`` are escaped as Slack's docs ask, text objects are
``verbatim`` (no automatic linking of URLs, @names or #channels) and the message asks for
``parse: none``. Strings are also made one clean line and cut to Slack's limits.
"""

from __future__ import annotations

from typing import Any

from nexus_agents.actions.base import ActionRequest
from nexus_agents.untrusted_text import cut, normalise

__all__ = ["slack_escape", "slack_message"]

FIELD_CHARS = 300
SECTION_CHARS = 2_900  # Slack allows 3,000 in a section's text
MAX_FIELDS = 10  # Slack's limit per section
MAX_LINES = 12
_TITLES = {"notify": "Notification", "status_post": "Status update"}


def slack_escape(text: object, limit: int = FIELD_CHARS) -> str:
    """``text`` as literal Slack mrkdwn: one line, cut to ``limit``, ``& < >`` escaped."""
    flat = normalise(cut(str(text), limit), single_line=True)
    return flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and value != ""


def _line(name: str, value: Any) -> str | None:
    if _scalar(value):
        return f"*{slack_escape(name, 60)}:* {slack_escape(value)}"
    if isinstance(value, list) and value and all(_scalar(v) for v in value):
        items = "; ".join(slack_escape(v, 120) for v in value[:5])
        more = f" (+{len(value) - 5} more)" if len(value) > 5 else ""
        return f"*{slack_escape(name, 60)}:* {items}{more}"
    return None


def slack_message(request: ActionRequest) -> dict[str, Any]:
    """The Slack message for ``request``: ``text`` (the notification line) and ``blocks``."""
    artifact = _mapping(request.payload.get("artifact"))
    facts, narrative = _mapping(artifact.get("facts")), _mapping(artifact.get("narrative"))
    what = _TITLES.get(request.kind, request.kind)
    about = str(artifact.get("title") or artifact.get("kind") or request.step_id)
    headline = f"*{what}*: {slack_escape(about, 150)}"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": _mrkdwn(headline)}]
    fields = [
        _mrkdwn(f"*{slack_escape(k, 60)}*\n{slack_escape(v)}")
        for k, v in facts.items()
        if _scalar(v)
    ][:MAX_FIELDS]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    lines = [line for k, v in narrative.items() if (line := _line(k, v))][:MAX_LINES]
    if lines:
        body = "\n".join(lines)
        blocks.append({"type": "section", "text": _mrkdwn(cut(body, SECTION_CHARS))})
    origin = f"run {slack_escape(request.run_id, 120)} · step {slack_escape(request.step_id, 80)}"
    blocks.append({"type": "context", "elements": [_mrkdwn(origin)]})
    text = f"{what}: {slack_escape(about, 150)}"
    return {"text": text, "blocks": blocks, "parse": "none", "unfurl_links": False}
