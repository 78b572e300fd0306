"""Responder factories the mock-server CLI tests load with ``--responder module:factory``."""

from __future__ import annotations

from typing import Any

from nexus_agents.testing import content_reply


def shouting() -> Any:
    """A responder that answers with the last user message in capitals."""

    def respond(request: dict[str, Any]) -> dict[str, Any]:
        return content_reply(str(request["messages"][-1]["content"]).upper())

    return respond


def not_a_responder() -> int:
    """A factory that returns something the server cannot call."""
    return 42
