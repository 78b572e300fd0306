"""LangGraph's SQLite checkpointer with one trip to the connection's thread per write.

``AsyncSqliteSaver`` writes a checkpoint as four requests to its aiosqlite thread (open a
cursor, execute, close it, commit) and a step's writes as four more; under many
concurrent runs these thread hand-offs are most of a checkpoint's CPU cost. This saver
writes the same rows to the same tables, each checkpoint as one statement and each
step's writes as one multi-row statement, one hand-off each. The connection is in
autocommit mode (``connect_sqlite``), so every statement commits on its own; a
connection that opened a transaction is still committed. Reading is LangGraph's own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    get_checkpoint_metadata,
)
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

__all__ = ["OneTripSqliteSaver"]

_CHECKPOINT_SQL = (
    "INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, "
    "parent_checkpoint_id, type, checkpoint, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_WRITES_COLUMNS = (
    " INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, "
    "channel, type, value) VALUES "
)
_WRITE_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
WRITES_PER_STATEMENT = 100  # far below SQLite's limit on bound variables (32766)


class OneTripSqliteSaver(AsyncSqliteSaver):
    """``AsyncSqliteSaver`` whose tables are created once per connection and whose
    checkpoint and writes each take one trip to the connection's thread."""

    async def setup(self) -> None:
        if not self.is_setup:
            await super().setup()

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        await self.setup()
        configurable = config["configurable"]
        thread_id = configurable["thread_id"]
        checkpoint_ns = configurable["checkpoint_ns"]
        type_, blob = self.serde.dumps_typed(checkpoint)
        meta = json.dumps(get_checkpoint_metadata(config, metadata), ensure_ascii=False)
        row = (
            str(thread_id),
            checkpoint_ns,
            checkpoint["id"],
            configurable.get("checkpoint_id"),
            type_,
            blob,
            meta.encode("utf-8", "ignore"),
        )
        async with self.lock:
            await self.conn.execute_fetchall(_CHECKPOINT_SQL, row)
            await self._commit_open_transaction()
        return {
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": checkpoint_ns,
                "checkpoint_id": checkpoint["id"],
            }
        }

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        if not writes:
            return
        # special channels (errors, interrupts) replace; ordinary writes of a task are
        # kept as first written, as LangGraph's saver does
        verb = (
            "INSERT OR REPLACE"
            if all(w[0] in WRITES_IDX_MAP for w in writes)
            else "INSERT OR IGNORE"
        )
        configurable = config["configurable"]
        key = (
            str(configurable["thread_id"]),
            str(configurable["checkpoint_ns"]),
            str(configurable["checkpoint_id"]),
            task_id,
            task_path,
        )
        rows = [
            (*key, WRITES_IDX_MAP.get(channel, idx), channel, *self.serde.dumps_typed(value))
            for idx, (channel, value) in enumerate(writes)
        ]
        await self.setup()
        async with self.lock:
            for start in range(0, len(rows), WRITES_PER_STATEMENT):
                chunk = rows[start : start + WRITES_PER_STATEMENT]
                sql = verb + _WRITES_COLUMNS + ", ".join([_WRITE_ROW] * len(chunk))
                await self.conn.execute_fetchall(sql, [v for r in chunk for v in r])
            await self._commit_open_transaction()

    async def _commit_open_transaction(self) -> None:
        if self.conn.in_transaction:
            await self.conn.commit()
