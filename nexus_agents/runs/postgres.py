"""PostgreSQL for run records and LangGraph checkpoints (the optional ``postgres`` extra).

Used when ``database_url`` / ``NEXUS_DATABASE_URL`` is a ``postgresql://`` URL. psycopg
and the LangGraph Postgres saver are imported only here, and only when such a URL is
configured. The URL (and its password) never appears in an error: connection failures
name the host, port and database only.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from nexus_agents.exceptions import ConfigError
from nexus_agents.runs.store import Dialect

__all__ = [
    "POSTGRES",
    "PostgresDatabase",
    "connect_postgres",
    "is_postgres_url",
    "open_checkpointer",
]

logger = logging.getLogger(__name__)

_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
EXTRA_HINT = "pip install 'nexus-agents[postgres]'"
# Serialises schema creation across processes (CREATE ... IF NOT EXISTS races in Postgres).
_SCHEMA_LOCK = 0x6E6578_7573  # "nexus"
_CHECKPOINT_LOCK = _SCHEMA_LOCK + 1

POSTGRES = Dialect(
    name="postgresql",
    serial_key="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    integer="BIGINT",
    real="DOUBLE PRECISION",
    order_column="seq",
    order_decl=",\n    seq BIGINT GENERATED ALWAYS AS IDENTITY",
)


def is_postgres_url(value: object) -> bool:
    return isinstance(value, str) and value.lower().startswith(_SCHEMES)


def _libpq_url(url: str) -> str:
    """The URL as libpq reads it (SQLAlchemy's ``postgresql+psycopg://`` spelling dropped)."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep and "+" in scheme else url


def _where(url: str) -> str:
    """``host:port/database`` of ``url``, for error messages (no user, no password)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "localhost"
        port = parts.port or 5432
    except ValueError:
        return "the configured server"
    database = parts.path.lstrip("/") or "(default database)"
    return f"{host}:{port}/{database}"


def _scrub(message: str, url: str) -> str:
    """``message`` without the URL or its password (libpq may echo a bad conninfo)."""
    secrets = [url, _libpq_url(url)]
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if password:
        secrets += [password, unquote(password)]
    for secret in sorted(secrets, key=len, reverse=True):
        message = message.replace(secret, "***")
    return message


def _require_extra() -> None:
    try:
        import langgraph.checkpoint.postgres.aio  # noqa: F401
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            "database_url / NEXUS_DATABASE_URL is a PostgreSQL URL, but the 'postgres' extra is"
            f" not installed ({exc.name} is missing): {EXTRA_HINT}"
        ) from None


async def connect_postgres(url: str) -> Any:
    """An autocommit psycopg ``AsyncConnection`` returning dict rows, or a ``ConfigError``."""
    _require_extra()
    from psycopg import AsyncConnection
    from psycopg.rows import dict_row

    try:
        return await AsyncConnection.connect(
            _libpq_url(url), autocommit=True, prepare_threshold=0, row_factory=dict_row
        )
    except Exception as exc:
        detail = _scrub(str(exc).strip(), url).splitlines()
        raise ConfigError(
            f"cannot connect to PostgreSQL at {_where(url)} (database_url / NEXUS_DATABASE_URL):"
            f" {type(exc).__name__}: {detail[0] if detail else 'no detail'}"
        ) from None


@functools.lru_cache(maxsize=256)
def _pyformat(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (a literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PostgresDatabase:
    """``Database`` over one psycopg ``AsyncConnection``.

    Calls take turns, so another run's statement never lands inside a batch's transaction.
    Writes queued with ``execute_soon`` go first in the next turn, together.
    """

    dialect = POSTGRES

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self._turn = asyncio.Lock()
        self._soon: list[tuple[str, tuple[Any, ...]]] = []
        self._flusher: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, url: str) -> PostgresDatabase:
        return cls(await connect_postgres(url))

    def execute_soon(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Queue a write without waiting for it: it is written, with the writes queued
        beside it and in one transaction, before any later call of this database runs."""
        self._soon.append((_pyformat(sql), tuple(params)))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        async with self._turn:
            await self._write_soon()

    async def _write_soon(self) -> None:
        """Under the turn: the queued writes in one transaction; if that fails, one by one
        (a statement that fails is logged and skipped, the others are kept)."""
        batch, self._soon = self._soon, []
        if not batch:
            return
        try:
            async with self.conn.transaction():
                for sql, params in batch:
                    await self.conn.execute(sql, params)
            return
        except Exception:
            pass  # rolled back: the statements go again one by one, each failure logged
        for sql, params in batch:
            try:
                await self.conn.execute(sql, params)
            except Exception as exc:
                logger.warning("a queued run-store write failed: %s", exc)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        async with self._turn:
            await self._write_soon()
            await self.conn.execute(_pyformat(sql), tuple(params))

    async def execute_batch(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        async with self._turn:
            await self._write_soon()
            async with self.conn.transaction():
                for sql, params in statements:
                    await self.conn.execute(_pyformat(sql), tuple(params))

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        async with self._turn:
            await self._write_soon()
            cur = await self.conn.execute(_pyformat(sql), tuple(params))
            row = await cur.fetchone()
        return None if row is None else dict(row)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        async with self._turn:
            await self._write_soon()
            cur = await self.conn.execute(_pyformat(sql), tuple(params))
            rows = await cur.fetchall()
        return [dict(r) for r in rows]

    async def create_schema(self, statements: Sequence[str]) -> None:
        async with self.conn.transaction():
            await self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            for statement in statements:
                await self.conn.execute(statement)

    async def close(self) -> None:
        async with self._turn:
            await self._write_soon()
        await self.conn.close()


async def open_checkpointer(url: str) -> tuple[Any, Any]:
    """A set-up ``AsyncPostgresSaver`` and the connection it owns (close it when done)."""
    conn = await connect_postgres(url)
    try:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        saver = AsyncPostgresSaver(conn)
        # Its migrations are not safe to run from two processes at once.
        await _take_lock(conn, _CHECKPOINT_LOCK)
        try:
            await saver.setup()
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_CHECKPOINT_LOCK,))
    except BaseException:
        await conn.close()
        raise
    return saver, conn


LOCK_WAIT_S = 120.0


async def _take_lock(conn: Any, key: int) -> None:
    """Take a session advisory lock by trying, never by waiting in a statement: the
    holder's migrations build indexes ``CONCURRENTLY``, which wait for every open
    transaction to end, a blocked ``pg_advisory_lock`` call included (a deadlock when
    several workers open the same new database at once)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LOCK_WAIT_S
    delay = 0.01
    while True:
        cur = await conn.execute("SELECT pg_try_advisory_lock(%s) AS taken", (key,))
        row = await cur.fetchone()
        if row and (row["taken"] if isinstance(row, dict) else row[0]):
            return
        if loop.time() > deadline:
            raise ConfigError(
                f"PostgreSQL: another process kept the checkpoint set-up lock for {LOCK_WAIT_S:g} s"
            )
        await asyncio.sleep(delay)
        delay = min(0.2, delay * 2)
