"""``nexus schedule list|sync|run`` and ``nexus worker``: the cadence calendar and the
run queue on DBOS."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from nexus_agents.schedule.engine import ScheduleEngine

schedule_app = typer.Typer(
    help="The playbook's cadences as durable schedules.", no_args_is_help=True
)

_WS = typer.Option(
    None, "--workspace", "-w", help="Workspace folder (default: NEXUS_WORKSPACE or .)."
)


def _engine(workspace: Path | None, *, role: str, worker_id: str | None = None) -> ScheduleEngine:
    from nexus_agents.api import default_runner
    from nexus_agents.cli._common import workspace_dir
    from nexus_agents.config import load_config
    from nexus_agents.schedule.engine import ScheduleEngine

    config = load_config(workspace_dir(workspace))
    runner = default_runner(config.workspace) if role == "run" else _no_runner
    return ScheduleEngine.from_config(config, runner, role="admin", worker_id=worker_id)


def _worker_engine(
    workspace: Path | None, *, worker_id: str | None, queues: str, concurrency: int | None
) -> ScheduleEngine:
    """A worker: both runners on one Nexus, and a heartbeat in the run store so the
    other workers can take over its runs if it dies."""
    import os
    import socket

    from nexus_agents.api import default_runners
    from nexus_agents.cli._common import workspace_dir
    from nexus_agents.config import load_config
    from nexus_agents.runs.presence import WorkerPresence
    from nexus_agents.runs.store import database_location
    from nexus_agents.schedule.calendar import load_calendar
    from nexus_agents.schedule.engine import ScheduleEngine

    config = load_config(workspace_dir(workspace))
    if not worker_id and not load_calendar(config).worker_id_set:
        worker_id = f"{socket.gethostname()}-{os.getpid()}"  # one per process by default
    jobs, runs = default_runners(config.workspace)
    extra: dict[str, object] = {} if concurrency is None else {"run_concurrency": concurrency}
    engine = ScheduleEngine.from_config(
        config, jobs, role="worker", worker_id=worker_id, run_runner=runs, queues=queues, **extra
    )
    engine.presence = WorkerPresence(database_location(config), engine.executor_id)
    return engine


async def _no_runner(*_args: object) -> object:  # pragma: no cover - never called
    from nexus_agents.exceptions import NexusError

    raise NexusError("this command does not run jobs")


@schedule_app.command("list")
def list_jobs(workspace: Path | None = _WS) -> None:
    """Each job: cron, next fire, last run and its status."""
    from rich.console import Console
    from rich.table import Table

    engine = _engine(workspace, role="admin")
    with engine:
        rows = engine.job_rows()
        stored = engine.schedules()
    table = Table(title=f"cadences ({engine.calendar.timezone})")
    for col in ("job", "cron", "next fire", "last period", "status", "synced"):
        table.add_column(col)
    for row in rows:
        table.add_row(
            row.job_id,
            row.cron if row.enabled else f"{row.cron} (off)",
            row.next_fire.strftime("%Y-%m-%d %H:%M") if row.next_fire else "-",
            row.last_period or "-",
            row.last_status or "-",
            "yes" if row.job_id in stored and stored[row.job_id]["schedule"] == row.cron else "no",
        )
    Console(width=max(Console().width, 110)).print(table)


@schedule_app.command("sync")
def sync(workspace: Path | None = _WS) -> None:
    """Apply cadences.yaml and the workspace overrides to the schedule store (idempotent)."""
    with _engine(workspace, role="admin") as engine:
        before = engine.schedules()
        applied, removed = engine.sync()
        after = engine.schedules()
    added = [job for job in applied if job not in before]
    changed = [
        job
        for job in applied
        if job in before and _schedule_key(before[job]) != _schedule_key(after.get(job, {}))
    ]
    unchanged = len(applied) - len(added) - len(changed)
    if not (added or changed or removed):
        typer.echo(f"schedules up to date ({unchanged} unchanged)")
        return
    parts = [
        f"{label} {len(jobs)}: {', '.join(jobs)}"
        for label, jobs in (("added", added), ("changed", changed), ("removed", removed))
        if jobs
    ]
    typer.echo("; ".join(parts) + f"; {unchanged} unchanged")


@schedule_app.command("run")
def run(
    job: str = typer.Argument(..., help="Job id, e.g. weekly-sprint-plan."),
    period: str | None = typer.Option(
        None,
        "--period",
        "-p",
        help="Period label, e.g. 2026-W48 (default: the period a fire now reports on).",
    ),
    rerun_failed: bool = typer.Option(
        False, "--rerun-failed", help="Run a period again whose recorded run failed."
    ),
    workspace: Path | None = _WS,
) -> None:
    """Run one period of a job now (a period that already ran is not run again)."""
    from nexus_agents._gc import freeze_startup_objects

    freeze_startup_objects()
    with _engine(workspace, role="run") as engine:
        outcome = engine.run(job, period, rerun_failed=rerun_failed)
        label = period or _fire_period(engine, job)
    if outcome.already_done:
        line = f"{job}: already done for {label} (run {outcome.run_id or '-'}, {outcome.status.value})"
        if outcome.status.value == "failed":
            line += "; run it again with --rerun-failed"
    elif outcome.status.value == "skipped":
        line = f"{job}: nothing to do for {label} (its check found everything fine)"
    else:
        line = f"{job} {label}: {outcome.status.value} after {outcome.attempts} attempt(s)"
        if outcome.run_id:
            line += f", run {outcome.run_id}"
    if outcome.error:
        line += f": {outcome.error}"
    typer.echo(line)
    if outcome.status.value == "failed":
        raise typer.Exit(1)


def _fire_period(engine: ScheduleEngine, job_id: str) -> str:
    from nexus_agents.schedule.planner import period_for_fire

    job = engine.calendar.job(job_id)
    return period_for_fire(job, engine.clock(), engine.calendar.timezone).label


def _schedule_key(stored: dict[str, object]) -> tuple[object, ...]:
    return tuple(stored.get(k) for k in ("schedule", "cron_timezone", "queue_name", "context"))


def worker(
    ctx: typer.Context,
    workspace: Path | None = _WS,
    worker_id: str | None = typer.Option(
        None,
        "--worker-id",
        help="Id of this worker, one per process (default: [schedule] worker_id, else"
        " HOST-PID). Runs of a worker that died are taken over by any live worker.",
    ),
    queue: str = typer.Option(
        "all",
        "--queue",
        metavar="all|runs|cadences",
        help="What to serve: submitted runs (nexus submit), the cadence schedules, or both.",
    ),
    concurrency: int | None = typer.Option(
        None,
        "--concurrency",
        min=1,
        max=256,
        help="Submitted runs this worker executes at once (default: [schedule]"
        " run_concurrency, else 8; stored with the queue, so all workers use the last value).",
    ),
    no_sync: bool = typer.Option(False, "--no-sync", help="Do not apply cadences.yaml on start."),
    drain: bool = typer.Option(False, "--drain", help="Catch up, run what is queued, then exit."),
    log_level: str | None = typer.Option(
        None, "--log-level", metavar="LEVEL", help="Default INFO (env NEXUS_LOG_LEVEL)."
    ),
    log_format: str | None = typer.Option(
        None,
        "--log-format",
        metavar="text|json",
        help="json: one JSON object per line (env NEXUS_LOG_FORMAT).",
    ),
) -> None:
    """Run a worker in the foreground: fire schedules, execute submitted runs (Ctrl-C stops).

    Any number of workers may share one database (PostgreSQL across machines). Logs each
    fire, attempt, retry (with its cause), skip, run and failure to stderr, with job,
    period, run id and duration."""

    from nexus_agents._gc import freeze_startup_objects
    from nexus_agents.logging_setup import configure_logging
    from nexus_agents.schedule.worker import run_worker

    root = ctx.find_root().params  # nexus --log-level ... worker
    try:
        configure_logging(
            log_level or root.get("log_level"),
            log_format or root.get("log_format"),
            default_level="INFO",
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if queue not in ("all", "runs", "cadences"):
        raise typer.BadParameter("choose all, runs or cadences", param_hint="--queue")
    freeze_startup_objects()
    engine = _worker_engine(
        workspace, worker_id=worker_id, queues=queue, concurrency=concurrency
    )
    run_worker(engine, sync=not no_sync, until_idle=drain)


def register(app: typer.Typer) -> None:
    app.add_typer(schedule_app, name="schedule")
    app.command("worker")(worker)
