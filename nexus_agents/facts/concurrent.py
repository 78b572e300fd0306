"""Run independent parts of one facts build at the same time.

DuckDB releases the GIL while a query executes, so a builder's independent queries (this
week's KPI report, last week's, the funnel, the cohorts) overlap on a machine with more
than one core. Each part runs with a copy of the caller's context (the bound workspace
and its pinned file view). Parts must not wait for each other.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["together"]

_POOL: list[ThreadPoolExecutor] = []
_LOCK = threading.Lock()
WORKERS = 4


def _pool() -> ThreadPoolExecutor:
    with _LOCK:
        if not _POOL:
            _POOL.append(ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="nexus-facts"))
        return _POOL[0]


def together(first: Callable[[], Any], *others: Callable[[], Any]) -> list[Any]:
    """The results of ``first()`` and ``others`` in order; ``first`` runs in the calling
    thread, the others in worker threads. The first exception raised (in argument order)
    propagates after every part has finished."""
    futures = [_pool().submit(contextvars.copy_context().run, part) for part in others]
    results: list[Any] = []
    error: BaseException | None = None
    try:
        results.append(first())
    except BaseException as exc:
        error = exc
    for future in futures:
        try:
            results.append(future.result())
        except BaseException as exc:
            error = error or exc
    if error is not None:
        raise error
    return results
