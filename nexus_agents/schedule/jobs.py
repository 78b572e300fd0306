"""What a scheduled job is, and what running one returns.

A ``CadenceJob`` is one row of the playbook's cadence tables: an agent (or a graph) that
reports on a period, fired by a cron expression. Continuous jobs also name a ``check``
that decides, each time they fire, whether anything needs to run at all.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nexus_agents.periods import PeriodKind

_JOB_ID = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")
_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")
_CHECK = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")

DEFAULT_GRAPH = "cadence_run"


class Cadence(StrEnum):
    CONTINUOUS = "continuous"
    DAILY = "daily"
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


#: The period a cadence reports on unless the job says otherwise.
CADENCE_PERIOD: dict[Cadence, PeriodKind] = {
    Cadence.CONTINUOUS: PeriodKind.SLOT,
    Cadence.DAILY: PeriodKind.DAY,
    Cadence.WEEKLY: PeriodKind.WEEK,
    Cadence.BIWEEKLY: PeriodKind.BIWEEK,
    Cadence.MONTHLY: PeriodKind.MONTH,
    Cadence.QUARTERLY: PeriodKind.QUARTER,
}


class PeriodMode(StrEnum):
    """Which period a fire reports on: the one just finished, or the one it falls in."""

    PREVIOUS = "previous"
    CURRENT = "current"


class CatchUp(StrEnum):
    """What to do with periods missed while no worker ran."""

    LATEST = "latest"  # run only the most recent missed period
    ALL = "all"  # run every missed period (bounded by ``catch_up_limit``)
    SKIP = "skip"  # run none


class RetryPolicy(BaseModel):
    """Attempts per period; the wait before attempt n+1 is ``backoff_s * factor**(n-1)``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(default=3, ge=1, le=20)
    backoff_s: float = Field(default=60.0, ge=0)
    backoff_factor: float = Field(default=2.0, ge=1)
    max_backoff_s: float = Field(default=3600.0, ge=0)

    def delay_after(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        delay = self.backoff_s * self.backoff_factor ** (attempt - 1)
        return float(min(delay, self.max_backoff_s))


class Trigger(BaseModel):
    """What a continuous check found wrong; passed to the job it starts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(min_length=1, description="e.g. sla_breach, incident, deploy_failure")
    summary: str = Field(min_length=1)
    severity: str | None = Field(default=None, description="P0..P3 when the check knows")
    details: dict[str, Any] = Field(default_factory=dict)


class CadenceJob(BaseModel):
    """One scheduled job."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    cadence: Cadence
    agent: str | None = None
    graph: str = DEFAULT_GRAPH
    activity: str = ""
    output: str | None = None
    cron: str
    period_kind: PeriodKind | None = None
    period: PeriodMode = PeriodMode.PREVIOUS
    slot_minutes: int = Field(default=5, ge=1, le=1440)
    inputs: list[str] = Field(default_factory=list)
    check: str | None = None
    sla: str | None = None
    catch_up: CatchUp = CatchUp.LATEST
    catch_up_limit: int = Field(default=12, ge=1, le=1000)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    enabled: bool = True
    # Set by the engine when a continuous check fired; never written in cadences.yaml.
    trigger: Trigger | None = None

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not _JOB_ID.match(value):
            raise ValueError("job ids are lowercase words joined by '-', e.g. weekly-sprint-plan")
        return value

    @field_validator("agent", "output", "graph")
    @classmethod
    def _slug_shape(cls, value: str | None) -> str | None:
        if value is not None and not _SLUG.match(value):
            raise ValueError(f"{value!r} is not a snake_case name")
        return value

    @field_validator("check")
    @classmethod
    def _check_shape(cls, value: str | None) -> str | None:
        if value is not None and not _CHECK.match(value):
            raise ValueError(f"check {value!r} must look like package.module:function")
        return value

    @field_validator("cron")
    @classmethod
    def _cron_valid(cls, value: str) -> str:
        from nexus_agents.schedule.cron import validate_cron

        return validate_cron(value)

    @model_validator(mode="after")
    def _consistent(self) -> CadenceJob:
        if self.agent is None and self.graph == DEFAULT_GRAPH:
            raise ValueError(f"graph {DEFAULT_GRAPH!r} needs an agent")
        if self.cadence is Cadence.CONTINUOUS and self.check is None:
            raise ValueError("a continuous job needs a check (package.module:function)")
        if self.cadence is not Cadence.CONTINUOUS and self.output is None:
            raise ValueError("a periodic job needs an output artifact kind")
        return self

    @property
    def reports_on(self) -> PeriodKind:
        return self.period_kind or CADENCE_PERIOD[self.cadence]

    @property
    def is_check(self) -> bool:
        return self.check is not None


class JobStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  # e.g. a continuous check found nothing wrong


class JobOutcome(BaseModel):
    """What a ``JobRunner`` returns for one (job, period)."""

    model_config = ConfigDict(extra="forbid")

    status: JobStatus
    run_id: str | None = None
    error: str | None = None
    attempts: int = Field(default=1, ge=0)
    finished_at: datetime | None = None
    already_done: bool = Field(
        default=False, description="this period had run before: its recorded outcome, not run again"
    )
