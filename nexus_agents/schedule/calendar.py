"""The cadence calendar: ``graphs/cadences.yaml`` plus the workspace's overrides.

The shipped file holds the playbook's cadence tables; a workspace may shadow it with its
own ``graphs/cadences.yaml`` and may override crons, the timezone, and switch jobs off in
the ``[schedule]`` section of ``nexus.toml``::

    [schedule]
    timezone = "Europe/Berlin"
    concurrency = 2
    run_concurrency = 8   # submitted runs one worker executes at once

    [schedule.jobs.daily-metrics-snapshot]
    cron = "30 5 * * *"

    [schedule.jobs.brand-health-report]
    enabled = false
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from nexus_agents._yaml import safe_load
from nexus_agents.config import CONFIG_FILE, NexusConfig
from nexus_agents.exceptions import ConfigError, SpecError, UnknownNameError
from nexus_agents.paths import shipped_dir
from nexus_agents.schedule.cron import validate_cron, zone
from nexus_agents.schedule.jobs import CadenceJob, CatchUp, RetryPolicy
from nexus_agents.schedule.queued import DEFAULT_RUN_CONCURRENCY

CADENCES_FILE = "cadences.yaml"


class JobOverride(BaseModel):
    """Per-job settings a workspace may change."""

    model_config = ConfigDict(extra="forbid")

    cron: str | None = None
    enabled: bool | None = None
    catch_up: CatchUp | None = None
    catch_up_limit: int | None = Field(default=None, ge=1, le=1000)
    retry: RetryPolicy | None = None

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else validate_cron(value)


class ScheduleSettings(BaseModel):
    """The ``[schedule]`` section of ``nexus.toml``."""

    model_config = ConfigDict(extra="forbid")

    timezone: str | None = None
    concurrency: int | None = Field(default=None, ge=1, le=64)
    run_concurrency: int | None = Field(default=None, ge=1, le=256)
    worker_id: str | None = Field(default=None, min_length=1, max_length=100)
    jobs: dict[str, JobOverride] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        if value is not None:
            zone(value)
        return value


class Calendar(BaseModel):
    """Every job, after overrides, and the timezone their crons are read in."""

    model_config = ConfigDict(frozen=True)

    timezone: str = "UTC"
    queue: str = "nexus_cadence"
    concurrency: int = Field(default=2, ge=1, le=64)
    run_concurrency: int = Field(default=DEFAULT_RUN_CONCURRENCY, ge=1, le=256)
    worker_id: str = "local"
    worker_id_set: bool = False  # worker_id came from nexus.toml (not the default)
    jobs: tuple[CadenceJob, ...]
    source: str = CADENCES_FILE

    @property
    def enabled_jobs(self) -> tuple[CadenceJob, ...]:
        return tuple(job for job in self.jobs if job.enabled)

    def job(self, job_id: str) -> CadenceJob:
        for job in self.jobs:
            if job.id == job_id:
                return job
        raise UnknownNameError("job", job_id, [j.id for j in self.jobs])


class _FileQueue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="nexus_cadence", pattern=r"^[a-z][a-z0-9_]*$")
    concurrency: int = Field(default=2, ge=1, le=64)


class _CadenceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    queue: _FileQueue = Field(default_factory=_FileQueue)
    defaults: dict[str, Any] = Field(default_factory=dict)
    jobs: list[dict[str, Any]]


_DEFAULTABLE = {"catch_up", "catch_up_limit", "retry", "slot_minutes", "enabled"}


def cadences_path(workspace: Path | None = None) -> Path:
    """The workspace's ``graphs/cadences.yaml`` if it has one, else the shipped file."""
    if workspace is not None:
        own = workspace / "graphs" / CADENCES_FILE
        if own.is_file():
            return own
    return shipped_dir("graphs") / CADENCES_FILE


def _error_text(exc: ValidationError) -> str:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"]) or "(row)"
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"field {field!r}: {msg}"


def parse_cadences(text: str, source: str) -> tuple[_CadenceFile, list[CadenceJob]]:
    """Parse and validate cadence YAML; SpecError names the file, job and field."""
    try:
        raw = safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(source, f"not valid YAML{where}: {problem}") from None
    if not isinstance(raw, dict):
        raise SpecError(source, "expected a mapping with a 'jobs' list")
    try:
        parsed = _CadenceFile.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(source, _error_text(exc)) from None
    unknown_defaults = set(parsed.defaults) - _DEFAULTABLE
    if unknown_defaults:
        raise SpecError(source, f"defaults: unknown keys {sorted(unknown_defaults)}")
    jobs: list[CadenceJob] = []
    seen: set[str] = set()
    for index, row in enumerate(parsed.jobs, start=1):
        item = str(row.get("id") or f"job #{index}")
        if "trigger" in row:
            raise SpecError(source, "field 'trigger' is set by the engine, not the file", item=item)
        merged = {**parsed.defaults, **row}
        if isinstance(parsed.defaults.get("retry"), dict) and isinstance(row.get("retry"), dict):
            merged["retry"] = {**parsed.defaults["retry"], **row["retry"]}
        try:
            job = CadenceJob.model_validate(merged)
        except ValidationError as exc:
            raise SpecError(source, _error_text(exc), item=item) from None
        if job.id in seen:
            raise SpecError(source, "duplicate job id", item=job.id)
        seen.add(job.id)
        jobs.append(job)
    return parsed, jobs


def settings_from(config: NexusConfig) -> ScheduleSettings:
    """Validate ``config.schedule``; ConfigError names ``nexus.toml`` and the field."""
    try:
        return ScheduleSettings.model_validate(config.schedule)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(["schedule", *(str(p) for p in err["loc"])])
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{config.workspace / CONFIG_FILE}: field {field!r}: {msg}") from None


def build_calendar(
    parsed: _CadenceFile,
    jobs: list[CadenceJob],
    settings: ScheduleSettings,
    *,
    default_timezone: str = "UTC",
    source: str = CADENCES_FILE,
    config_file: str = CONFIG_FILE,
) -> Calendar:
    """Apply workspace overrides to parsed jobs."""
    known = {job.id for job in jobs}
    for job_id in settings.jobs:
        if job_id not in known:
            raise ConfigError(
                f"{config_file}: [schedule.jobs.{job_id}]: unknown job; known: "
                + ", ".join(sorted(known))
            )
    final: list[CadenceJob] = []
    for job in jobs:
        override = settings.jobs.get(job.id)
        if override is not None:
            update = override.model_dump(exclude_none=True)
            if "retry" in update:
                update["retry"] = override.retry
            job = job.model_copy(update=update)
        final.append(job)
    tz = settings.timezone or default_timezone
    try:
        zone(tz)
    except ValueError as exc:
        raise ConfigError(f"{config_file}: {exc}") from None
    return Calendar(
        timezone=tz,
        queue=parsed.queue.name,
        concurrency=settings.concurrency or parsed.queue.concurrency,
        run_concurrency=settings.run_concurrency or DEFAULT_RUN_CONCURRENCY,
        worker_id=settings.worker_id or "local",
        worker_id_set=settings.worker_id is not None,
        jobs=tuple(final),
        source=source,
    )


def load_calendar(config: NexusConfig, path: Path | None = None) -> Calendar:
    """The calendar of the workspace in ``config`` (file, then ``[schedule]`` overrides)."""
    file = path or cadences_path(config.workspace)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(str(file), f"cannot read: {exc.strerror}") from None
    parsed, jobs = parse_cadences(text, str(file))
    return build_calendar(
        parsed,
        jobs,
        settings_from(config),
        default_timezone=config.product.timezone,
        source=str(file),
        config_file=str(config.workspace / CONFIG_FILE),
    )
