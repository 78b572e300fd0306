"""The integration protocol every action goes through."""

from __future__ import annotations

from typing import Any, Literal, Protocol, get_args, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ACTION_KINDS", "ActionKind", "ActionRequest", "ActionResult", "Integration"]

ActionKind = Literal["deploy", "publish", "status_post", "backlog_append", "notify"]
ACTION_KINDS: tuple[str, ...] = get_args(ActionKind)


class ActionRequest(BaseModel):
    """One action to execute. ``idempotency_key`` is ``<run_id>:<step_id>``.

    An integration that talks to a real system should pass the key along (or
    remember it) so a retried request is not executed twice.
    """

    model_config = ConfigDict(extra="forbid")

    kind: ActionKind
    idempotency_key: str
    run_id: str
    step_id: str
    payload: dict[str, Any] = Field(default_factory=dict)


class ActionResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ok: bool = True
    detail: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


@runtime_checkable
class Integration(Protocol):
    """What a graph's action steps call.

    ``deploy`` of a backlog item (``deployed_item(request.payload)`` names it) should mark
    the item shipped where the backlog lives, so sprint planning does not select it again;
    ``backlog_append`` receives text written by a model: store it as data, never as a
    formula or markup. ``WorkspaceIntegration`` does both for ``data/backlog.csv``.
    """

    async def deploy(self, request: ActionRequest) -> ActionResult: ...

    async def publish(self, request: ActionRequest) -> ActionResult: ...

    async def status_post(self, request: ActionRequest) -> ActionResult: ...

    async def backlog_append(self, request: ActionRequest) -> ActionResult: ...

    async def notify(self, request: ActionRequest) -> ActionResult: ...


async def dispatch(integration: Integration, request: ActionRequest) -> ActionResult:
    """Call the integration method named by ``request.kind``."""
    method = getattr(integration, request.kind)
    result = await method(request)
    if not isinstance(result, ActionResult):
        result = ActionResult.model_validate(result or {})
    return result
