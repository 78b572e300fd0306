"""Time helpers shared by the checks: workspace-local 'now' and look-back windows."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nexus_agents.data.workspace import Workspace
    from nexus_agents.schedule.checks import CheckContext


def open_workspace(ctx: CheckContext) -> Workspace:
    from nexus_agents.data.workspace import Workspace

    return Workspace(ctx.workspace)


def local_now(workspace: Workspace, now: datetime) -> datetime:
    """``now`` as naive workspace time, the way the data files' timestamps are loaded."""
    return workspace.local(now)


def fmt(moment: datetime) -> str:
    return moment.isoformat(timespec="minutes")
