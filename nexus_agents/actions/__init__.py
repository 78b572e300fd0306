"""Side effects a graph may take (deploy, publish, status post, backlog append, notify).

Graphs call them through the small ``Integration`` protocol; ``WorkspaceIntegration``
is the default and only writes files in the workspace. Users plug in real ones.
"""

from nexus_agents.actions.base import ActionRequest, ActionResult, Integration
from nexus_agents.actions.workspace import WorkspaceIntegration

__all__ = ["ActionRequest", "ActionResult", "Integration", "WorkspaceIntegration"]
