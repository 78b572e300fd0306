"""Shared helpers for the facts-builder tests."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from nexus_agents.artifacts.base import Facts
from nexus_agents.artifacts.registry import get_artifact
from nexus_agents.data.workspace import Workspace
from nexus_agents.facts import FactsContext, builder_for
from nexus_agents.facts.bundle import FactBundle
from nexus_agents.periods import parse_period


def build(
    ws: Workspace,
    kind: str,
    period: str,
    *,
    as_of: datetime | None = None,
    state: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
) -> tuple[FactBundle, Facts]:
    """Run the builder of ``kind`` and validate its facts into the artifact's model."""
    ctx = FactsContext(
        workspace=ws,
        period=parse_period(period),
        as_of=as_of or ws.now(),
        state=state or {},
        options=options or {},
    )
    bundle = builder_for(kind)(ctx)
    return bundle, get_artifact(kind).facts_model().model_validate(bundle.facts)


def trusted_text(bundle: FactBundle) -> str:
    return json.dumps({"facts": bundle.facts, "context": bundle.context}, default=str)


def copy_without(ws: Workspace, dest: Path, *files: str) -> Workspace:
    """A copy of ``ws`` without the named data files."""
    shutil.copytree(ws.path, dest)
    for name in files:
        (dest / "data" / name).unlink()
    return Workspace(dest)
