"""Run records: in the workspace SQLite file, or in PostgreSQL when ``database_url`` says so.

Tables: ``runs`` (one row per run / thread), ``events`` (node started / finished),
``usage`` (one row per model call), ``artifacts`` (one complete artifact per step),
``actions`` (executed side effects, keyed for idempotency) and ``run_leases`` (who is
executing a run right now, so two processes never execute the same run at once).

One ``RunStore`` holds all SQL (written with ``?`` placeholders) and the row mapping; a
small ``Database`` adapter per backend runs it. ``Dialect`` carries what differs in the
schema: column types, the auto-numbered key and the column giving insertion order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import sqlite3
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol, TypeVar

import aiosqlite
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from nexus_agents.exceptions import RunBusyError
from nexus_agents.llm.call_record import UsageRecord

__all__ = [
    "SQLITE",
    "ActionRecord",
    "ArtifactRecord",
    "Database",
    "Dialect",
    "EventRecord",
    "LeaseRecord",
    "RunRecord",
    "RunStatus",
    "RunStore",
    "SqliteDatabase",
    "UsageRecord",
    "connect_sqlite",
    "database_location",
    "default_db_path",
    "schema_statements",
]

# "interrupted": stopped by Ctrl-C / SIGTERM, resumable; "cancelled": stopped for good, by a
# person (`runs cancel`) or because its alert resolved; never resumed
RunStatus = Literal[
    "running", "waiting_approval", "succeeded", "failed", "interrupted", "cancelled"
]
BUSY_TIMEOUT_S = 60.0
_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}",
    "PRAGMA synchronous=NORMAL",
)
_T = TypeVar("_T")
LEASE_TTL_S = 60.0  # a lease not renewed for this long may be taken over from any host
# Identifies this process in a lease, so a later process that got the same pid (a restarted
# container) is not mistaken for the holder.
_PROCESS = uuid.uuid4().hex
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dialect:
    """What the schema spells differently per backend."""

    name: str
    serial_key: str  # an auto-numbered primary key column type
    integer: str
    real: str
    order_column: str  # gives insertion order in ``runs`` and ``artifacts``
    order_decl: str  # declares ``order_column`` when the backend has no implicit one


SQLITE = Dialect(
    name="sqlite",
    serial_key="INTEGER PRIMARY KEY AUTOINCREMENT",
    integer="INTEGER",
    real="REAL",
    order_column="rowid",
    order_decl="",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    graph TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    updated_at TEXT NOT NULL,
    error TEXT,
    job TEXT,
    period TEXT,
    inputs TEXT NOT NULL DEFAULT '{{}}',
    pending TEXT,
    policy TEXT NOT NULL DEFAULT 'pause'{order_decl}
);
CREATE INDEX IF NOT EXISTS runs_by_job ON runs (job, started_at);
CREATE INDEX IF NOT EXISTS runs_by_graph ON runs (graph, started_at);
CREATE TABLE IF NOT EXISTS events (
    id {serial_key},
    run_id TEXT NOT NULL,
    step TEXT NOT NULL,
    event TEXT NOT NULL,
    agent TEXT,
    at TEXT NOT NULL,
    duration_ms {real},
    detail TEXT
);
CREATE INDEX IF NOT EXISTS events_by_run ON events (run_id, id);
CREATE TABLE IF NOT EXISTS usage (
    id {serial_key},
    run_id TEXT NOT NULL,
    step TEXT NOT NULL,
    agent TEXT,
    model TEXT,
    prompt_tokens {integer} NOT NULL DEFAULT 0,
    completion_tokens {integer} NOT NULL DEFAULT 0,
    total_tokens {integer} NOT NULL DEFAULT 0,
    cost_usd {real} NOT NULL DEFAULT 0,
    latency_ms {real} NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'ok',
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_by_run ON usage (run_id);
CREATE TABLE IF NOT EXISTS artifacts (
    run_id TEXT NOT NULL,
    step TEXT NOT NULL,
    kind TEXT,
    json TEXT NOT NULL,
    markdown TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (run_id, step){order_decl}
);
CREATE INDEX IF NOT EXISTS artifacts_by_kind ON artifacts (kind, created_at);
CREATE TABLE IF NOT EXISTS run_leases (
    run_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid {integer} NOT NULL,
    process TEXT NOT NULL,
    since TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS actions (
    key TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    step TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    result TEXT,
    executed_at TEXT NOT NULL
);
"""


def schema_statements(dialect: Dialect) -> list[str]:
    """The ``CREATE ... IF NOT EXISTS`` statements of the run tables for ``dialect``."""
    text = _SCHEMA.format(
        serial_key=dialect.serial_key,
        integer=dialect.integer,
        real=dialect.real,
        order_decl=dialect.order_decl,
    )
    return [stmt.strip() for stmt in text.split(";") if stmt.strip()]


class Database(Protocol):
    """A connection that runs ``?``-placeholder SQL and returns rows as dicts."""

    dialect: Dialect

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    async def execute_batch(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Run ``statements`` in one transaction: all of them are committed or none."""
        ...

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None: ...

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...

    async def create_schema(self, statements: Sequence[str]) -> None: ...

    async def close(self) -> None: ...


def _now() -> str:
    return datetime.now(UTC).isoformat()


def default_db_path(workspace: str | Path) -> Path:
    return Path(workspace) / ".nexus" / "nexus.sqlite"


def database_location(
    config: Any = None,
    *,
    workspace: str | Path | None = None,
    db_path: str | Path | None = None,
) -> Path | SecretStr:
    """Where runs live: an explicit ``db_path``, else a PostgreSQL ``config.database_url``,
    else ``<workspace>/.nexus/nexus.sqlite`` (also when ``database_url`` is a ``sqlite:``
    URL, which only the scheduler's DBOS database uses)."""
    from nexus_agents.runs.postgres import is_postgres_url

    if db_path is not None:
        return Path(db_path)
    url = getattr(config, "database_url", None)
    if isinstance(url, SecretStr):
        if is_postgres_url(url.get_secret_value()):
            return url
        if not url.get_secret_value().startswith("sqlite:"):  # sqlite: is for DBOS only
            from nexus_agents.exceptions import ConfigError

            raise ConfigError("database_url / NEXUS_DATABASE_URL must be a postgresql:// URL")
    folder = workspace if workspace is not None else getattr(config, "workspace", None)
    if folder is None:
        raise ValueError("give a workspace or a db_path")
    return default_db_path(folder)


async def connect_sqlite(path: str | Path) -> aiosqlite.Connection:
    """An autocommit connection in WAL mode that waits (instead of failing) on locks."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(str(target), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    for pragma in _PRAGMAS:
        await conn.execute(pragma)
    return conn


class SqliteDatabase:
    """``Database`` over one ``sqlite3`` connection that lives on its own thread.

    Every call is one hop to that thread, so calls from concurrent runs take turns (a
    read's cursor is never open while another run writes through the same connection),
    and ``execute_batch`` commits several statements in one transaction and one hop.
    """

    dialect = SQLITE

    def __init__(self, conn: sqlite3.Connection, thread: ThreadPoolExecutor) -> None:
        self.conn = conn
        self._thread = thread
        self._closed = False
        # writes queued by execute_soon (and batches by execute_batch) not yet taken by a
        # flush on the thread
        self._soon: list[tuple[str, tuple[Any, ...]] | _Batch] = []
        self._soon_lock = threading.Lock()
        self._flush_queued = False  # a flush waits for the thread
        self._flush_scheduled = False  # a hand-over waits for the end of the loop's turn

    @classmethod
    async def connect(cls, path: str | Path) -> SqliteDatabase:
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nexus-runstore")
        try:
            conn = await asyncio.get_running_loop().run_in_executor(thread, _open_sqlite, path)
        except BaseException:
            thread.shutdown(wait=False)
            raise
        return cls(conn, thread)

    async def _call(self, fn: Callable[[], _T]) -> _T:
        if self._closed:
            raise ValueError("no active connection: the run store was closed")
        self._send_soon()  # queued writes go first
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        await self._call(lambda: self.conn.execute(sql, tuple(params)).close())

    def execute_soon(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Queue a write on the connection's thread without waiting for it.

        Writes queued during one turn of the event loop go to the thread together, at the
        end of that turn or before the next awaited call, whichever comes first: many
        concurrent runs' events and usage rows then take one hop and one transaction."""
        self._queue((sql, tuple(params)))

    def _queue(self, item: tuple[str, tuple[Any, ...]] | _Batch) -> None:
        if self._closed:
            raise ValueError("no active connection: the run store was closed")
        with self._soon_lock:
            self._soon.append(item)
        if self._flush_scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._send_soon()
            return
        self._flush_scheduled = True
        loop.call_soon(self._send_soon)

    def _send_soon(self) -> None:
        """Hand the queued writes to the thread (once: later ones join until it takes them)."""
        self._flush_scheduled = False
        with self._soon_lock:
            if not self._soon or self._flush_queued:
                return
            self._flush_queued = True
        self._thread.submit(self._flush_soon).add_done_callback(_log_failure)

    def _flush_soon(self) -> None:
        """On the connection's thread: write every queued statement in one transaction
        (a statement that fails is logged and skipped; the others are kept)."""
        with self._soon_lock:
            queued, self._soon = self._soon, []
            self._flush_queued = False
        if len(queued) == 1 and not isinstance(queued[0], _Batch):
            self.conn.execute(*queued[0]).close()
            return
        batches: list[_Batch] = []
        try:
            with self.conn:
                self.conn.execute("BEGIN")
                for item in queued:
                    if isinstance(item, _Batch):
                        batches.append(item)
                        item.error = _write_batch(self.conn, item.statements)
                        continue
                    try:
                        self.conn.execute(*item).close()
                    except sqlite3.Error as exc:
                        logger.warning("a queued run-store write failed: %s", exc)
        except BaseException as exc:  # the commit failed: no batch was written
            for batch in batches:
                batch.error = exc
            raise
        finally:
            _settle(batches)

    async def execute_batch(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Write ``statements`` all or none, and return once they are committed.

        The batch joins the writes queued in this turn of the event loop (other runs'
        steps among them): one hop to the thread and one commit for all of them, each
        batch in a savepoint of its own, so one failing batch leaves the others written."""
        done = asyncio.get_running_loop().create_future()
        self._queue(_Batch([(sql, tuple(params)) for sql, params in statements], done))
        await done

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        def run() -> dict[str, Any] | None:
            cur = self.conn.execute(sql, tuple(params))
            try:
                row = cur.fetchone()
                return None if row is None else _row_dict(cur, row)
            finally:
                cur.close()

        return await self._call(run)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            cur = self.conn.execute(sql, tuple(params))
            try:
                return [_row_dict(cur, row) for row in cur.fetchall()]
            finally:
                cur.close()

        return await self._call(run)

    async def create_schema(self, statements: Sequence[str]) -> None:
        script = ";\n".join(statements) + ";"
        await self._call(lambda: self.conn.executescript(script).close())

    async def close(self) -> None:
        if self._closed:
            return
        try:
            await self._call(self.conn.close)  # after every queued write
        finally:
            self._closed = True
            self._thread.shutdown(wait=False)


class _Batch:
    """Statements ``execute_batch`` queued, and the future its caller waits on."""

    __slots__ = ("done", "error", "statements")

    def __init__(self, statements: list[tuple[str, tuple[Any, ...]]], done: asyncio.Future[None]):
        self.statements = statements
        self.done = done
        self.error: BaseException | None = None


def _write_batch(
    conn: sqlite3.Connection, statements: list[tuple[str, tuple[Any, ...]]]
) -> BaseException | None:
    """Inside the flush's transaction: the batch's statements in a savepoint, rolled back
    on the first failure; the failure is returned for the batch's caller."""
    conn.execute("SAVEPOINT nexus_batch").close()
    try:
        for sql, params in statements:
            conn.execute(sql, params).close()
    except sqlite3.Error as exc:
        conn.execute("ROLLBACK TO nexus_batch").close()
        conn.execute("RELEASE nexus_batch").close()
        return exc
    conn.execute("RELEASE nexus_batch").close()
    return None


def _settle(batches: list[_Batch]) -> None:
    """From the connection's thread: wake the callers of the flushed batches (one hop per
    event loop, not per batch)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Batch]] = {}
    for batch in batches:
        by_loop.setdefault(batch.done.get_loop(), []).append(batch)
    for loop, group in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(_wake, group)


def _wake(batches: list[_Batch]) -> None:
    for batch in batches:
        if batch.done.done():  # the caller was cancelled
            continue
        if batch.error is None:
            batch.done.set_result(None)
        else:
            batch.done.set_exception(batch.error)


def _log_failure(future: Future[Any]) -> None:
    exc = future.exception()
    if exc is not None:
        logger.warning("a queued run-store write failed: %s", exc)


def _open_sqlite(path: str | Path) -> sqlite3.Connection:
    """The synchronous twin of ``connect_sqlite`` (same pragmas), for the run-store thread."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        str(target), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    try:
        for pragma in _PRAGMAS:
            conn.execute(pragma).close()
    except BaseException:
        conn.close()
        raise
    return conn


def _row_dict(cur: sqlite3.Cursor, row: Sequence[Any]) -> dict[str, Any]:
    return {col[0]: value for col, value in zip(cur.description, row, strict=True)}


class RunRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_id: str
    graph: str
    thread_id: str
    status: RunStatus
    started_at: str
    finished_at: str | None = None
    updated_at: str
    error: str | None = None
    job: str | None = None
    period: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    pending: dict[str, Any] | None = Field(default=None, description="the open approval, if any")
    policy: str = Field(default="pause", description="approval policy: pause | timeout_default")


class EventRecord(BaseModel):
    run_id: str
    step: str
    event: str
    agent: str | None = None
    at: str
    duration_ms: float | None = None
    detail: dict[str, Any] | None = None


class LeaseRecord(BaseModel):
    """Who executes a run: one holder at a time, renewed while it works."""

    run_id: str
    owner: str = Field(description="a token per acquisition; only its holder renews or releases")
    host: str
    pid: int
    process: str
    since: str
    expires_at: str

    def is_stale(self, now: datetime | None = None) -> bool:
        """The holder is gone: its lease expired, or it was a process of this host that
        no longer runs."""
        if datetime.fromisoformat(self.expires_at) <= (now or datetime.now(UTC)):
            return True
        if self.host != socket.gethostname():
            return False  # another host's process cannot be checked; wait for expiry
        if self.pid == os.getpid():
            return self.process != _PROCESS  # an earlier process that had this pid
        return not _process_alive(self.pid)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    except OSError:
        return False
    try:  # a killed child not yet reaped by its parent still answers signal 0
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


class ArtifactRecord(BaseModel):
    run_id: str
    step: str
    kind: str | None
    data: dict[str, Any]
    markdown: str | None = None
    created_at: str


class ActionRecord(BaseModel):
    key: str
    run_id: str
    step: str
    kind: str
    payload: dict[str, Any]
    result: dict[str, Any] | None = None
    executed_at: str


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


_RUN_COLUMNS = (
    "run_id, graph, thread_id, status, started_at, finished_at, updated_at, error, job, period,"
    " inputs, pending, policy"
)


class RunStore:
    """Async access to run records. Open with ``await RunStore.open(location)``."""

    def __init__(self, db: Database, path: Path | None = None) -> None:
        self.db = db
        self.path = path  # the SQLite file; None for PostgreSQL

    @classmethod
    async def open(cls, location: str | Path | SecretStr) -> RunStore:
        """Open (and create the tables in) a SQLite file or a ``postgresql://`` database."""
        from nexus_agents.runs.postgres import PostgresDatabase, is_postgres_url

        url = location.get_secret_value() if isinstance(location, SecretStr) else location
        db: Database
        if isinstance(url, str) and is_postgres_url(url):
            db, path = await PostgresDatabase.connect(url), None
        else:
            db, path = await SqliteDatabase.connect(url), Path(url)
        try:
            await db.create_schema(schema_statements(db.dialect))
        except BaseException:
            await db.close()
            raise
        return cls(db, path)

    async def close(self) -> None:
        await self.db.close()

    async def __aenter__(self) -> RunStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ----------------------------------------------------------------------- runs

    async def create_run(
        self,
        run_id: str,
        graph: str,
        *,
        thread_id: str | None = None,
        job: str | None = None,
        period: str | None = None,
        inputs: dict[str, Any] | None = None,
        policy: str = "pause",
    ) -> RunRecord:
        now = _now()
        record = RunRecord(
            run_id=run_id,
            graph=graph,
            thread_id=thread_id or run_id,
            status="running",
            started_at=now,
            updated_at=now,
            job=job,
            period=period,
            inputs=_loads(_dumps(inputs or {})),  # as a later read gives them back
            policy=policy,
        )
        await self.db.execute(
            "INSERT INTO runs (run_id, graph, thread_id, status, started_at, updated_at, job, period,"
            " inputs, policy) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                graph,
                record.thread_id,
                record.started_at,
                record.updated_at,
                job,
                period,
                _dumps(record.inputs),
                policy,
            ),
        )
        return record

    async def set_status(
        self,
        run_id: str,
        status: RunStatus,
        *,
        error: str | None = None,
        pending: dict[str, Any] | None = None,
    ) -> None:
        now = _now()
        finished = now if status in ("succeeded", "failed", "cancelled") else None
        await self.db.execute(
            "UPDATE runs SET status = ?, error = ?, pending = ?, finished_at = ?, updated_at = ?"
            " WHERE run_id = ?",
            (status, error, None if pending is None else _dumps(pending), finished, now, run_id),
        )

    async def get_run(self, run_id: str) -> RunRecord | None:
        row = await self.db.fetchone(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,))
        return None if row is None else self._run(row)

    async def list_runs(
        self,
        *,
        job: str | None = None,
        graph: str | None = None,
        status: RunStatus | None = None,
        limit: int = 50,
    ) -> list[RunRecord]:
        clauses, params = [], []
        for column, value in (("job", job), ("graph", graph), ("status", status)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        order = self.db.dialect.order_column
        sql = (
            f"SELECT {_RUN_COLUMNS} FROM runs {where}"
            f" ORDER BY started_at DESC, {order} DESC LIMIT ?"
        )
        rows = await self.db.fetchall(sql, (*params, limit))
        return [self._run(r) for r in rows]

    @staticmethod
    def _run(row: dict[str, Any]) -> RunRecord:
        data = dict(row)
        data["inputs"] = _loads(data["inputs"]) or {}
        data["pending"] = _loads(data["pending"])
        return RunRecord.model_validate(data)

    # --------------------------------------------------------------------- events

    async def add_event(
        self,
        run_id: str,
        step: str,
        event: str,
        *,
        agent: str | None = None,
        duration_ms: float | None = None,
        detail: dict[str, Any] | None = None,
        wait: bool = True,
    ) -> None:
        """Record an event. ``wait=False`` queues it behind earlier writes without waiting:
        it is stored before any later write of this store completes."""
        row = _event_row(run_id, step, event, agent, duration_ms, detail)
        soon = getattr(self.db, "execute_soon", None)
        if not wait and soon is not None:
            soon(*row)
        else:
            await self.db.execute(*row)

    async def record_step(
        self,
        run_id: str,
        step: str,
        *,
        agent: str | None = None,
        duration_ms: float | None = None,
        usage: Sequence[UsageRecord] = (),
        artifact: dict[str, Any] | None = None,
        markdown: str | None = None,
    ) -> None:
        """Record a finished step in one transaction: its model calls, its artifact (a step
        re-run replaces its earlier one) and the ``finished`` event."""
        statements = [_usage_row(r) for r in usage]
        if artifact is not None:
            statements.append(_artifact_row(run_id, step, artifact, markdown))
        statements.append(_event_row(run_id, step, "finished", agent, duration_ms, None))
        await self.db.execute_batch(statements)

    async def events_for(self, run_id: str) -> list[EventRecord]:
        rows = await self.db.fetchall(
            "SELECT run_id, step, event, agent, at, duration_ms, detail FROM events"
            " WHERE run_id = ? ORDER BY id",
            (run_id,),
        )
        return [EventRecord.model_validate({**r, "detail": _loads(r["detail"])}) for r in rows]

    async def events_named(self, run_id: str, event: str) -> list[EventRecord]:
        """The run's events of one kind, oldest first."""
        rows = await self.db.fetchall(
            "SELECT run_id, step, event, agent, at, duration_ms, detail FROM events"
            " WHERE run_id = ? AND event = ? ORDER BY id",
            (run_id, event),
        )
        return [EventRecord.model_validate({**r, "detail": _loads(r["detail"])}) for r in rows]

    # ---------------------------------------------------------------------- usage

    async def add_usage(self, record: UsageRecord, *, wait: bool = True) -> None:
        """Record one model call; ``wait=False`` queues it as ``add_event`` does."""
        soon = getattr(self.db, "execute_soon", None)
        if not wait and soon is not None:
            soon(*_usage_row(record))
        else:
            await self.db.execute(*_usage_row(record))

    async def usage_for(self, run_id: str) -> list[UsageRecord]:
        rows = await self.db.fetchall(
            "SELECT run_id, step, agent, model, prompt_tokens, completion_tokens, total_tokens,"
            " cost_usd, latency_ms, status, at FROM usage WHERE run_id = ? ORDER BY id",
            (run_id,),
        )
        return [UsageRecord.model_validate(r) for r in rows]

    async def usage_totals(self, run_id: str) -> dict[str, float]:
        return (await self.usage_totals_for([run_id]))[run_id]

    async def usage_totals_for(self, run_ids: Sequence[str]) -> dict[str, dict[str, float]]:
        """``usage_totals`` of many runs (a run list's cost column) in one query per 500."""
        totals: dict[str, dict[str, float]] = {
            run_id: {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0,
                     "total_tokens": 0, "cost_usd": 0.0}
            for run_id in run_ids
        }
        ids = list(totals)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = await self.db.fetchall(
                "SELECT run_id, COUNT(*) AS calls, COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens,"
                " COALESCE(SUM(completion_tokens), 0) AS completion_tokens,"
                " COALESCE(SUM(total_tokens), 0) AS total_tokens,"
                " COALESCE(SUM(cost_usd), 0) AS cost_usd FROM usage"
                f" WHERE run_id IN ({', '.join('?' * len(chunk))}) GROUP BY run_id",
                chunk,
            )
            for row in rows:
                run_id = row.pop("run_id")
                # PostgreSQL sums integers as NUMERIC (Decimal): plain ints and a float cost
                totals[run_id] = {k: float(v) if k == "cost_usd" else int(v) for k, v in row.items()}
        return totals

    # ------------------------------------------------------------------ artifacts

    async def save_artifact(
        self,
        run_id: str,
        step: str,
        data: dict[str, Any],
        *,
        markdown: str | None = None,
    ) -> None:
        """Store one complete artifact (a step re-run replaces its earlier one)."""
        await self.db.execute(*_artifact_row(run_id, step, data, markdown))

    async def artifacts_for(self, run_id: str) -> list[ArtifactRecord]:
        rows = await self.db.fetchall(
            "SELECT run_id, step, kind, json, markdown, created_at FROM artifacts"
            " WHERE run_id = ? ORDER BY created_at, step",
            (run_id,),
        )
        return [self._artifact(r) for r in rows]

    async def latest_artifact(
        self, kind: str, *, include_failed: bool = False
    ) -> ArtifactRecord | None:
        """The newest artifact of ``kind``; runs that failed are skipped unless asked for."""
        join = (
            "" if include_failed else "JOIN runs r ON r.run_id = a.run_id AND r.status != 'failed'"
        )
        order = self.db.dialect.order_column
        sql = (
            "SELECT a.run_id, a.step, a.kind, a.json, a.markdown, a.created_at"
            f" FROM artifacts a {join} WHERE a.kind = ?"
            f" ORDER BY a.created_at DESC, a.{order} DESC LIMIT 1"
        )
        row = await self.db.fetchone(sql, (kind,))
        return None if row is None else self._artifact(row)

    @staticmethod
    def _artifact(row: dict[str, Any]) -> ArtifactRecord:
        data = json.loads(row["json"])
        markdown = row["markdown"]
        if markdown is None:  # agent artifacts are rendered when read, not on every run
            from nexus_agents.artifacts.render import render_stored

            markdown = render_stored(data)
        return ArtifactRecord(
            run_id=row["run_id"],
            step=row["step"],
            kind=row["kind"],
            data=data,
            markdown=markdown,
            created_at=row["created_at"],
        )

    # --------------------------------------------------------------------- leases

    _LEASE_COLUMNS = "run_id, owner, host, pid, process, since, expires_at"

    async def get_lease(self, run_id: str) -> LeaseRecord | None:
        row = await self.db.fetchone(
            f"SELECT {self._LEASE_COLUMNS} FROM run_leases WHERE run_id = ?", (run_id,)
        )
        return None if row is None else LeaseRecord.model_validate(row)

    async def acquire_lease(
        self, run_id: str, *, ttl_s: float = LEASE_TTL_S, now: datetime | None = None
    ) -> LeaseRecord:
        """Become the one executor of ``run_id``, or raise ``RunBusyError`` naming the holder.

        A stale lease (see ``LeaseRecord.is_stale``) is taken over. Both the first claim
        and a takeover are single conditional statements, so of several processes racing
        for one run exactly one gets it.
        """
        moment = now or datetime.now(UTC)
        mine = LeaseRecord(
            run_id=run_id,
            owner=uuid.uuid4().hex,
            host=socket.gethostname(),
            pid=os.getpid(),
            process=_PROCESS,
            since=moment.isoformat(),
            expires_at=(moment + timedelta(seconds=ttl_s)).isoformat(),
        )
        values = (mine.owner, mine.host, mine.pid, mine.process, mine.since, mine.expires_at)
        holder: LeaseRecord | None = None
        for _ in range(3):  # the holder may release or be taken over between statements
            await self.db.execute(
                f"INSERT INTO run_leases ({self._LEASE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (run_id) DO NOTHING",
                (run_id, *values),
            )
            holder = await self.get_lease(run_id)
            if holder is None:
                continue
            if holder.owner == mine.owner:
                return mine
            if not holder.is_stale(moment):
                break
            await self.db.execute(
                "UPDATE run_leases SET owner = ?, host = ?, pid = ?, process = ?, since = ?,"
                " expires_at = ? WHERE run_id = ? AND owner = ?",
                (*values, run_id, holder.owner),
            )
            taken = await self.get_lease(run_id)
            if taken is not None and taken.owner == mine.owner:
                logger.warning(
                    "run %s: took over the stale lease of pid %s on host %s (held since %s)",
                    run_id,
                    holder.pid,
                    holder.host,
                    holder.since,
                )
                return mine
        if holder is None:  # pragma: no cover - released and re-taken three times over
            holder = mine
        raise RunBusyError(
            run_id,
            host=holder.host,
            pid=holder.pid,
            since=holder.since,
            expires_at=holder.expires_at,
        )

    async def renew_lease(self, lease: LeaseRecord, *, ttl_s: float = LEASE_TTL_S) -> bool:
        """Push the lease's expiry ``ttl_s`` ahead; False when it is no longer ``lease``'s."""
        expires = (datetime.now(UTC) + timedelta(seconds=ttl_s)).isoformat()
        await self.db.execute(
            "UPDATE run_leases SET expires_at = ? WHERE run_id = ? AND owner = ?",
            (expires, lease.run_id, lease.owner),
        )
        current = await self.get_lease(lease.run_id)
        return current is not None and current.owner == lease.owner

    async def release_lease(self, lease: LeaseRecord) -> None:
        """Give the run up (a lease taken over by someone else stays theirs)."""
        await self.db.execute(
            "DELETE FROM run_leases WHERE run_id = ? AND owner = ?", (lease.run_id, lease.owner)
        )

    # -------------------------------------------------------------------- actions

    _ACTION_COLUMNS = "key, run_id, step, kind, payload, result, executed_at"

    async def get_action(self, key: str) -> ActionRecord | None:
        row = await self.db.fetchone(
            f"SELECT {self._ACTION_COLUMNS} FROM actions WHERE key = ?", (key,)
        )
        return None if row is None else self._action(row)

    async def record_action(
        self,
        key: str,
        *,
        run_id: str,
        step: str,
        kind: str,
        payload: dict[str, Any],
        result: dict[str, Any] | None,
    ) -> None:
        """Record an executed action once; a second record with the same key is ignored."""
        await self.db.execute(
            "INSERT INTO actions (key, run_id, step, kind, payload, result, executed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
            (key, run_id, step, kind, _dumps(payload), _dumps(result), _now()),
        )

    async def update_action_result(self, key: str, result: dict[str, Any]) -> None:
        """Replace the result of a recorded action (a failed one delivered by a retry)."""
        await self.db.execute("UPDATE actions SET result = ? WHERE key = ?", (_dumps(result), key))

    async def actions_for(self, run_id: str) -> list[ActionRecord]:
        rows = await self.db.fetchall(
            f"SELECT {self._ACTION_COLUMNS} FROM actions WHERE run_id = ? ORDER BY executed_at, key",
            (run_id,),
        )
        return [self._action(r) for r in rows]

    @staticmethod
    def _action(row: dict[str, Any]) -> ActionRecord:
        data = dict(row)
        data["payload"] = _loads(data["payload"]) or {}
        data["result"] = _loads(data["result"])
        return ActionRecord.model_validate(data)


_Statement = tuple[str, tuple[Any, ...]]


def _event_row(
    run_id: str,
    step: str,
    event: str,
    agent: str | None,
    duration_ms: float | None,
    detail: dict[str, Any] | None,
) -> _Statement:
    return (
        "INSERT INTO events (run_id, step, event, agent, at, duration_ms, detail)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (run_id, step, event, agent, _now(), duration_ms, None if detail is None else _dumps(detail)),
    )


def _usage_row(r: UsageRecord) -> _Statement:
    return (
        "INSERT INTO usage (run_id, step, agent, model, prompt_tokens, completion_tokens,"
        " total_tokens, cost_usd, latency_ms, status, at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            r.run_id,
            r.step,
            r.agent,
            r.model,
            r.prompt_tokens,
            r.completion_tokens,
            r.total_tokens,
            r.cost_usd,
            r.latency_ms,
            r.status,
            r.at or _now(),
        ),
    )


def _artifact_row(
    run_id: str, step: str, data: dict[str, Any], markdown: str | None
) -> _Statement:
    kind = data.get("kind") if isinstance(data.get("kind"), str) else None
    return (
        "INSERT INTO artifacts (run_id, step, kind, json, markdown, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, step) DO UPDATE SET"
        " kind = excluded.kind, json = excluded.json, markdown = excluded.markdown,"
        " created_at = excluded.created_at",
        (run_id, step, kind, _dumps(data), markdown, _now()),
    )
