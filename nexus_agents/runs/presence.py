"""Which workers are alive: a heartbeat per worker in the run store.

DBOS tags each running workflow with the executor id of the worker that dequeued it and,
without its cloud service, recovers a workflow only when a worker with the *same* id
starts again. With several workers, a dead worker's runs would wait for a restart that
may never come. So each worker holds a lease named ``worker:<executor id>`` in the run
store's lease table (host, pid, expiry; renewed while it runs), and every worker looks
for running workflows whose executor's lease is stale: a process of this host that no
longer exists (at once), or a lease not renewed for ``ttl_s`` (any host). Those are put
back on their queue for any live worker (DBOS's own recovery, for that executor id).

The store is async; the worker's main thread drives it on a private event loop. The
scheduler gets this object from the top layer (it matches ``schedule.engine.Presence``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from nexus_agents.exceptions import NexusError, RunBusyError
from nexus_agents.runs.store import LeaseRecord, RunStore

PRESENCE_PREFIX = "worker:"
PRESENCE_TTL_S = 30.0
logger = logging.getLogger(__name__)


class WorkerPresence:
    """This worker's heartbeat, and the liveness of the others (see the module doc)."""

    def __init__(
        self, location: Path | SecretStr, executor_id: str, *, ttl_s: float = PRESENCE_TTL_S
    ) -> None:
        self.location = location
        self.executor_id = executor_id
        self.ttl_s = ttl_s
        self._runner: asyncio.Runner | None = None
        self._store: RunStore | None = None
        self._lease: LeaseRecord | None = None
        self._renewed_at = 0.0

    def _call(self, coro: Any) -> Any:
        assert self._runner is not None
        return self._runner.run(coro)

    def register(self) -> None:
        """Open the store and take this worker's lease; a live worker with the same id
        (on any host) is refused, since DBOS would mix up the two workers' runs."""
        if self._runner is not None:
            return
        self._runner = asyncio.Runner()
        try:
            self._store = self._call(RunStore.open(self.location))
            self._lease = self._call(self._acquire())
        except RunBusyError as exc:
            self.close(expire=False)
            raise NexusError(
                f"worker id {self.executor_id!r} is in use by pid {exc.pid} on host {exc.host}"
                " (each worker needs its own --worker-id)"
            ) from None
        except BaseException:
            self.close(expire=False)
            raise
        self._renewed_at = time.monotonic()

    async def _acquire(self) -> LeaseRecord:
        assert self._store is not None
        return await self._store.acquire_lease(PRESENCE_PREFIX + self.executor_id, ttl_s=self.ttl_s)

    def heartbeat(self) -> None:
        """Renew the lease when a third of its time has passed (cheap to call often)."""
        if self._store is None or self._lease is None:
            return
        if time.monotonic() - self._renewed_at < self.ttl_s / 3:
            return
        try:
            kept = self._call(self._store.renew_lease(self._lease, ttl_s=self.ttl_s))
            if not kept:
                # another worker found this one stale (it stalled past the expiry) and put
                # its runs back on the queue; take the lease again so it is seen as alive
                logger.warning(
                    "worker %s: its heartbeat had expired; its running workflows may have"
                    " been handed to another worker",
                    self.executor_id,
                )
                self._lease = self._call(self._acquire())
            self._renewed_at = time.monotonic()
        except Exception as exc:  # the store is down: try again on the next tick
            logger.warning("worker %s: could not renew its heartbeat: %s", self.executor_id, exc)

    def dead(self, executor_ids: set[str]) -> list[str]:
        """Those of ``executor_ids`` whose worker is gone (a stale lease). An id without a
        lease is not judged: it may be a command-line process running its own work."""
        if self._store is None:
            return []
        store = self._store

        async def check() -> list[str]:
            found = []
            for executor in sorted(executor_ids - {self.executor_id}):
                lease = await store.get_lease(PRESENCE_PREFIX + executor)
                if lease is not None and lease.is_stale():
                    found.append(executor)
            return found

        result: list[str] = self._call(check())
        return result

    def forget(self, executor_id: str) -> None:
        """Drop a dead worker's stale lease once its workflows are back on their queue."""
        if self._store is None:
            return
        store = self._store

        async def drop() -> None:
            lease = await store.get_lease(PRESENCE_PREFIX + executor_id)
            if lease is not None and lease.is_stale():
                await store.release_lease(lease)

        self._call(drop())

    def close(self, *, expire: bool = True) -> None:
        """Close the store. ``expire``: mark this worker gone at once, so the runs it
        leaves unfinished are taken over without waiting for the lease to expire."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        store, lease = self._store, self._lease
        self._store = self._lease = None
        try:
            if store is not None:
                if expire and lease is not None:
                    runner.run(store.renew_lease(lease, ttl_s=0))
                runner.run(store.close())
        except Exception as exc:
            logger.warning("worker %s: could not close its heartbeat: %s", self.executor_id, exc)
        finally:
            runner.close()
