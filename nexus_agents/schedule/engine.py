"""Durable cadences on DBOS: schedules, a queue, and one workflow per ``JOB:PERIOD``.

How a period runs:

1. ``sync`` stores one DBOS schedule per enabled job (cron + timezone). A DBOS schedule
   fire starts the *fire* workflow on the ``<queue>_fire`` queue (only workers listen).
2. The fire workflow maps the fire time to the job's period, runs the job's check for
   continuous jobs, and enqueues the *run* workflow with workflow id ``JOB:PERIOD`` on
   the job queue (concurrency-limited per worker). An id that exists already is
   attached to, never run again: across restarts, catch-up and several workers.
3. The run workflow calls the ``JobRunner`` once per attempt, each attempt a recorded
   DBOS step, with durable backoff sleeps between failed attempts. A crash mid-attempt
   is recovered by the next worker with the same worker id, or by any live worker once
   the dead one's heartbeat is stale (``Presence``); the outcome (status, run id,
   error, attempts) is the workflow's output.

Submitted runs (``submit``): one *queued* workflow per run, id ``run:<thread id>``, on
the ``nexus_runs`` queue that every worker listens to (at most ``run_concurrency`` at
once per worker). Its one step calls the ``QueuedRunner`` (``Nexus.arun``: start, or
resume from the run's last checkpoint), so a run whose worker died is finished by
another without redoing its completed graph steps.

Only one ``ScheduleEngine`` may be launched per process (DBOS is a process singleton).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from dbos import DBOS, DBOSConfig, SetWorkflowID
from pydantic import BaseModel, ConfigDict

from nexus_agents.config import NexusConfig
from nexus_agents.exceptions import ConfigError, NexusError, RunBusyError
from nexus_agents.periods import Period, parse_period
from nexus_agents.schedule.calendar import Calendar, load_calendar
from nexus_agents.schedule.checks import CheckContext, CheckFn, resolve_check, run_check
from nexus_agents.schedule.cron import next_fire, zone
from nexus_agents.schedule.jobs import CadenceJob, JobOutcome, JobStatus, Trigger
from nexus_agents.schedule.planner import Due, missed, period_for_fire, split_thread_id, thread_id
from nexus_agents.schedule.queued import (
    DEFAULT_RUN_CONCURRENCY,
    RUNS_QUEUE,
    WORKFLOW_PREFIX,
    QueuedOutcome,
    QueuedRun,
    QueuedRunner,
    QueuedStatus,
    Submission,
)
from nexus_agents.schedule.runner import JobRunner

APP_NAME = "nexus_agents"
# Fixed so every worker and CLI process agrees (DBOS recovers only its own version).
APP_VERSION = "nexus-cadence-1"
SCHEDULE_PREFIX = "nexus-"
FIRE_WORKFLOW = "nexus_cadence_fire"
RUN_WORKFLOW = "nexus_cadence_run"
QUEUED_WORKFLOW = "nexus_queued_run"
# a queued run whose lease another live process holds is tried again this often
BUSY_RETRY_S = 5.0
BUSY_ATTEMPTS = 36  # 3 minutes: past a dead remote worker's run lease (60 s)
ERROR_ATTEMPTS = 3  # tries of a run whose execution raised (not one that failed)
ERROR_RETRY_S = 2.0  # x the number of errors so far
_ERROR_LIMIT = 2000
# the worker's log: each fire, attempt, retry (with its cause), skip and final outcome
logger = logging.getLogger(__name__)

Role = Literal["worker", "admin"]
QueueChoice = Literal["all", "runs", "cadences"]
_DBOS_STATE: dict[str, QueuedStatus] = {
    "ENQUEUED": "queued",
    "PENDING": "running",
    "ERROR": "failed",
    "CANCELLED": "cancelled",
    "MAX_RECOVERY_ATTEMPTS_EXCEEDED": "failed",
}


class Presence(Protocol):
    """The workers' heartbeats (``nexus_agents.runs.presence.WorkerPresence``)."""

    def register(self) -> None: ...

    def heartbeat(self) -> None: ...

    def dead(self, executor_ids: set[str]) -> list[str]: ...

    def forget(self, executor_id: str) -> None: ...

    def close(self, *, expire: bool = True) -> None: ...

_active: ScheduleEngine | None = None


def database_url(config: NexusConfig) -> str:
    """The DBOS system database: ``config.database_url`` (Postgres) or SQLite in the workspace."""
    if config.database_url is not None:
        url = config.database_url.get_secret_value()
        if not url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://", "sqlite:")):
            raise ConfigError("database_url / NEXUS_DATABASE_URL must be a postgresql:// URL")
        return url
    folder = (config.workspace / ".nexus").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'dbos.sqlite'}"


class JobRunRecord(BaseModel):
    """One recorded ``JOB:PERIOD`` run."""

    model_config = ConfigDict(frozen=True)

    thread_id: str
    job_id: str
    period: str
    state: str  # DBOS workflow status: ENQUEUED, PENDING, SUCCESS, ERROR, ...
    outcome: JobOutcome | None
    created_at: datetime | None

    @property
    def status(self) -> str:
        if self.outcome is not None:
            return self.outcome.status.value
        return {"ENQUEUED": "queued", "PENDING": "running"}.get(self.state, self.state.lower())


class JobRow(BaseModel):
    """One line of ``nexus schedule list``."""

    job_id: str
    cron: str
    enabled: bool
    next_fire: datetime | None
    last_period: str | None
    last_status: str | None


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _ms_to_dt(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


def _get_active() -> ScheduleEngine:
    if _active is None:
        raise NexusError("no schedule engine is launched in this process")
    return _active


def active_engine() -> ScheduleEngine | None:
    """The engine launched in this process, if any (DBOS allows one per process)."""
    return _active


@DBOS.workflow(name=FIRE_WORKFLOW)
async def _fire_workflow(scheduled_at: datetime, context: dict[str, Any]) -> str | None:
    return await _get_active()._on_fire(str(context["job"]), scheduled_at)


@DBOS.workflow(name=RUN_WORKFLOW)
async def _run_workflow(job_data: dict[str, Any], period_label: str, thread: str) -> dict[str, Any]:
    return await _get_active()._execute(job_data, period_label, thread)


@DBOS.workflow(name=QUEUED_WORKFLOW)
async def _queued_workflow(run_data: dict[str, Any]) -> dict[str, Any]:
    return await _get_active()._execute_queued(run_data)


class ScheduleEngine:
    """The cadence calendar on a DBOS system database.

    ``role="worker"`` dequeues and runs work and recovers its own unfinished runs (one
    ``worker_id`` per worker process). With a ``presence`` it also recovers the runs of
    any dead worker; without one, only a restart with the same id does. ``queues``
    picks what a worker serves: submitted runs, cadences, or both. ``role="admin"``
    (CLI commands) gets a throw-away id, runs only what it starts itself and never
    recovers a worker's runs.
    """

    def __init__(
        self,
        calendar: Calendar,
        runner: JobRunner,
        *,
        database_url: str,
        workspace: Path = Path("."),
        role: Role = "worker",
        checks: Mapping[str, CheckFn] | None = None,
        poll_interval_s: float = 1.0,
        clock: Callable[[], datetime] = _utcnow,
        run_runner: QueuedRunner | None = None,
        queues: QueueChoice = "all",
        run_concurrency: int = DEFAULT_RUN_CONCURRENCY,
        presence: Presence | None = None,
    ) -> None:
        if run_concurrency < 1:
            raise ConfigError(f"run concurrency must be at least 1, not {run_concurrency}")
        self.calendar = calendar
        self.runner = runner
        self.run_runner = run_runner
        self.queues = queues
        self.run_concurrency = run_concurrency
        self.presence = presence
        self._recovered_at = 0.0
        self.workspace = workspace
        self.role = role
        self.checks = dict(checks or {})
        self.poll_interval_s = poll_interval_s
        self.clock = clock
        self._url = database_url
        self._launched = False
        self.executor_id = (
            calendar.worker_id if role == "worker" else f"cli-{uuid.uuid4().hex[:12]}"
        )

    @classmethod
    def from_config(
        cls,
        config: NexusConfig,
        runner: JobRunner,
        *,
        role: Role = "worker",
        worker_id: str | None = None,
        **kwargs: Any,
    ) -> ScheduleEngine:
        calendar = load_calendar(config)
        if worker_id:
            calendar = calendar.model_copy(update={"worker_id": worker_id})
        kwargs.setdefault("run_concurrency", calendar.run_concurrency)
        return cls(
            calendar,
            runner,
            database_url=database_url(config),
            workspace=config.workspace,
            role=role,
            **kwargs,
        )

    # -- lifecycle -----------------------------------------------------------------

    @property
    def fire_queue(self) -> str:
        return f"{self.calendar.queue}_fire"

    @property
    def listened(self) -> list[str]:
        """The queues this process dequeues from (none for an admin)."""
        if self.role != "worker":
            return []
        names = [] if self.queues == "runs" else [self.calendar.queue, self.fire_queue]
        return names + ([RUNS_QUEUE] if self.queues != "cadences" else [])

    def launch(self) -> None:
        """Connect to (and migrate) the system database and start DBOS's threads."""
        global _active
        if self._launched:
            return
        if _active is not None and _active is not self:
            raise NexusError("another schedule engine is already launched in this process")
        poll = max(0.01, self.poll_interval_s)
        config: DBOSConfig = {
            "name": APP_NAME,
            "system_database_url": self._url,
            "application_version": APP_VERSION,
            "executor_id": self.executor_id,
            "log_level": "WARNING",
            "notification_listener_polling_interval_sec": poll,
            "scheduler_polling_interval_sec": max(1.0, 10 * poll),
        }
        _active = self
        try:
            if self.presence is not None:
                self.presence.register()  # before DBOS may dequeue anything
            if RUNS_QUEUE in self.listened:
                self._preset_run_queue(poll)
            DBOS(config=config)
            DBOS.listen_queues(self.listened)
            DBOS.launch()
            DBOS.register_queue(
                self.calendar.queue,
                worker_concurrency=self.calendar.concurrency,
                polling_interval_sec=poll,
                on_conflict="always_update",
            )
            DBOS.register_queue(
                self.fire_queue, polling_interval_sec=poll, on_conflict="always_update"
            )
            # the per-worker limit is stored with the queue: the last worker started sets it
            worker = self.role == "worker"
            DBOS.register_queue(
                RUNS_QUEUE,
                worker_concurrency=self.run_concurrency if worker else None,
                polling_interval_sec=poll,
                on_conflict="always_update" if worker else "never_update",
            )
        except Exception as exc:
            _active = None
            DBOS.destroy()
            if self.presence is not None:
                self.presence.close(expire=True)
            if isinstance(exc, NexusError):
                raise
            raise NexusError(
                f"schedule engine could not start: {type(exc).__name__}: {exc}"
            ) from exc
        self._launched = True

    def _preset_run_queue(self, poll: float) -> None:
        """Store this worker's run limit before DBOS starts: its first poll of the queue
        reads the stored limit, which ``register_queue`` after the launch would be too
        late for (the worker would take everything queued at once)."""
        from dbos import DBOSClient

        try:
            client = DBOSClient(system_database_url=self._url, application_name=APP_NAME)
        except Exception:
            return  # the launch reports what is wrong with the database
        try:
            client.register_queue(
                RUNS_QUEUE,
                worker_concurrency=self.run_concurrency,
                polling_interval_sec=poll,
                on_conflict="always_update",
                application_name=APP_NAME,
            )
        except Exception as exc:  # a new database without tables holds no stale limit either
            logger.debug("run queue not preset: %s", exc)
        finally:
            client.destroy()

    def shutdown(self, wait_s: int = 0) -> None:
        """Stop DBOS; runs still going are recovered by the next worker with this id."""
        global _active
        if not self._launched:
            return
        DBOS.destroy(workflow_completion_timeout_sec=wait_s)
        self._launched = False
        if _active is self:
            _active = None
        if self.presence is not None:
            self.presence.close(expire=True)  # what is left unfinished is taken over now

    def __enter__(self) -> ScheduleEngine:
        self.launch()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # -- schedules -----------------------------------------------------------------

    def sync(self) -> tuple[list[str], list[str]]:
        """Make the stored DBOS schedules match the calendar; returns (applied, removed)."""
        self._require_launched()
        enabled = [job for job in self.calendar.jobs if job.enabled]
        DBOS.apply_schedules(
            [
                {
                    "schedule_name": SCHEDULE_PREFIX + job.id,
                    "workflow_fn": _fire_workflow,
                    "schedule": job.cron,
                    "context": {"job": job.id},
                    "cron_timezone": self.calendar.timezone,
                    "queue_name": self.fire_queue,
                }
                for job in enabled
            ]
        )
        wanted = {SCHEDULE_PREFIX + job.id for job in enabled}
        removed: list[str] = []
        for schedule in DBOS.list_schedules(schedule_name_prefix=SCHEDULE_PREFIX):
            name = schedule["schedule_name"]
            if name not in wanted:
                DBOS.delete_schedule(name)
                removed.append(name.removeprefix(SCHEDULE_PREFIX))
        return sorted(job.id for job in enabled), sorted(removed)

    def schedules(self) -> dict[str, dict[str, Any]]:
        """Stored DBOS schedules by job id."""
        self._require_launched()
        return {
            s["schedule_name"].removeprefix(SCHEDULE_PREFIX): dict(s)
            for s in DBOS.list_schedules(schedule_name_prefix=SCHEDULE_PREFIX)
        }

    # -- starting runs -------------------------------------------------------------

    def enqueue(self, job_id: str, period: Period | str, *, trigger: Trigger | None = None) -> str:
        """Queue ``job_id`` for ``period`` (no-op if that ``JOB:PERIOD`` exists); returns the id."""
        self._require_launched()
        job = self.calendar.job(job_id)
        if trigger is not None:
            job = job.model_copy(update={"trigger": trigger})
        period = self._period(job, period)
        key = thread_id(job.id, period)
        queue = DBOS.retrieve_queue(self.calendar.queue)
        assert queue is not None
        with SetWorkflowID(key):
            queue.enqueue(_run_workflow, job.model_dump(mode="json"), period.label, key)
        return key

    def run(
        self, job_id: str, period: Period | str | None = None, *, rerun_failed: bool = False
    ) -> JobOutcome:
        """Run one period now in this process and wait for its outcome.

        Without ``period`` the period of a fire at the current time is used. A period that
        already ran returns its recorded outcome; ``rerun_failed`` forgets a failed one
        first. A continuous job runs its check first and is skipped when all is fine.
        """
        self._require_launched()
        job = self.calendar.job(job_id)
        chosen = (
            period_for_fire(job, self.clock(), self.calendar.timezone)
            if period is None
            else self._period(job, period)
        )
        key = thread_id(job.id, chosen)
        record = self.record(key)
        if rerun_failed and record is not None and record.status == JobStatus.FAILED.value:
            DBOS.delete_workflow(key)
            record = None
        if record is not None and record.outcome is not None:
            logger.info(
                "%s: skipped, already done for %s (%s)",
                key,
                chosen.label,
                record.outcome.status.value,
                extra=_fields("skip", job.id, chosen.label, key, run_id=record.outcome.run_id),
            )
            return record.outcome.model_copy(update={"already_done": True})
        if job.is_check and record is None:
            trigger = asyncio.run(self._check(job, chosen))
            if trigger is None:
                logger.info(
                    "%s: check found nothing to do",
                    key,
                    extra=_fields("check_ok", job.id, chosen.label, key),
                )
                return JobOutcome(status=JobStatus.SKIPPED, attempts=0, finished_at=self.clock())
            job = job.model_copy(update={"trigger": trigger})
        with SetWorkflowID(key):
            handle = DBOS.start_workflow(
                _run_workflow, job.model_dump(mode="json"), chosen.label, key
            )
        return JobOutcome.model_validate(handle.get_result())

    def fire(self, job_id: str, at: datetime) -> str | None:
        """Do what a schedule fire at ``at`` does, synchronously; returns the queued id."""
        self._require_launched()
        with SetWorkflowID(f"manual-fire-{job_id}-{at.isoformat()}"):
            handle = DBOS.start_workflow(_fire_workflow, at, {"job": job_id})
        result: str | None = handle.get_result()
        return result

    def catch_up(self, now: datetime | None = None) -> list[Due]:
        """Queue the periods missed since each job's last recorded run, per its policy."""
        self._require_launched()
        now = now or self.clock()
        schedules = self.schedules()
        queued: list[Due] = []
        for job in self.calendar.enabled_jobs:
            records = self.records(job.id)
            anchors = [r.created_at for r in records if r.created_at is not None]
            last_fired = (schedules.get(job.id) or {}).get("last_fired_at")
            if last_fired:
                anchors.append(datetime.fromisoformat(last_fired))
            if not anchors:
                continue  # never served: nothing was missed yet
            done = {r.thread_id for r in records}
            for item in missed(job, self.calendar.timezone, max(anchors), now, done):
                self.enqueue(job.id, item.period)
                queued.append(item)
        return queued

    # -- records -------------------------------------------------------------------

    def records(self, job_id: str | None = None, *, limit: int | None = None) -> list[JobRunRecord]:
        """Recorded runs, newest first."""
        self._require_launched()
        rows = DBOS.list_workflows(
            name=RUN_WORKFLOW,
            workflow_id_prefix=None if job_id is None else f"{job_id}:",
            sort_desc=True,
            limit=limit,
            load_input=False,
        )
        return [self._record(row) for row in rows]

    def record(self, key: str) -> JobRunRecord | None:
        self._require_launched()
        rows = DBOS.list_workflows(workflow_ids=[key], load_input=False)
        return self._record(rows[0]) if rows else None

    def wait(self, key: str) -> JobOutcome:
        """Block until the run ``key`` finishes; its outcome."""
        self._require_launched()
        return JobOutcome.model_validate(DBOS.retrieve_workflow(key).get_result())

    def busy(self) -> bool:
        """Whether any fire or run (cadence or submitted) is queued or running."""
        self._require_launched()
        rows = DBOS.list_workflows(
            name=[RUN_WORKFLOW, FIRE_WORKFLOW, QUEUED_WORKFLOW],
            status=["ENQUEUED", "PENDING"],
            limit=1,
            load_input=False,
            load_output=False,
        )
        return bool(rows)

    # -- submitted runs ------------------------------------------------------------

    def submit(self, run: QueuedRun) -> Submission:
        """Queue ``run`` for any worker; a thread id queued before is not queued again."""
        self._require_launched()
        existing = self.submission(run.thread_id)
        if existing is not None:
            return existing.model_copy(update={"already_submitted": True})
        queue = DBOS.retrieve_queue(RUNS_QUEUE)
        assert queue is not None
        with SetWorkflowID(run.workflow_id):
            queue.enqueue(_queued_workflow, run.model_dump(mode="json"))
        logger.info(
            "run %s (%s, %s): queued",
            run.thread_id,
            run.graph,
            run.period,
            extra={"event": "submitted", "run_id": run.thread_id, "graph": run.graph},
        )
        found = self.submission(run.thread_id)
        assert found is not None
        return found

    def submission(self, thread: str) -> Submission | None:
        """Where the submitted run ``thread`` stands (None: never submitted)."""
        self._require_launched()
        rows = DBOS.list_workflows(workflow_ids=[WORKFLOW_PREFIX + thread], load_input=True)
        if not rows or rows[0].name != QUEUED_WORKFLOW:
            return None
        row: Any = rows[0]
        args = list((row.input or {}).get("args") or [{}])
        run = QueuedRun.model_validate(args[0])
        outcome = self._queued_outcome(row, run)
        return Submission(
            run_id=run.thread_id,
            graph=run.graph,
            period=run.period,
            workflow_id=row.workflow_id,
            status=outcome.status if outcome is not None else _DBOS_STATE.get(str(row.status), "queued"),
            outcome=outcome,
        )

    def wait_submitted(self, thread: str) -> QueuedOutcome:
        """Block until the submitted run ``thread`` is done (a worker must be running)."""
        self._require_launched()
        handle: Any = DBOS.retrieve_workflow(WORKFLOW_PREFIX + thread)
        try:
            output = handle.get_result()
        except Exception as exc:
            found = self.submission(thread)
            if found is not None and found.outcome is not None:
                return found.outcome
            raise NexusError(f"submitted run {thread!r} ended without an outcome: {exc}") from exc
        return QueuedOutcome.model_validate(output)

    def _queued_outcome(self, row: Any, run: QueuedRun) -> QueuedOutcome | None:
        if row.status == "SUCCESS" and isinstance(row.output, dict):
            return QueuedOutcome.model_validate(row.output)
        if row.status in ("ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"):
            return QueuedOutcome(
                run_id=run.thread_id,
                graph=run.graph,
                status=_DBOS_STATE[row.status],
                error=None if row.error is None else str(row.error)[:_ERROR_LIMIT],
            )
        return None

    # -- workers -------------------------------------------------------------------

    def tick(self) -> list[str]:
        """The worker loop's periodic work: renew this worker's heartbeat and hand the
        unfinished runs of dead workers back to the queues; returns those workers' ids."""
        if self.presence is None:
            return []
        self.presence.heartbeat()
        now = time.monotonic()
        if now - self._recovered_at < max(0.5, 2 * self.poll_interval_s):
            return []
        self._recovered_at = now
        return self.recover_dead_workers()

    def recover_dead_workers(self) -> list[str]:
        """Put every running workflow of a dead worker back on its queue (any live worker
        then continues it); the dead workers' ids."""
        self._require_launched()
        if self.presence is None:
            return []
        rows = DBOS.list_workflows(status="PENDING", load_input=False, load_output=False)
        executors = {row.executor_id for row in rows if row.executor_id}
        dead = self.presence.dead(executors)
        for executor in dead:
            # DBOS's own recovery for that executor id: PENDING -> ENQUEUED on its queue,
            # once only (a second call finds the workflows no longer that executor's)
            handles = DBOS._recover_pending_workflows([executor])
            logger.warning(
                "worker %s is gone: %d unfinished workflow(s) put back on their queue",
                executor,
                len(handles),
                extra={"event": "recovered", "dead_worker": executor, "workflows": len(handles)},
            )
            self.presence.forget(executor)
        return dead

    def job_rows(self, now: datetime | None = None) -> list[JobRow]:
        now = now or self.clock()
        tz = zone(self.calendar.timezone)
        rows: list[JobRow] = []
        for job in self.calendar.jobs:
            last = self.records(job.id, limit=1)
            rows.append(
                JobRow(
                    job_id=job.id,
                    cron=job.cron,
                    enabled=job.enabled,
                    next_fire=next_fire(job.cron, tz, now) if job.enabled else None,
                    last_period=split_thread_id(last[0].thread_id)[1] if last else None,
                    last_status=last[0].status if last else None,
                )
            )
        return rows

    # -- inside workflows ------------------------------------------------------------

    async def _on_fire(self, job_id: str, scheduled_at: datetime) -> str | None:
        try:
            job = self.calendar.job(job_id)
        except KeyError:
            return None  # removed from the calendar since the schedule was stored
        if not job.enabled:
            return None
        if scheduled_at.tzinfo is None:
            scheduled_at = scheduled_at.replace(tzinfo=UTC)
        period = period_for_fire(job, scheduled_at, self.calendar.timezone)
        key = thread_id(job.id, period)
        logger.info(
            "%s: fired at %s",
            key,
            scheduled_at.isoformat(),
            extra=_fields("fire", job.id, period.label, key, scheduled_at=scheduled_at.isoformat()),
        )
        if job.is_check:
            found = await DBOS.run_step_async(
                {"name": "check"}, self._check_step, job.id, period.label
            )
            if found is None:
                logger.info(
                    "%s: check found nothing to do",
                    key,
                    extra=_fields("check_ok", job.id, period.label, key),
                )
                return None
            job = job.model_copy(update={"trigger": Trigger.model_validate(found)})
        queue = await DBOS.retrieve_queue_async(self.calendar.queue)
        assert queue is not None
        with SetWorkflowID(key):
            await queue.enqueue_async(_run_workflow, job.model_dump(mode="json"), period.label, key)
        return key

    async def _check_step(self, job_id: str, period_label: str) -> dict[str, Any] | None:
        job = self.calendar.job(job_id)
        trigger = await self._check(job, parse_period(period_label, job.slot_minutes))
        return None if trigger is None else trigger.model_dump(mode="json")

    async def _check(self, job: CadenceJob, period: Period) -> Trigger | None:
        assert job.check is not None
        fn = resolve_check(job.check, self.checks)
        context = CheckContext(job=job, period=period, workspace=self.workspace, now=self.clock())
        return await run_check(fn, context)

    async def _execute(
        self, job_data: dict[str, Any], period_label: str, key: str
    ) -> dict[str, Any]:
        job = CadenceJob.model_validate(job_data)
        last: dict[str, Any] = {}
        attempts = job.retry.max_attempts
        for attempt in range(1, attempts + 1):
            last = await DBOS.run_step_async(
                {"name": f"attempt-{attempt}"}, self._attempt, job_data, period_label, key, attempt
            )
            last["attempts"] = attempt
            if last["status"] != JobStatus.FAILED.value:
                return last
            if attempt < attempts:
                delay = job.retry.delay_after(attempt)
                logger.warning(
                    "%s: attempt %d/%d failed, retrying in %ss: %s",
                    key,
                    attempt,
                    attempts,
                    delay,
                    last.get("error"),
                    extra=_fields(
                        "retry",
                        job.id,
                        period_label,
                        key,
                        attempt=attempt,
                        max_attempts=attempts,
                        delay_s=delay,
                        cause=last.get("error"),
                        run_id=last.get("run_id"),
                    ),
                )
                await DBOS.sleep_async(delay)
        logger.error(
            "%s: failed after %d attempt(s): %s",
            key,
            attempts,
            last.get("error"),
            extra=_fields(
                "failed",
                job.id,
                period_label,
                key,
                attempts=attempts,
                reason=last.get("error"),
                run_id=last.get("run_id"),
            ),
        )
        return last

    async def _attempt(
        self, job_data: dict[str, Any], period_label: str, key: str, attempt: int = 1
    ) -> dict[str, Any]:
        job = CadenceJob.model_validate(job_data)
        period = parse_period(period_label, job.slot_minutes)
        started = time.perf_counter()
        logger.info(
            "%s: attempt %d/%d started",
            key,
            attempt,
            job.retry.max_attempts,
            extra=_fields(
                "attempt",
                job.id,
                period_label,
                key,
                attempt=attempt,
                max_attempts=job.retry.max_attempts,
            ),
        )
        try:
            outcome = await self.runner(job, period, key)
            if not isinstance(outcome, JobOutcome):
                outcome = JobOutcome.model_validate(outcome)
        except Exception as exc:  # a failing job must never stop the worker
            text = f"{type(exc).__name__}: {exc}"[:_ERROR_LIMIT]
            outcome = JobOutcome(status=JobStatus.FAILED, error=text)
        if outcome.finished_at is None:
            outcome = outcome.model_copy(update={"finished_at": self.clock()})
        seconds = round(time.perf_counter() - started, 3)
        fields = _fields(
            "attempt_" + outcome.status.value,
            job.id,
            period_label,
            key,
            attempt=attempt,
            run_id=outcome.run_id,
            duration_s=seconds,
            error=outcome.error,
        )
        if outcome.status is JobStatus.FAILED:
            logger.warning(
                "%s: attempt %d failed in %ss: %s",
                key,
                attempt,
                seconds,
                outcome.error,
                extra=fields,
            )
        else:
            logger.info(
                "%s: attempt %d %s in %ss (run %s)",
                key,
                attempt,
                outcome.status.value,
                seconds,
                outcome.run_id,
                extra=fields,
            )
        return outcome.model_dump(mode="json")

    async def _execute_queued(self, run_data: dict[str, Any]) -> dict[str, Any]:
        """Execute a submitted run: each try a recorded step (a finished try is never
        repeated), tried again while another live process holds the run, and up to
        ``ERROR_ATTEMPTS`` times when executing it raised (e.g. the database was out of
        reach). A run that ran and failed is a result, not retried."""
        run = QueuedRun.model_validate(run_data)
        out: dict[str, Any] = {}
        errors = 0
        for attempt in range(1, BUSY_ATTEMPTS + 1):
            out = await DBOS.run_step_async({"name": f"run-{attempt}"}, self._queued_step, run_data)
            out["attempts"] = attempt
            raised = bool(out.pop("raised", False))
            errors += raised
            if out["status"] != "busy" and not (raised and errors < ERROR_ATTEMPTS):
                return out
            delay = BUSY_RETRY_S if out["status"] == "busy" else ERROR_RETRY_S * errors
            logger.info(
                "run %s: %s; trying again in %ss",
                run.thread_id,
                "executed by another process right now" if out["status"] == "busy" else out["error"],
                delay,
                extra={"event": "run_retry", "run_id": run.thread_id, "attempt": attempt},
            )
            await DBOS.sleep_async(delay)
        return out

    async def _queued_step(self, run_data: dict[str, Any]) -> dict[str, Any]:
        run = QueuedRun.model_validate(run_data)
        fields = {"run_id": run.thread_id, "graph": run.graph, "worker": self.executor_id}
        if self.run_runner is None:
            raise NexusError("this process has no runner for submitted runs")
        started = time.perf_counter()
        logger.info(
            "run %s (%s): started", run.thread_id, run.graph, extra={"event": "run_started", **fields}
        )
        raised = False
        try:
            outcome = await self.run_runner(run)
        except RunBusyError as exc:
            outcome = QueuedOutcome(
                run_id=run.thread_id, graph=run.graph, status="busy", error=str(exc)
            )
        except Exception as exc:  # a failing run must never stop the worker
            text = f"{type(exc).__name__}: {exc}"[:_ERROR_LIMIT]
            outcome = QueuedOutcome(
                run_id=run.thread_id, graph=run.graph, status="failed", error=text
            )
            raised = True
        outcome = outcome.model_copy(
            update={"worker": self.executor_id, "finished_at": outcome.finished_at or self.clock()}
        )
        seconds = round(time.perf_counter() - started, 3)
        logger.log(
            logging.WARNING if outcome.status == "failed" else logging.INFO,
            "run %s (%s): %s in %ss%s",
            run.thread_id,
            run.graph,
            outcome.status,
            seconds,
            f": {outcome.error}" if outcome.error else "",
            extra={"event": "run_" + outcome.status, "duration_s": seconds, **fields},
        )
        return {**outcome.model_dump(mode="json"), "raised": raised}

    # -- helpers -------------------------------------------------------------------

    def _period(self, job: CadenceJob, period: Period | str) -> Period:
        if isinstance(period, str):
            try:
                period = parse_period(period, job.slot_minutes)
            except ValueError as exc:
                raise NexusError(f"job {job.id!r}: {exc}") from None
        if period.kind != job.reports_on:
            raise NexusError(
                f"job {job.id!r} reports on {job.reports_on.value} periods, not {period.kind.value} "
                f"({period.label})"
            )
        return period

    def _record(self, row: Any) -> JobRunRecord:
        job_id, label = split_thread_id(row.workflow_id)
        outcome: JobOutcome | None = None
        if row.status == "SUCCESS" and isinstance(row.output, dict):
            outcome = JobOutcome.model_validate(row.output)
        elif row.status == "ERROR":
            outcome = JobOutcome(status=JobStatus.FAILED, error=str(row.error)[:_ERROR_LIMIT])
        return JobRunRecord(
            thread_id=row.workflow_id,
            job_id=job_id,
            period=label,
            state=str(row.status),
            outcome=outcome,
            created_at=_ms_to_dt(row.created_at),
        )

    def _require_launched(self) -> None:
        if not self._launched:
            raise NexusError("the schedule engine is not launched (call launch() first)")


def _fields(event: str, job: str, period: str, key: str, **more: Any) -> dict[str, Any]:
    """The ``extra`` of a scheduler log line (fields of a JSON log line)."""
    return {"event": event, "job": job, "period": period, "thread_id": key, **more}
