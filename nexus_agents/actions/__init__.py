"""Side effects a graph may take (deploy, publish, status post, backlog append, notify).

Graphs call them through the small ``Integration`` protocol; ``WorkspaceIntegration``
is the default and only writes files in the workspace. ``WebhookIntegration`` also
delivers the kinds ``[integrations]`` in ``nexus.toml`` gives a URL (a webhook or Slack);
``integration_for`` picks the one a workspace's configuration asks for. Users can plug in
their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexus_agents._lazy import lazy_exports
from nexus_agents.actions.base import ACTION_KINDS, ActionRequest, ActionResult, Integration
from nexus_agents.actions.ledger import Delivery, DeliveryLedger, redact_url
from nexus_agents.actions.workspace import WorkspaceIntegration

if TYPE_CHECKING:
    from nexus_agents.actions.webhook import WebhookIntegration

__all__ = [
    "ActionRequest",
    "ActionResult",
    "Delivery",
    "DeliveryLedger",
    "Integration",
    "WebhookIntegration",
    "WorkspaceIntegration",
    "integration_for",
    "redact_url",
]


# httpx and tenacity load only when a workspace sends webhooks
__getattr__, __dir__ = lazy_exports(
    __name__, {"WebhookIntegration": "nexus_agents.actions.webhook"}, globals()
)


def integration_for(config: Any, workspace: str | Path) -> Integration:
    """The integration of ``workspace``: webhooks when ``config.integrations`` names any,
    else the workspace files alone."""
    settings = getattr(config, "integrations", None)
    if settings is not None and any(settings.target(kind) for kind in ACTION_KINDS):
        from nexus_agents.actions.webhook import WebhookIntegration

        return WebhookIntegration(workspace, settings)
    return WorkspaceIntegration(workspace)
