"""Typed outputs of agents and workflow steps: facts computed by code plus the model's
narrative. Look classes up with :func:`get_artifact`; render with ``to_markdown()``."""

from nexus_agents.artifacts.base import Artifact, ArtifactMeta, Facts, Narrative
from nexus_agents.artifacts.registry import (
    all_artifacts,
    get_artifact,
    normalize_name,
    register_artifact,
)
from nexus_agents.artifacts.render import render_markdown

__all__ = [
    "Artifact",
    "ArtifactMeta",
    "Facts",
    "Narrative",
    "all_artifacts",
    "get_artifact",
    "normalize_name",
    "register_artifact",
    "render_markdown",
]
