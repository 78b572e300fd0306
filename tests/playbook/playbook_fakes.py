"""Test helpers for the playbook graphs: roster slugs and the action log.

(The scripted step executor is ``nexus_agents.testing.FakeStepExecutor``.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from nexus_agents.graphs.executor import StepContext
from nexus_agents.graphs.spec import AgentStep
from nexus_agents.paths import shipped_dir

Hook = Callable[[AgentStep, Any, StepContext], Awaitable[None] | None]


def roster_slugs() -> list[str]:
    """The slugs of the shipped prompt files (front matter only)."""
    found = []
    for path in sorted(shipped_dir("prompts").glob("*.md")):
        match = re.search(r"^slug:\s*(\S+)", path.read_text(encoding="utf-8"), re.MULTILINE)
        assert match, path
        found.append(match.group(1))
    return found


def actions_log(workspace: Path) -> list[dict[str, Any]]:
    path = workspace / "actions.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
