"""``AgentSpec``: one agent as described by a ``prompts/*.md`` file.

A prompt file is YAML front matter between ``---`` lines followed by the system prompt::

    ---
    name: Analytics Reporter
    slug: analytics_reporter
    aliases: [Data Analytics Reporter]
    role: Turns product data into KPI snapshots and weekly analyses.
    cadences:
      - {cadence: daily, activity: KPI dashboard update, output: Daily metrics snapshot}
    tools: [kpi_snapshot]
    output: daily_metrics_snapshot
    ---
    You are ...
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nexus_agents.artifacts.facts import Cadence

__all__ = ["AgentSpec", "CadenceRow", "Origin"]

Origin = Literal["shipped", "workspace", "other"]

_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")


class CadenceRow(BaseModel):
    """One row of the playbook's cadence tables for this agent.

    Continuous rows name an SLA instead of an output (the playbook's table has an SLA
    column there); every other row names the output by its playbook title.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    cadence: Cadence
    activity: str = Field(min_length=1)
    output: str | None = None
    sla: str | None = None

    @model_validator(mode="after")
    def _output_or_sla(self) -> CadenceRow:
        if self.cadence == "continuous" and not self.sla:
            raise ValueError("a continuous row needs 'sla'")
        if self.cadence != "continuous" and not self.output:
            raise ValueError(f"a {self.cadence} row needs 'output'")
        return self


class AgentSpec(BaseModel):
    """A validated agent definition."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    slug: str
    aliases: tuple[str, ...] = ()
    role: str = Field(min_length=1)
    cadences: tuple[CadenceRow, ...] = ()
    tools: tuple[str, ...] = ()
    output: str = Field(min_length=1, description="artifact kind of the agent's main output")
    model: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tool_rounds: int | None = Field(default=None, ge=0, le=20)
    system_prompt: str = Field(min_length=1)
    source: Path | None = Field(default=None, exclude=True)
    origin: Origin = "other"

    @field_validator("slug")
    @classmethod
    def _slug_shape(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(f"{value!r} is not a snake_case slug")
        return value

    @field_validator("role")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\n" in value.strip():
            raise ValueError("role must be one line")
        return value.strip()

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the agent answers to: display name, slug and aliases."""
        return (self.name, self.slug, *self.aliases)

    @property
    def outputs(self) -> tuple[str, ...]:
        """The main output kind followed by the outputs named in the cadence rows."""
        rows = tuple(r.output for r in self.cadences if r.output)
        return tuple(dict.fromkeys((self.output, *rows)))
