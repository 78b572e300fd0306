"""A process-wide cap on concurrent model calls.

asyncio primitives belong to one event loop, so the limiter keeps one semaphore per
loop: calls made from different loops (``asyncio.run`` twice, a thread with its own
loop) each get a working semaphore of the configured size.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class ConcurrencyLimiter:
    """At most ``limit`` calls in flight per event loop."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._lock = threading.Lock()
        self._semaphores: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Semaphore
        ] = weakref.WeakKeyDictionary()

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        with self._lock:
            sem = self._semaphores.get(loop)
            if sem is None:
                sem = asyncio.Semaphore(self.limit)
                self._semaphores[loop] = sem
            return sem

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the ``limit`` slots for the duration of the block."""
        async with self._semaphore():
            yield

    def __repr__(self) -> str:
        return f"ConcurrencyLimiter(limit={self.limit})"


_SHARED: dict[int, ConcurrencyLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_limiter(limit: int) -> ConcurrencyLimiter:
    """The process-wide limiter for ``limit`` (every model built from one config shares it)."""
    with _SHARED_LOCK:
        limiter = _SHARED.get(limit)
        if limiter is None:
            limiter = ConcurrencyLimiter(limit)
            _SHARED[limit] = limiter
        return limiter
