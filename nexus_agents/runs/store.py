"""Run records in the workspace SQLite file (next to LangGraph's checkpoints).

Tables: ``runs`` (one row per run / thread), ``events`` (node started / finished),
``usage`` (one row per model call), ``artifacts`` (one complete artifact per step) and
``actions`` (executed side effects, keyed for idempotency).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import aiosqlite
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ActionRecord",
    "ArtifactRecord",
    "EventRecord",
    "RunRecord",
    "RunStatus",
    "RunStore",
    "UsageRecord",
    "connect_sqlite",
    "default_db_path",
]

RunStatus = Literal["running", "waiting_approval", "succeeded", "failed"]
BUSY_TIMEOUT_S = 60.0

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
    inputs TEXT NOT NULL DEFAULT '{}',
    pending TEXT,
    policy TEXT NOT NULL DEFAULT 'pause'
);
CREATE INDEX IF NOT EXISTS runs_by_job ON runs (job, started_at);
CREATE INDEX IF NOT EXISTS runs_by_graph ON runs (graph, started_at);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    step TEXT NOT NULL,
    event TEXT NOT NULL,
    agent TEXT,
    at TEXT NOT NULL,
    duration_ms REAL,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS events_by_run ON events (run_id, id);
CREATE TABLE IF NOT EXISTS usage (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    step TEXT NOT NULL,
    agent TEXT,
    model TEXT,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    total_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    latency_ms REAL NOT NULL DEFAULT 0,
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
    PRIMARY KEY (run_id, step)
);
CREATE INDEX IF NOT EXISTS artifacts_by_kind ON artifacts (kind, created_at);
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


def _now() -> str:
    return datetime.now(UTC).isoformat()


def default_db_path(workspace: str | Path) -> Path:
    return Path(workspace) / ".nexus" / "nexus.sqlite"


async def connect_sqlite(path: str | Path) -> aiosqlite.Connection:
    """An autocommit connection in WAL mode that waits (instead of failing) on locks."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(str(target), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    await conn.execute("PRAGMA synchronous=NORMAL")
    return conn


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


class UsageRecord(BaseModel):
    run_id: str
    step: str
    agent: str | None = None
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    status: str = "ok"
    at: str = ""


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


class RunStore:
    """Async access to run records. Open with ``await RunStore.open(path)``."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    async def open(cls, path: str | Path) -> RunStore:
        conn = await connect_sqlite(path)
        await conn.executescript(_SCHEMA)
        return cls(conn, Path(path))

    async def close(self) -> None:
        await self.conn.close()

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
        await self.conn.execute(
            "INSERT INTO runs (run_id, graph, thread_id, status, started_at, updated_at, job, period,"
            " inputs, policy) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)",
            (run_id, graph, thread_id or run_id, now, now, job, period, _dumps(inputs or {}), policy),
        )
        record = await self.get_run(run_id)
        assert record is not None
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
        finished = now if status in ("succeeded", "failed") else None
        await self.conn.execute(
            "UPDATE runs SET status = ?, error = ?, pending = ?, finished_at = ?, updated_at = ?"
            " WHERE run_id = ?",
            (status, error, None if pending is None else _dumps(pending), finished, now, run_id),
        )

    async def get_run(self, run_id: str) -> RunRecord | None:
        async with self.conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)) as cur:
            cur.row_factory = aiosqlite.Row
            row = await cur.fetchone()
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
        sql = f"SELECT * FROM runs {where} ORDER BY started_at DESC, rowid DESC LIMIT ?"
        async with self.conn.execute(sql, (*params, limit)) as cur:
            cur.row_factory = aiosqlite.Row
            rows = await cur.fetchall()
        return [self._run(r) for r in rows]

    @staticmethod
    def _run(row: aiosqlite.Row) -> RunRecord:
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
    ) -> None:
        await self.conn.execute(
            "INSERT INTO events (run_id, step, event, agent, at, duration_ms, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (run_id, step, event, agent, _now(), duration_ms, None if detail is None else _dumps(detail)),
        )

    async def events_for(self, run_id: str) -> list[EventRecord]:
        async with self.conn.execute(
            "SELECT * FROM events WHERE run_id = ? ORDER BY id", (run_id,)
        ) as cur:
            cur.row_factory = aiosqlite.Row
            rows = await cur.fetchall()
        out = []
        for row in rows:
            data = dict(row)
            data.pop("id")
            data["detail"] = _loads(data["detail"])
            out.append(EventRecord.model_validate(data))
        return out

    # ---------------------------------------------------------------------- usage

    async def add_usage(self, record: UsageRecord) -> None:
        r = record
        await self.conn.execute(
            "INSERT INTO usage (run_id, step, agent, model, prompt_tokens, completion_tokens,"
            " total_tokens, cost_usd, latency_ms, status, at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                r.run_id, r.step, r.agent, r.model, r.prompt_tokens, r.completion_tokens,
                r.total_tokens, r.cost_usd, r.latency_ms, r.status, r.at or _now(),
            ),
        )

    async def usage_for(self, run_id: str) -> list[UsageRecord]:
        async with self.conn.execute(
            "SELECT * FROM usage WHERE run_id = ? ORDER BY id", (run_id,)
        ) as cur:
            cur.row_factory = aiosqlite.Row
            rows = await cur.fetchall()
        out = []
        for row in rows:
            data = dict(row)
            data.pop("id")
            out.append(UsageRecord.model_validate(data))
        return out

    async def usage_totals(self, run_id: str) -> dict[str, float]:
        async with self.conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(prompt_tokens),0), COALESCE(SUM(completion_tokens),0),"
            " COALESCE(SUM(total_tokens),0), COALESCE(SUM(cost_usd),0) FROM usage WHERE run_id = ?",
            (run_id,),
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        keys = ("calls", "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd")
        return dict(zip(keys, row, strict=True))

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
        kind = data.get("kind") if isinstance(data.get("kind"), str) else None
        await self.conn.execute(
            "INSERT INTO artifacts (run_id, step, kind, json, markdown, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, step) DO UPDATE SET"
            " kind = excluded.kind, json = excluded.json, markdown = excluded.markdown,"
            " created_at = excluded.created_at",
            (run_id, step, kind, _dumps(data), markdown, _now()),
        )

    async def artifacts_for(self, run_id: str) -> list[ArtifactRecord]:
        async with self.conn.execute(
            "SELECT * FROM artifacts WHERE run_id = ? ORDER BY created_at, step", (run_id,)
        ) as cur:
            cur.row_factory = aiosqlite.Row
            rows = await cur.fetchall()
        return [self._artifact(r) for r in rows]

    async def latest_artifact(
        self, kind: str, *, include_failed: bool = False
    ) -> ArtifactRecord | None:
        """The newest artifact of ``kind``; runs that failed are skipped unless asked for."""
        join = "" if include_failed else "JOIN runs r ON r.run_id = a.run_id AND r.status != 'failed'"
        sql = (
            f"SELECT a.* FROM artifacts a {join} WHERE a.kind = ?"
            " ORDER BY a.created_at DESC, a.rowid DESC LIMIT 1"
        )
        async with self.conn.execute(sql, (kind,)) as cur:
            cur.row_factory = aiosqlite.Row
            row = await cur.fetchone()
        return None if row is None else self._artifact(row)

    @staticmethod
    def _artifact(row: aiosqlite.Row) -> ArtifactRecord:
        return ArtifactRecord(
            run_id=row["run_id"],
            step=row["step"],
            kind=row["kind"],
            data=json.loads(row["json"]),
            markdown=row["markdown"],
            created_at=row["created_at"],
        )

    # -------------------------------------------------------------------- actions

    async def get_action(self, key: str) -> ActionRecord | None:
        async with self.conn.execute("SELECT * FROM actions WHERE key = ?", (key,)) as cur:
            cur.row_factory = aiosqlite.Row
            row = await cur.fetchone()
        if row is None:
            return None
        data = dict(row)
        data["payload"] = _loads(data["payload"]) or {}
        data["result"] = _loads(data["result"])
        return ActionRecord.model_validate(data)

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
        await self.conn.execute(
            "INSERT OR IGNORE INTO actions (key, run_id, step, kind, payload, result, executed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key, run_id, step, kind, _dumps(payload), _dumps(result), _now()),
        )

    async def actions_for(self, run_id: str) -> list[ActionRecord]:
        async with self.conn.execute(
            "SELECT key FROM actions WHERE run_id = ? ORDER BY executed_at", (run_id,)
        ) as cur:
            keys = [r[0] for r in await cur.fetchall()]
        out = []
        for key in keys:
            rec = await self.get_action(key)
            if rec is not None:
                out.append(rec)
        return out
