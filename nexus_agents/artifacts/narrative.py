"""Narrative building blocks shared by several artifacts.

Everything here is written by the model, so it stays friendly to OpenAI's strict JSON
schema mode: no free-form dicts, bounded lists, enums as ``Literal``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from nexus_agents.artifacts.facts import IssueSeverity

Text = Annotated[str, Field(max_length=4000)]
"""A paragraph of prose."""

Line = Annotated[str, Field(max_length=600)]
"""One sentence or bullet."""

Bullets = Annotated[list[Line], Field(max_length=12)]
"""A short bullet list."""

Named = Annotated[str, Field(min_length=1, max_length=600, pattern=r"\S")]
"""A line that may not be blank (an owner, a deadline)."""


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Risk(_Part):
    risk: Line
    likelihood: Literal["high", "medium", "low"]
    impact: Line
    mitigation: Line


class Action(_Part):
    """A follow-up action with an owner (an agent or a role) and a deadline."""

    action: Line
    owner: Named
    deadline: Named = Field(description="ISO date or a relative deadline such as 'next sprint'")


class Recommendation(_Part):
    recommendation: Line
    rationale: Line
    priority: Literal["high", "medium", "low"]


class Finding(_Part):
    area: Line
    finding: Line
    severity: IssueSeverity
    recommendation: Line
