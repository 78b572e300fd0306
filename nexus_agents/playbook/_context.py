"""Helpers shared by the playbook's call steps: where the workspace is, what time it is,
and how a call step publishes an artifact."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexus_agents.graphs.executor import StepContext

if TYPE_CHECKING:
    from nexus_agents.data.workspace import Workspace


def workspace_path(state: dict[str, Any], ctx: StepContext) -> Path | None:
    """The run's workspace folder: run extras, the bound workspace, the config, or inputs."""
    extra = ctx.run.extras.get("workspace")
    if extra is not None:
        return Path(getattr(extra, "path", extra))
    from nexus_agents.data.context import current_workspace

    bound = current_workspace.get()
    if bound is not None:
        return bound.path
    configured = getattr(ctx.run.config, "workspace", None)
    if configured is not None:
        return Path(configured)
    given = (state.get("inputs") or {}).get("workspace")
    return Path(given) if given else None


def workspace_of(state: dict[str, Any], ctx: StepContext) -> Workspace | None:
    """The run's ``Workspace`` (None when the run knows no workspace folder)."""
    extra = ctx.run.extras.get("workspace")
    from nexus_agents.data.workspace import Workspace

    if isinstance(extra, Workspace):
        return extra
    from nexus_agents.data.context import current_workspace

    bound = current_workspace.get()
    if bound is not None:
        return bound
    path = workspace_path(state, ctx)
    if path is None:
        return None
    config = ctx.run.config if getattr(ctx.run.config, "workspace", None) == path else None
    return Workspace(path, config=config)


def now_of(state: dict[str, Any]) -> datetime:
    """``inputs.now`` (ISO text, for replays and tests) or the clock, timezone-aware."""
    given = (state.get("inputs") or {}).get("now")
    if given:
        moment = datetime.fromisoformat(str(given))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.now(UTC)


async def publish(ctx: StepContext, data: dict[str, Any], markdown: str | None = None) -> None:
    """Store an artifact a call step built, as agent steps' artifacts are stored."""
    store = ctx.run.store
    if store is not None:
        await store.save_artifact(ctx.run_id, ctx.step_id, data, markdown=markdown)


def artifact(state: dict[str, Any], step_id: str) -> dict[str, Any]:
    """The artifact a step left in the state ({} when it did not run)."""
    found = (state.get("artifacts") or {}).get(step_id)
    return dict(found) if isinstance(found, dict) else {}


def part(data: dict[str, Any], name: str) -> dict[str, Any]:
    """``facts`` / ``narrative`` / ``derived`` of an artifact, as a dict."""
    found = data.get(name)
    return dict(found) if isinstance(found, dict) else {}
