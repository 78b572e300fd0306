"""What a facts builder hands to an agent step: the facts, extra context and outside text."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FactBundle", "UntrustedText"]


class UntrustedText(BaseModel):
    """A piece of text from outside (a ticket, a feedback item, an alert)."""

    model_config = ConfigDict(extra="forbid")

    source: str
    id: str | None = None
    text: str


class FactBundle(BaseModel):
    """What code gathered for one agent step.

    ``facts`` becomes the artifact's ``facts`` part verbatim (validated against its model);
    ``context`` is extra trusted material for the prompt only; ``untrusted`` is outside
    text (tickets, feedback, alerts) that the prompt fences as data.
    """

    model_config = ConfigDict(extra="forbid")

    facts: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    untrusted: list[UntrustedText] = Field(default_factory=list)
    guidance: list[str] = Field(default_factory=list)
