"""Worker heartbeats: a live worker's id is refused to a second worker, a dead one is found."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nexus_agents.exceptions import NexusError
from nexus_agents.runs.presence import PRESENCE_PREFIX, WorkerPresence


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_live_worker_id_is_refused_and_a_dead_worker_is_found(tmp_path: Path) -> None:
    db = tmp_path / "nexus.sqlite"
    alive = WorkerPresence(db, "w1")
    alive.register()
    try:
        with pytest.raises(NexusError, match="'w1' is in use by pid"):
            WorkerPresence(db, "w1").register()
        # a worker whose process is gone (same host): its heartbeat lease is stale at once
        ghost = WorkerPresence(db, "w2", ttl_s=600)
        ghost.register()
        assert ghost._store is not None and ghost._lease is not None

        async def orphan(store: object) -> None:
            await ghost._store.db.execute(  # type: ignore[union-attr]
                "UPDATE run_leases SET pid = ?, process = 'gone' WHERE run_id = ?",
                (_dead_pid(), PRESENCE_PREFIX + "w2"),
            )

        ghost._call(orphan(ghost._store))
        ghost.close(expire=False)
        assert alive.dead({"w1", "w2", "cli-no-lease"}) == ["w2"]
        alive.forget("w2")
        assert alive.dead({"w2"}) == []  # forgotten once its runs were handed back
    finally:
        alive.close()
    # a worker that stopped cleanly is gone at once (its lease expired on close)
    again = WorkerPresence(db, "w1")
    again.register()
    again.close()
