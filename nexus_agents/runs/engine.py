"""Start and resume runs: a run is a LangGraph thread whose checkpoints and records share
one database (the workspace SQLite file, or PostgreSQL when ``database_url`` is one).

``durability="sync"`` makes each finished super-step durable before the next starts, so
a killed process resumes after the last completed step and redoes nothing before it.

While ``start`` or ``resume`` executes a run it holds the run's lease in the run store
(renewed in the background), so a second ``start`` / ``resume`` of the same run, from
this process or another, is refused with ``RunBusyError`` instead of executing it twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

import nexus_agents.tracing as tracing
from nexus_agents.actions.base import Integration
from nexus_agents.exceptions import InputError, RunBusyError, UnknownNameError
from nexus_agents.graphs.approvals import ApprovalDecision, ApprovalRequest, check_decision
from nexus_agents.graphs.errors import ApprovalError
from nexus_agents.graphs.executor import ApprovePolicy, RunContext, StepExecutor
from nexus_agents.graphs.spec import GraphSpec
from nexus_agents.graphs.state import initial_state
from nexus_agents.runs.store import (
    LEASE_TTL_S,
    RunStatus,
    RunStore,
    connect_sqlite,
    database_location,
)
from nexus_agents.runs.traced import traced_run

__all__ = ["Engine", "RunResult"]

RECURSION_LIMIT = 500
logger = logging.getLogger(__name__)


class RunResult(BaseModel):
    """Where a run stands after ``start`` or ``resume`` returned."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    graph: str
    status: RunStatus
    artifacts: dict[str, dict[str, Any]] = Field(default_factory=dict)
    values: dict[str, Any] = Field(default_factory=dict)
    pending: ApprovalRequest | None = None
    usage: dict[str, float] = Field(default_factory=dict)
    error: str | None = None
    failed_actions: dict[str, str] = Field(default_factory=dict)
    """Action steps whose integration could not deliver when the run executed (step ->
    reason); ``nexus actions retry`` sends them again."""


CHECKPOINT_CONNECTIONS = 4  # SQLite connections the checkpoints of concurrent runs spread over


def _sqlite_saver_class() -> type[Any]:
    from nexus_agents.runs.sqlite_saver import OneTripSqliteSaver

    return OneTripSqliteSaver


def _sharded_saver(shards: list[Any]) -> Any:
    """One checkpointer over several savers of the same SQLite file.

    Each run (thread) always uses the same saver, so its checkpoints are written in order
    and committed before the next step as with one connection; different runs no longer
    wait for each other's writes behind a single connection lock.
    """
    import zlib

    from langgraph.checkpoint.base import BaseCheckpointSaver

    def pick(config: Any) -> Any:
        thread = ((config or {}).get("configurable") or {}).get("thread_id")
        if thread is None:
            return shards[0]
        return shards[zlib.crc32(str(thread).encode()) % len(shards)]

    def by_thread(thread_id: Any) -> Any:
        return pick({"configurable": {"thread_id": thread_id}})

    class ShardedSaver(BaseCheckpointSaver[Any]):
        def __init__(self) -> None:
            super().__init__(serde=shards[0].serde)

        def get_next_version(self, current: Any, channel: None) -> Any:
            return shards[0].get_next_version(current, channel)

        def get_tuple(self, config: Any) -> Any:
            return pick(config).get_tuple(config)

        def list(self, config: Any, **kwargs: Any) -> Any:
            return pick(config).list(config, **kwargs)

        def put(self, config: Any, *args: Any) -> Any:
            return pick(config).put(config, *args)

        def put_writes(self, config: Any, *args: Any, **kwargs: Any) -> None:
            pick(config).put_writes(config, *args, **kwargs)

        def delete_thread(self, thread_id: str) -> None:
            by_thread(thread_id).delete_thread(thread_id)

        def get_delta_channel_history(self, *, config: Any, channels: Any) -> Any:
            return pick(config).get_delta_channel_history(config=config, channels=channels)

        async def aget_tuple(self, config: Any) -> Any:
            return await pick(config).aget_tuple(config)

        async def alist(self, config: Any, **kwargs: Any) -> Any:
            async for item in pick(config).alist(config, **kwargs):
                yield item

        async def aput(self, config: Any, *args: Any) -> Any:
            return await pick(config).aput(config, *args)

        async def aput_writes(self, config: Any, *args: Any, **kwargs: Any) -> None:
            await pick(config).aput_writes(config, *args, **kwargs)

        async def adelete_thread(self, thread_id: str) -> None:
            await by_thread(thread_id).adelete_thread(thread_id)

        async def aget_delta_channel_history(self, *, config: Any, channels: Any) -> Any:
            return await pick(config).aget_delta_channel_history(config=config, channels=channels)

    return ShardedSaver()


async def _open_checkpointer(location: Path | SecretStr) -> tuple[Any, list[Any]]:
    """LangGraph's saver for ``location`` and the connections to close after it."""
    if isinstance(location, SecretStr):
        from nexus_agents.runs.postgres import open_checkpointer

        saver, conn = await open_checkpointer(location.get_secret_value())
        return saver, [conn]
    saver_class = _sqlite_saver_class()

    async def shard() -> tuple[Any, Any]:
        conn = await connect_sqlite(location)
        try:
            saver = saver_class(conn)
            await saver.setup()
        except BaseException:
            await conn.close()
            raise
        return saver, conn

    # the first connection creates the tables; the others then open side by side
    opened: list[tuple[Any, Any] | BaseException] = [await shard()]
    opened += await asyncio.gather(
        *(shard() for _ in range(CHECKPOINT_CONNECTIONS - 1)), return_exceptions=True
    )
    failed = [o for o in opened if isinstance(o, BaseException)]
    good = [o for o in opened if not isinstance(o, BaseException)]
    if failed:
        for _, conn in good:
            await conn.close()
        raise failed[0]
    return _sharded_saver([saver for saver, _ in good]), [conn for _, conn in good]


class Engine:
    """Runs graphs for one workspace. Open with ``async with await Engine.open(...)``."""

    def __init__(
        self,
        *,
        specs: Mapping[str, GraphSpec],
        executor: StepExecutor | None,
        store: RunStore,
        checkpointer: Any,
        integration: Integration | None = None,
        auto_approve_policy: ApprovePolicy = "pause",
        config: Any = None,
        owns: list[Any] | None = None,
        lease_ttl_s: float = LEASE_TTL_S,
    ) -> None:
        self.specs = dict(specs)
        self.executor = executor
        self.store = store
        self.checkpointer = checkpointer
        self.integration = integration
        self.auto_approve_policy = auto_approve_policy
        self.config = config
        self._compiled: dict[str, Any] = {}
        self._owns = owns or []
        self.lease_ttl_s = lease_ttl_s

    @classmethod
    async def open(
        cls,
        *,
        specs: Mapping[str, GraphSpec],
        executor: StepExecutor | None,
        workspace: str | Path | None = None,
        db_path: str | Path | None = None,
        integration: Integration | None = None,
        auto_approve_policy: ApprovePolicy = "pause",
        config: Any = None,
    ) -> Engine:
        """Open the run database: ``db_path`` if given, else PostgreSQL when
        ``config.database_url`` is a ``postgresql://`` URL, else
        ``<workspace>/.nexus/nexus.sqlite``.

        Without an ``integration``, actions go to the workspace's files and to the
        webhooks ``config.integrations`` names (``actions.integration_for``).
        """
        location = database_location(config, workspace=workspace, db_path=db_path)
        if integration is None and workspace is not None:
            from nexus_agents.actions import integration_for

            integration = integration_for(config, workspace)
        store = await RunStore.open(location)
        try:
            saver, conns = await _open_checkpointer(location)
        except BaseException:
            await store.close()
            raise
        return cls(
            specs=specs,
            executor=executor,
            store=store,
            checkpointer=saver,
            integration=integration,
            auto_approve_policy=auto_approve_policy,
            config=config,
            owns=[store, *conns],
        )

    async def close(self) -> None:
        for resource in self._owns:
            await resource.close()
        self._owns = []

    async def __aenter__(self) -> Engine:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ---------------------------------------------------------------- public API

    def graph(self, name: str) -> Any:
        """The compiled graph ``name`` (compiled once per engine)."""
        if name not in self._compiled:
            spec = self.specs.get(name)
            if spec is None:
                raise UnknownNameError("graph", name, list(self.specs))
            from nexus_agents.runs.nodes import compile_run_graph

            self._compiled[name] = compile_run_graph(
                spec, self.executor, checkpointer=self.checkpointer, specs=self.specs
            )
        return self._compiled[name]

    async def start(
        self,
        graph_name: str,
        inputs: Mapping[str, Any] | None = None,
        thread_id: str | None = None,
        *,
        period: str | None = None,
        job: str | None = None,
        unattended: bool | None = None,
        prepared: bool = False,
    ) -> RunResult:
        """Start a run. A known ``thread_id`` (e.g. ``JOB:PERIOD``) is never run twice:
        a finished or waiting run is returned as is, an interrupted one is resumed, one
        being executed right now raises ``RunBusyError``.

        ``prepared``: the caller already called the executor's ``prepare_run`` for this
        new run (e.g. while the engine opened), so it is not called again."""
        graph = self.graph(graph_name)
        run_id = thread_id or uuid.uuid4().hex
        async with self._lease(run_id):
            # only a given thread id can name a run that exists already
            existing = await self.store.get_run(run_id) if thread_id is not None else None
            if existing is not None:
                if existing.graph != graph_name:
                    raise InputError(
                        f"run {run_id!r} belongs to graph {existing.graph!r}, not {graph_name!r}"
                    )
                if existing.status in ("running", "failed", "interrupted"):
                    return await self._resume(run_id, None, None, None)
                return await self.result(run_id)
            policy: ApprovePolicy = self.auto_approve_policy
            if unattended is not None:
                policy = "timeout_default" if unattended else "pause"
            await self.store.create_run(
                run_id, graph_name, job=job, period=period, inputs=dict(inputs or {}), policy=policy
            )
            state = initial_state(dict(inputs or {}), period)
            if not prepared:
                self._prepare(graph_name, state)
            return await self._drive(graph, run_id, graph_name, policy, state, new_run=True)

    async def resume(
        self,
        run_id: str,
        decision: str | None = None,
        note: str | None = None,
        *,
        decided_by: str | None = None,
    ) -> RunResult:
        """Continue a run from its last checkpoint: after a crash, or with an approval decision.

        Raises ``RunBusyError`` while another ``start`` / ``resume`` executes the run."""
        async with self._lease(run_id):
            return await self._resume(run_id, decision, note, decided_by)

    async def _resume(
        self, run_id: str, decision: str | None, note: str | None, decided_by: str | None
    ) -> RunResult:
        from langgraph.types import Command

        record = await self.store.get_run(run_id)
        if record is None:
            raise UnknownNameError("run", run_id)
        if record.status == "cancelled":
            raise ApprovalError(f"run {run_id!r} was cancelled; start a new run instead")
        if record.status == "succeeded":
            if decision is not None:
                raise ApprovalError(f"run {run_id!r} has finished; there is nothing to decide")
            return await self.result(run_id)
        graph = self.graph(record.graph)
        policy: ApprovePolicy = "timeout_default" if record.policy == "timeout_default" else "pause"
        if record.status == "waiting_approval":
            pending = ApprovalRequest.model_validate(
                {k: v for k, v in (record.pending or {}).items() if k != "interrupt_id"}
            )
            if decision is None:
                raise ApprovalError(
                    f"run {run_id!r} waits for approval {pending.approval_id!r}: "
                    f"give a decision ({', '.join(pending.options)})"
                )
            chosen = check_decision(
                pending.options,
                pending.approval_id,
                ApprovalDecision(decision=decision, note=note, decided_by=decided_by),
            )
            value = chosen.model_dump()
            interrupt_id = (record.pending or {}).get("interrupt_id")
            command = Command(resume={interrupt_id: value} if interrupt_id else value)
            await self.store.set_status(run_id, "running")
            self._prepare(record.graph, initial_state(dict(record.inputs), record.period))
            return await self._drive(graph, run_id, record.graph, policy, command)
        if decision is not None:
            raise ApprovalError(f"run {run_id!r} is not waiting for an approval")
        await self.store.set_status(run_id, "running")
        self._prepare(record.graph, initial_state(dict(record.inputs), record.period))
        return await self._drive(graph, run_id, record.graph, policy, None)

    async def expire_approvals(self, now: datetime | None = None) -> list[RunResult]:
        """Resume every run whose approval deadline passed with that approval's ``on_timeout``."""
        moment = now or datetime.now(UTC)
        results = []
        for record in await self.store.list_runs(status="waiting_approval", limit=10_000):
            pending = record.pending or {}
            deadline = pending.get("deadline")
            if deadline and datetime.fromisoformat(deadline) <= moment:
                try:
                    results.append(
                        await self.resume(
                            record.run_id,
                            pending["on_timeout"],
                            "no decision before the deadline",
                            decided_by="policy:timeout",
                        )
                    )
                except RunBusyError:
                    continue  # someone is deciding it right now
        return results

    async def result(self, run_id: str) -> RunResult:
        record = await self.store.get_run(run_id)
        if record is None:
            raise UnknownNameError("run", run_id)
        values: dict[str, Any] = {}
        if record.graph in self.specs:
            snapshot = await self.graph(record.graph).aget_state(self._config(run_id))
            values = dict(snapshot.values or {})
        result = _result(run_id, record.graph, record.status, values, record.pending, record.error)
        return await self._with_recorded_usage(result)

    async def _with_recorded_usage(self, result: RunResult) -> RunResult:
        """``result`` with the usage of every model call the store recorded for the run:
        across resumes, and the calls of failed steps and their repair rounds included
        (the graph state only sums the steps that finished)."""
        totals = await self.store.usage_totals(result.run_id)
        if not totals.get("calls"):
            return result  # an executor that reports usage without per-call records
        return result.model_copy(update={"usage": {k: float(v) for k, v in totals.items()}})

    # ------------------------------------------------------------------ internals

    @contextlib.asynccontextmanager
    async def _lease(self, run_id: str) -> AsyncIterator[None]:
        """Hold ``run_id``'s lease (renewed in the background) while the body executes it;
        released on every way out, an error or a cancellation included."""
        lease = await self.store.acquire_lease(run_id, ttl_s=self.lease_ttl_s)
        if self.executor is not None:
            self.executor.forget_run(run_id)  # another process may have spent budget since
        heartbeat = asyncio.create_task(self._renew(lease), name=f"lease:{run_id}")
        try:
            yield
        finally:
            heartbeat.cancel()
            with contextlib.suppress(BaseException):
                await heartbeat
            try:
                await self.store.release_lease(lease)
            except Exception as exc:  # the lease then expires on its own
                logger.warning("run %s: could not release its lease: %s", run_id, exc)

    async def _renew(self, lease: Any) -> None:
        while True:
            await asyncio.sleep(self.lease_ttl_s / 3)
            try:
                if not await self.store.renew_lease(lease, ttl_s=self.lease_ttl_s):
                    logger.warning(
                        "run %s: its lease was taken over (this process stalled past"
                        " its expiry); another process may execute it now",
                        lease.run_id,
                    )
                    return
            except Exception as exc:
                logger.warning("run %s: could not renew its lease: %s", lease.run_id, exc)

    def _prepare(self, graph_name: str, state: Mapping[str, Any]) -> None:
        """Let the executor start work for the run's steps early (e.g. their facts)."""
        if self.executor is not None:
            self.executor.prepare_run(self.specs[graph_name], dict(state))

    @staticmethod
    def _config(run_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": run_id}, "recursion_limit": RECURSION_LIMIT}

    async def _drive(
        self,
        graph: Any,
        run_id: str,
        graph_name: str,
        policy: ApprovePolicy,
        payload: Any,
        *,
        new_run: bool = False,
    ) -> RunResult:
        ctx = RunContext(
            run_id=run_id,
            graph=graph_name,
            store=self.store,
            integration=self.integration,
            auto_approve_policy=policy,
            config=self.config,
            new_run=new_run,
        )
        traced = (
            traced_run(self.store, run_id, graph_name, new_run=new_run)
            if tracing.enabled()
            else contextlib.nullcontext(tracing.OFF)
        )
        async with traced as span:
            try:
                # the final state; with an open approval it also carries "__interrupt__"
                # (a run that stopped any other way raised, e.g. on the recursion limit)
                out = await graph.ainvoke(
                    payload, self._config(run_id), context=ctx, durability="sync"
                )
            except Exception as exc:
                tracing.run_failed(exc)
                await self.store.set_status(run_id, "failed", error=str(exc) or type(exc).__name__)
                result = await self.result(run_id)
            except (asyncio.CancelledError, KeyboardInterrupt):
                # Ctrl-C / SIGTERM: the last completed step is checkpointed; resume goes on there
                await asyncio.shield(self.store.set_status(run_id, "interrupted"))
                raise
            else:
                values = dict(out or {})
                interrupts = values.pop("__interrupt__", None) or []
                status: RunStatus = "succeeded"
                pending: dict[str, Any] | None = None
                if interrupts:
                    first = interrupts[0]
                    status, pending = (
                        "waiting_approval",
                        {**dict(first.value), "interrupt_id": first.id},
                    )
                await self.store.set_status(run_id, status, pending=pending)
                result = await self._with_recorded_usage(
                    _result(run_id, graph_name, status, values, pending, None)
                )
            span.run_result(result.status, result.error, result.usage)
            return result


def _result(
    run_id: str,
    graph: str,
    status: RunStatus,
    values: dict[str, Any],
    pending: dict[str, Any] | None,
    error: str | None,
) -> RunResult:
    request = None
    if pending:
        request = ApprovalRequest.model_validate(
            {k: v for k, v in pending.items() if k != "interrupt_id"}
        )
    return RunResult(
        run_id=run_id,
        graph=graph,
        status=status,
        artifacts=dict(values.get("artifacts") or {}),
        values=dict(values.get("values") or {}),
        pending=request,
        usage=dict(values.get("usage") or {}),
        error=error,
        failed_actions={
            str(e["step"]): str(e.get("reason") or "")
            for e in values.get("events") or []
            if e.get("event") == "action_failed"
        },
    )
