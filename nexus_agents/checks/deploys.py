"""Deployment pipeline watch (DevOps Automator, continuous).

Something is wrong when a service's most recent deployment in the last 24 hours failed
and has not been rolled back: the DevOps Automator must decide on a rollback.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from nexus_agents.checks._window import fmt, local_now, open_workspace
from nexus_agents.schedule.jobs import Trigger

if TYPE_CHECKING:
    from nexus_agents.data.rows import DeploymentRow
    from nexus_agents.schedule.checks import CheckContext

__all__ = ["LOOKBACK", "pipeline_health"]

LOOKBACK = timedelta(hours=24)


def pipeline_health(ctx: CheckContext) -> Trigger | None:
    """A trigger naming each service whose latest recent deploy failed."""
    from nexus_agents.data.rows import deployment_rows

    workspace = open_workspace(ctx)
    if not workspace.has("deployments"):
        return None
    now = local_now(workspace, ctx.now)
    start = now - LOOKBACK
    latest: dict[str, DeploymentRow] = {}
    for row in deployment_rows(workspace):
        if not start < row.deployed_at <= now:
            continue
        if row.service not in latest or row.deployed_at >= latest[row.service].deployed_at:
            latest[row.service] = row
    failed = sorted((r for r in latest.values() if r.status == "failed"), key=lambda r: r.service)
    if not failed:
        return None
    names = ", ".join(f"{r.service} {r.version or ''}".strip() for r in failed)
    return Trigger(
        kind="deploy_failure",
        summary=f"latest deployment failed and was not rolled back: {names}",
        details={
            "deployments": [
                {"service": r.service, "version": r.version, "deployed_at": fmt(r.deployed_at)}
                for r in failed
            ]
        },
    )
