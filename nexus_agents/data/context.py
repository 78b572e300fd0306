"""The workspace a tool call reads its data from.

Tools are pure functions of their pydantic input, but some facts (KPIs, rows of the
backlog ...) come from the workspace data. The runtime binds the workspace around a run
with ``use_workspace(ws)``; a tool calls ``require_workspace()`` to reach it. Context
variables follow asyncio tasks, so concurrent runs on different workspaces do not mix.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from nexus_agents.exceptions import ConfigError

if TYPE_CHECKING:
    from nexus_agents.data.workspace import Workspace

current_workspace: ContextVar[Workspace | None] = ContextVar("current_workspace", default=None)


@contextmanager
def use_workspace(workspace: Workspace) -> Iterator[Workspace]:
    """Bind ``workspace`` for the tools called inside the ``with`` block."""
    token = current_workspace.set(workspace)
    try:
        yield workspace
    finally:
        current_workspace.reset(token)


def require_workspace() -> Workspace:
    """The bound workspace; ConfigError when a data tool is called without one."""
    workspace = current_workspace.get()
    if workspace is None:
        raise ConfigError(
            "this tool reads workspace data but no workspace is bound "
            "(wrap the call in nexus_agents.data.use_workspace(...))"
        )
    return workspace
