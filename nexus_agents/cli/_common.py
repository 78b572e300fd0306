"""What the command modules share: exit codes, workspace detection, interruptible runs."""

from __future__ import annotations

import os
import signal
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from nexus_agents.exceptions import ConfigError

T = TypeVar("T")

EXIT_OK = 0
EXIT_FAILED = 1  # a run (or eval gate) failed
EXIT_USAGE = 2  # usage or configuration error
EXIT_WAITING = 3  # the run waits for an approval
EXIT_INTERRUPTED = 130  # Ctrl-C / SIGTERM

EXIT_CODES_HELP = (
    "Exit codes: 0 succeeded, 1 run failed, 2 usage or configuration error, "
    "3 waiting for approval, 130 interrupted."
)

_STATUS_EXIT = {
    "succeeded": EXIT_OK,
    "failed": EXIT_FAILED,
    "cancelled": EXIT_FAILED,
    "waiting_approval": EXIT_WAITING,
    "interrupted": EXIT_INTERRUPTED,
}


def exit_code_for(status: str) -> int:
    """The exit code of a command that leaves a run in ``status``."""
    return _STATUS_EXIT.get(status, EXIT_OK)


def is_workspace(path: Path) -> bool:
    """A folder is a workspace when it has ``nexus.toml`` (or a ``.nexus/`` run folder)."""
    return (path / "nexus.toml").is_file() or (path / ".nexus").is_dir()


def workspace_dir(workspace: str | Path | None) -> Path:
    """The workspace a command works on (``-w``, ``NEXUS_WORKSPACE``, else the current
    folder); a folder that is not one is refused before anything is written to it."""
    path = Path(workspace if workspace is not None else os.environ.get("NEXUS_WORKSPACE") or ".")
    shown = "the current folder" if str(path) == "." else str(path)
    if not path.is_dir():
        raise ConfigError(f"workspace {shown} does not exist; create one with: nexus init {path}")
    if not is_workspace(path):
        raise ConfigError(
            f"{shown} is not a nexus workspace (no nexus.toml); create one with "
            "'nexus init DIR' (or 'nexus init DIR --demo'), or pass -w DIR"
        )
    return path


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM stops the command as Ctrl-C does (KeyboardInterrupt)."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. a test runner thread)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)`` where SIGTERM interrupts like Ctrl-C: the running task is
    cancelled (a run in progress records itself interrupted) and KeyboardInterrupt is
    raised."""
    import asyncio

    with sigterm_as_interrupt():
        return asyncio.run(coro)
