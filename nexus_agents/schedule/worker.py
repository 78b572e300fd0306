"""The foreground worker: fires schedules, drains the queue, stops cleanly on a signal."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from nexus_agents.schedule.engine import ScheduleEngine

logger = logging.getLogger(__name__)


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Set ``stop`` on SIGINT / SIGTERM while inside the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def serve(
    engine: ScheduleEngine,
    stop: threading.Event,
    *,
    sync: bool = True,
    until_idle: bool = False,
    on_event: Callable[[str], None] | None = None,
) -> None:
    """Run a worker until ``stop`` is set (or, with ``until_idle``, until nothing is left).

    On start it applies the calendar (``sync``) and queues missed periods per each job's
    catch-up policy. Runs still going at shutdown are recovered by the next worker
    started with the same worker id.
    """
    def say(message: str, event: str, **fields: object) -> None:
        logger.info(message, extra={"event": event, **fields})
        if on_event is not None:
            on_event(message)

    engine.launch()
    try:
        cadences = engine.queues != "runs"
        if sync and cadences:
            applied, removed = engine.sync()
            say(
                f"synced {len(applied)} schedules" + (f", removed {removed}" if removed else ""),
                "sync",
                schedules=len(applied),
                removed=removed,
            )
        for item in engine.catch_up() if cadences else []:
            say(f"catching up {item.thread_id}", "catch_up", thread_id=item.thread_id)
        for dead in engine.recover_dead_workers():
            say(f"took over the unfinished runs of worker {dead}", "recovered", dead_worker=dead)
        queues = [q for q in engine.listened if not q.endswith("_fire")]
        say(
            f"worker {engine.executor_id} running (queue {', '.join(queues)})",
            "worker_started",
            worker_id=engine.executor_id,
            queue=",".join(queues),
        )
        while not stop.wait(engine.poll_interval_s):
            for dead in engine.tick():
                say(f"took over the unfinished runs of worker {dead}", "recovered", dead_worker=dead)
            if until_idle and not engine.busy():
                break
    finally:
        say("worker stopping", "worker_stopping", worker_id=engine.executor_id)
        engine.shutdown()


def run_worker(
    engine: ScheduleEngine,
    *,
    sync: bool = True,
    until_idle: bool = False,
    on_event: Callable[[str], None] | None = None,
) -> None:
    """``serve`` in the foreground, stopping on SIGINT / SIGTERM."""
    stop = threading.Event()
    with stop_on_signals(stop):
        serve(engine, stop, sync=sync, until_idle=until_idle, on_event=on_event)
