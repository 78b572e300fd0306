"""``Nexus``: the public entry point for one workspace.

Every method has an async form (``a``-prefixed) and a sync wrapper. A run is a LangGraph
thread persisted in the workspace database; ``resume`` continues it after a crash or
with an approval decision.

The async methods share one ``Engine`` (run database + checkpointer) per ``Nexus`` and
event loop, opened on first use; close it with ``await nexus.aclose()`` or
``async with nexus:``. It is also closed when its event loop shuts down (``asyncio.run``
returning), so each sync call opens and closes its own.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from nexus_agents.config import NexusConfig, load_config
from nexus_agents.exceptions import NexusError
from nexus_agents.llm.interface import ChatModel
from nexus_agents.periods import Period, PeriodKind, parse_period, period_containing
from nexus_agents.untrusted_text import cut_strings

if TYPE_CHECKING:
    from nexus_agents.actions.base import Integration
    from nexus_agents.agents.roster import Roster
    from nexus_agents.data.workspace import Workspace
    from nexus_agents.graphs.spec import GraphSpec
    from nexus_agents.runs.alert_runs import AlertOutcome, InFlight
    from nexus_agents.runs.engine import Engine, RunResult
    from nexus_agents.runs.store import ArtifactRecord, RunRecord
    from nexus_agents.runtime.agent_runner import AgentOutcome
    from nexus_agents.runtime.executor import AgentExecutor, ProgressListener
    from nexus_agents.runtime.lookahead import FactsLookahead
    from nexus_agents.schedule.engine import ScheduleEngine
    from nexus_agents.schedule.jobs import CadenceJob, JobOutcome
    from nexus_agents.schedule.queued import QueuedOutcome, QueuedRun, QueuedRunner, Submission
    from nexus_agents.schedule.runner import JobRunner
    from nexus_agents.tools.kpis import KPIReport

T = TypeVar("T")

# Which period a graph reports on when the caller gives none: (kind, previous?).
DEFAULT_PERIODS: dict[str, tuple[PeriodKind, bool]] = {
    "improvement_loop": (PeriodKind.WEEK, True),
    "feature_cycle": (PeriodKind.WEEK, False),
    "incident_response": (PeriodKind.DAY, False),
    "growth_review": (PeriodKind.MONTH, True),
    "content_ops": (PeriodKind.MONTH, True),
    "financial_review": (PeriodKind.MONTH, True),
    "compliance_check": (PeriodKind.MONTH, True),
    "strategic_review": (PeriodKind.QUARTER, True),
    "preconditions": (PeriodKind.DAY, False),
}


def _sync(coro: Coroutine[Any, Any, T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    coro.close()
    raise NexusError("called a sync Nexus method inside an event loop; use the 'a'-prefixed twin")


class Nexus:
    """The operations team of one workspace."""

    def __init__(
        self,
        config: NexusConfig,
        *,
        model: ChatModel | None = None,
        integration: Integration | None = None,
        listeners: list[ProgressListener] | None = None,
        db_path: str | Path | None = None,
    ) -> None:
        self.config = config
        self._model = model
        self._owns_model = model is None  # a model built here is closed here
        self.integration = integration
        self.listeners = list(listeners or [])
        self.db_path = Path(db_path) if db_path else None
        self._shared: _SharedEngine | None = None
        self._alerts_in_flight: dict[str, InFlight] = {}  # alert key -> the run being started
        self._queue: ScheduleEngine | None = None  # launched by submit, for this Nexus

    @classmethod
    def from_workspace(
        cls,
        path: str | Path | None = None,
        *,
        model: ChatModel | None = None,
        env: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Nexus:
        return cls(load_config(path, env=env, overrides=overrides), model=model, **kwargs)

    # ------------------------------------------------------------------ parts

    @cached_property
    def workspace(self) -> Workspace:
        from nexus_agents.data.workspace import Workspace

        return Workspace(self.config.workspace, self.config)

    @cached_property
    def roster(self) -> Roster:
        from nexus_agents.agents.roster import load_roster

        return load_roster([self.config.workspace / "prompts"])

    @cached_property
    def specs(self) -> dict[str, GraphSpec]:
        from nexus_agents.graphs.loader import load_graph_specs

        return load_graph_specs([self.config.workspace / "graphs"])

    @property
    def model(self) -> ChatModel:
        if self._model is None:
            from nexus_agents.llm.factory import build_chat_model

            self._model = build_chat_model(self.config)
        return self._model

    def default_period(self, graph: str, now: datetime | None = None) -> Period:
        kind, previous = DEFAULT_PERIODS.get(graph, (PeriodKind.DAY, False))
        moment = now or self.workspace.now()
        period = period_containing(kind, moment)
        return period.previous() if previous else period

    def executor(self) -> AgentExecutor:
        """The step executor that runs this workspace's agents with this Nexus' model."""
        from nexus_agents.runtime.executor import AgentExecutor

        return AgentExecutor(
            config=self.config,
            workspace=self.workspace,
            roster=self.roster,
            model_factory=lambda: self.model,
            listeners=self.listeners,
            shared_lookahead=self._lookahead,
        )

    @cached_property
    def _lookahead(self) -> FactsLookahead:
        from nexus_agents.runtime.lookahead import FactsLookahead

        return FactsLookahead(self.workspace, self.roster)

    def _prefetch_data(self) -> None:
        """On the first run of this workspace in the process, load its tables in a thread
        while the engine opens and the first steps start (they then find them loaded)."""
        workspace = self.workspace
        if workspace.loaded or not workspace.data_dir.is_dir():
            return
        loading = asyncio.get_running_loop().run_in_executor(None, workspace.prefetch)
        # a malformed file is reported by the step that reads it, with file, line and column
        loading.add_done_callback(lambda done: done.cancelled() or done.exception())

    async def _engine(self, unattended: bool = False) -> Engine:
        """A new engine with its own executor (the caller closes it)."""
        from nexus_agents.runs.engine import Engine

        executor = self.executor()
        return await Engine.open(
            specs=self.specs,
            executor=executor,
            workspace=self.config.workspace,
            db_path=self.db_path,
            integration=self.integration,
            auto_approve_policy="timeout_default" if unattended else "pause",
            config=self.config,
        )

    @asynccontextmanager
    async def _using_engine(self) -> AsyncIterator[Engine]:
        """The engine shared on this event loop (opened on first use).

        When another loop (another thread) holds the shared engine, this call gets a
        private one for its duration.
        """
        loop = asyncio.get_running_loop()
        shared = self._shared
        if shared is not None and shared.loop is not loop and shared.loop.is_closed():
            shared = self._shared = None  # its loop ended; the loop's shutdown closed it
        if shared is None:
            # a weak method: the shared engine must not keep this Nexus alive (see below)
            close_model = weakref.WeakMethod(self._close_model)

            async def also_close() -> None:
                method = close_model()
                if method is not None:
                    await method()

            shared = self._shared = _SharedEngine(loop, also_close)
            # a Nexus dropped without aclose leaves its engine to the next opener or the loop
            weakref.finalize(self, shared.orphan)
        if shared.loop is loop:
            yield await shared.get(self._engine)
            return
        async with await self._engine() as engine:
            yield engine

    async def aclose(self) -> None:
        """Close the shared engine, if one is open, the run queue ``submit`` connected to,
        and the HTTP client of the model this ``Nexus`` built (the next call opens new ones)."""
        shared, self._shared = self._shared, None
        if shared is not None:
            await shared.close()
        if self._queue is not None:
            await asyncio.to_thread(self.close_queue)
        await self._close_model()

    async def _close_model(self) -> None:
        """Close the running loop's HTTP client of a model built by this ``Nexus``."""
        close = getattr(self._model, "aclose", None) if self._owns_model else None
        if close is not None:
            await close()

    async def __aenter__(self) -> Nexus:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _release(self, engine: Engine, run_id: str) -> None:
        if engine.executor is not None:
            engine.executor.forget_run(run_id)  # budgets are re-read on the next resume

    # ------------------------------------------------------------------ runs

    async def arun(
        self,
        graph: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        period: str | None = None,
        thread_id: str | None = None,
        unattended: bool = False,
        job: str | None = None,
    ) -> RunResult:
        """Run ``graph`` once; returns when it finished, failed or waits for an approval.

        Every string in ``inputs`` is cut to ``INPUT_LIMIT`` characters first."""
        data = dict(cut_strings(dict(inputs or {})))
        label = period or data.get("period") or self.default_period(graph).label
        parse_period(str(label))  # a bad label fails here, before anything is written
        data["period"] = str(label)
        self._prefetch_data()
        spec = self.specs.get(graph)
        prepared = False
        if spec is not None and thread_id is None:
            # a new run: start the facts of its agent steps now, while the engine opens
            # (the engine then does not prepare the run again)
            from nexus_agents.graphs.state import initial_state

            self.executor().prepare_run(spec, dict(initial_state(data, str(label))))
            prepared = True
        async with self._using_engine() as engine:
            result = await engine.start(
                graph,
                data,
                thread_id=thread_id,
                period=str(label),
                job=job,
                unattended=unattended,
                prepared=prepared,
            )
            self._release(engine, result.run_id)
            return result

    def run(self, graph: str, inputs: Mapping[str, Any] | None = None, **kwargs: Any) -> RunResult:
        return _sync(self.arun(graph, inputs, **kwargs))

    async def arun_loop_iteration(
        self, *, period: str | None = None, unattended: bool = False
    ) -> RunResult:
        """One iteration of measure -> analyze -> plan -> build <-> validate -> deploy."""
        return await self.arun("improvement_loop", period=period, unattended=unattended)

    def run_loop_iteration(self, **kwargs: Any) -> RunResult:
        return _sync(self.arun_loop_iteration(**kwargs))

    async def areceive_alerts(
        self, payload: Any, *, source: str = "nexus", unattended: bool = False
    ) -> list[AlertOutcome]:
        """Act on a monitoring system's webhook payload (``source``: alertmanager, grafana,
        pagerduty or nexus): a firing alert starts one incident run per alert key, a
        repeat while that run is open starts nothing, a resolved alert closes it. A bad
        payload raises ``DataError`` naming the field, before anything is started."""
        from nexus_agents.runs.alert_runs import receive_alerts

        async def start(thread_id: str, alert: dict[str, Any]) -> RunResult:
            return await self.arun(
                "incident_response", {"alert": alert}, thread_id=thread_id, unattended=unattended
            )

        moments = [datetime.now(UTC), self.workspace.now()]
        async with self._using_engine() as engine:
            return await receive_alerts(
                engine.store,
                payload,
                source=source,
                start=start,
                now=moments,
                tz=self.workspace.tz,
                in_flight=self._alerts_in_flight,
            )

    def receive_alerts(self, payload: Any, **kwargs: Any) -> list[AlertOutcome]:
        return _sync(self.areceive_alerts(payload, **kwargs))

    async def aresume(
        self,
        run_id: str,
        decision: str | None = None,
        note: str | None = None,
        *,
        decided_by: str | None = None,
    ) -> RunResult:
        async with self._using_engine() as engine:
            try:
                return await engine.resume(run_id, decision, note, decided_by=decided_by)
            finally:
                self._release(engine, run_id)

    def resume(
        self, run_id: str, decision: str | None = None, note: str | None = None, **kwargs: Any
    ) -> RunResult:
        return _sync(self.aresume(run_id, decision, note, **kwargs))

    async def aresult(self, run_id: str) -> RunResult:
        async with self._using_engine() as engine:
            return await engine.result(run_id)

    async def alist_runs(
        self, *, job: str | None = None, graph: str | None = None, limit: int = 50
    ) -> list[RunRecord]:
        async with await self._store() as store:
            return await store.list_runs(job=job, graph=graph, limit=limit)

    def list_runs(self, **kwargs: Any) -> list[RunRecord]:
        return _sync(self.alist_runs(**kwargs))

    async def alatest_artifact(self, kind: str) -> ArtifactRecord | None:
        from nexus_agents.artifacts.registry import get_artifact

        async with await self._store() as store:
            return await store.latest_artifact(get_artifact(kind).kind)

    def latest_artifact(self, kind: str) -> ArtifactRecord | None:
        return _sync(self.alatest_artifact(kind))

    async def _store(self) -> Any:
        from nexus_agents.runs.store import RunStore, database_location

        return await RunStore.open(database_location(self.config, db_path=self.db_path))

    # ------------------------------------------------------------------ the run queue

    def submit(
        self,
        graph: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        period: str | None = None,
        thread_id: str | None = None,
        unattended: bool = False,
    ) -> Submission:
        """Queue a run of ``graph`` for any ``nexus worker`` sharing this workspace's
        database (PostgreSQL for several machines); returns at once with its run id.

        The run id is ``thread_id``, or one derived from graph, period and inputs, so
        submitting the same run twice queues it once (``already_submitted``). Wait for
        it with ``wait_submitted``. Every string in ``inputs`` is cut as ``run`` does."""
        from nexus_agents.exceptions import UnknownNameError
        from nexus_agents.schedule.queued import QueuedRun, derived_thread_id

        if graph not in self.specs or graph == "cadences":
            raise UnknownNameError("graph", graph, [n for n in self.specs if n != "cadences"])
        data = dict(cut_strings(dict(inputs or {})))
        label = str(period or data.get("period") or self.default_period(graph).label)
        parse_period(label)  # a bad label fails here, before anything is queued
        data["period"] = label
        run = QueuedRun(
            graph=graph,
            thread_id=thread_id or derived_thread_id(graph, label, data),
            period=label,
            inputs=data,
            unattended=unattended,
        )
        return self._queue_engine().submit(run)

    async def asubmit(self, graph: str, inputs: Mapping[str, Any] | None = None, **kwargs: Any) -> Submission:
        return await asyncio.to_thread(self.submit, graph, inputs, **kwargs)

    def submission(self, run_id: str) -> Submission | None:
        """Where a submitted run stands (None: never submitted)."""
        return self._queue_engine().submission(run_id)

    def wait_submitted(self, run_id: str) -> RunResult:
        """Block until a worker finished the submitted run ``run_id``; its result."""
        return _sync(self.await_submitted(run_id))

    async def await_submitted(self, run_id: str) -> RunResult:
        from nexus_agents.exceptions import UnknownNameError

        # the engine's DBOS calls must not run on an event loop (it may launch here)
        outcome = await asyncio.to_thread(lambda: self._queue_engine().wait_submitted(run_id))
        try:
            if outcome.status == "busy":
                raise UnknownNameError("run", run_id)
            return await self.aresult(run_id)
        except UnknownNameError:
            raise NexusError(
                f"submitted run {run_id!r} was not executed ({outcome.status}): {outcome.error}"
            ) from None

    def close_queue(self) -> None:
        """Disconnect from the run queue (if ``submit`` connected this Nexus to it)."""
        engine, self._queue = self._queue, None
        if engine is not None:
            engine.shutdown()

    def _queue_engine(self) -> ScheduleEngine:
        """The process's launched schedule engine (a worker's), else one for this Nexus."""
        from nexus_agents.schedule.engine import ScheduleEngine, active_engine

        found = active_engine()
        if found is not None:
            return found
        engine = ScheduleEngine.from_config(self.config, _no_job_runner, role="admin")
        engine.launch()
        self._queue = engine
        return engine

    async def arun_queued(self, run: QueuedRun) -> QueuedOutcome:
        """Execute one submitted run (a worker's job): start it, or resume it from its
        last checkpoint when another worker died in the middle of it."""
        from nexus_agents.schedule.queued import QueuedOutcome

        result = await self.arun(
            run.graph,
            run.inputs,
            period=run.period,
            thread_id=run.thread_id,
            unattended=run.unattended,
        )
        return QueuedOutcome(
            run_id=result.run_id,
            graph=result.graph,
            status=result.status,
            error=result.error,
            finished_at=datetime.now(UTC),
        )

    # ------------------------------------------------------------------ one agent

    async def aask(
        self, agent: str, *, period: str | None = None, inputs: Mapping[str, Any] | None = None
    ) -> AgentOutcome:
        """Run one agent once for a period and return its artifact (not stored as a run).

        It is the agent step of a graph, run outside any run (``AgentExecutor.ask``)."""
        from nexus_agents.graphs.spec import AgentStep

        spec = self.roster.get(agent)
        label = period or self.default_period("cadence_run").label
        parse_period(label)  # a bad label fails here, before any work
        state: dict[str, Any] = {
            "inputs": dict(cut_strings(dict(inputs or {}))),
            "period": label,
            "values": {},
            "artifacts": {},
        }
        step = AgentStep(id=spec.slug, agent=spec.slug, task=f"Write the report for {label}.")
        return await self.executor().ask(step, state)  # type: ignore[arg-type]

    def ask(self, agent: str, **kwargs: Any) -> AgentOutcome:
        return _sync(self.aask(agent, **kwargs))

    # ------------------------------------------------------------------ data

    def kpis(self, period: str | None = None, as_of: datetime | None = None) -> KPIReport:
        from nexus_agents.tools.kpis import compute_kpis, last_complete_month

        moment = as_of or self.workspace.now()
        the_period = parse_period(period) if period else last_complete_month(moment)
        return compute_kpis(self.workspace, the_period, moment)

    # ------------------------------------------------------------------ scheduler

    async def arun_job(self, job: CadenceJob, period: Period, thread_id: str) -> JobOutcome:
        """Run one scheduled job for one period under the idempotent ``thread_id``."""
        from nexus_agents.schedule.jobs import JobOutcome, JobStatus

        inputs: dict[str, Any] = {"period": period.label}
        if job.agent:
            inputs["agent"] = job.agent
        if job.output:
            inputs["output"] = job.output
        if job.trigger is not None:
            inputs["trigger"] = job.trigger.model_dump(mode="json")
        result = await self.arun(
            job.graph, inputs, period=period.label, thread_id=thread_id, unattended=True, job=job.id
        )
        status = JobStatus.SUCCEEDED if result.status == "succeeded" else JobStatus.FAILED
        return JobOutcome(
            status=status,
            run_id=result.run_id,
            error=result.error if status is JobStatus.FAILED else None,
            finished_at=datetime.now(UTC),
        )



# ---------------------------------------------------------------------- wiring for below
# The lower layers never reach up for these: the scheduler's worker, LangGraph's entry
# (``nexus_agents.langgraph_entry``) and the CLI get them from here and pass them down.


def default_executor(workspace: str | Path | None = None) -> AgentExecutor:
    """The step executor of the workspace ``workspace`` (default: ``NEXUS_WORKSPACE`` or
    the current folder), as a ``Nexus`` of it builds it."""
    return Nexus.from_workspace(workspace).executor()


def default_runner(workspace: str | Path) -> JobRunner:
    """The scheduler's job runner for ``workspace``: its ``Nexus.arun_job``."""
    runner: JobRunner = Nexus.from_workspace(Path(workspace)).arun_job
    return runner


def default_runners(workspace: str | Path) -> tuple[JobRunner, QueuedRunner]:
    """A worker's two runners (cadence jobs, submitted runs), on one ``Nexus`` so they
    share its engine and model client."""
    nx = Nexus.from_workspace(Path(workspace))
    jobs: JobRunner = nx.arun_job
    runs: QueuedRunner = nx.arun_queued
    return jobs, runs


async def _no_job_runner(job: CadenceJob, period: Period, thread_id: str) -> JobOutcome:
    # pragma: no cover - an admin engine never runs jobs
    raise NexusError("this process only submits runs; it does not run jobs")


class _SharedEngine:
    """One lazily opened engine bound to one event loop.

    A started async generator keeps the engine and a per-loop registry keeps that
    generator alive, so ``asyncio.run`` (or any loop owner calling ``shutdown_asyncgens``)
    closes the engine on its own loop when the loop ends, even without ``aclose``. The
    engine of a ``Nexus`` that was garbage-collected unclosed is closed by the next engine
    opened on the same loop.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        also_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.loop = loop
        self.also_close = also_close  # closed with the engine (e.g. the model's HTTP client)
        self.orphaned = False
        self._lock = asyncio.Lock()
        self._engine: Engine | None = None
        self._keeper: AsyncIterator[None] | None = None

    def orphan(self) -> None:
        self.orphaned = True

    async def get(self, open_engine: Callable[[], Awaitable[Engine]]) -> Engine:
        if self._engine is not None:
            return self._engine
        async with self._lock:
            if self._engine is None:
                live = _LIVE.setdefault(self.loop, set())
                for stale in [s for s in live if s.orphaned]:
                    await stale.close()
                engine = await open_engine()
                keeper = self._keep()
                await anext(keeper)
                self._engine, self._keeper = engine, keeper
                live.add(self)
        return self._engine

    async def _keep(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await self._close_engine()

    async def _close_engine(self) -> None:
        engine, self._engine = self._engine, None
        _LIVE.get(self.loop, set()).discard(self)
        if engine is not None:
            try:
                await engine.close()
            finally:
                if self.also_close is not None:
                    await self.also_close()

    async def close(self) -> None:
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            await keeper.aclose()  # runs _keep's finally: closes the engine
        await self._close_engine()


# open shared engines per event loop (see _SharedEngine)
_LIVE: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, set[_SharedEngine]] = (
    weakref.WeakKeyDictionary()
)
