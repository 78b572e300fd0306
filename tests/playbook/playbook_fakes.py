"""Test helpers for the playbook graphs: roster slugs, a scripted executor, the action log."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from nexus_agents.graphs.executor import ModelCall, StepContext, StepResult
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


class ScriptedExecutor:
    """Plays scripted artifact parts per step id (``facts``/``narrative``/``derived``).

    ``script[step]`` is a list played one per call (the last repeats); unscripted steps
    return an empty narrative. ``hooks[step]`` runs first (to wait or signal).
    """

    def __init__(
        self,
        script: dict[str, list[dict[str, Any]]] | None = None,
        hooks: dict[str, Hook] | None = None,
    ) -> None:
        self.script = script or {}
        self.hooks = hooks or {}
        self.calls: list[tuple[str, str, int | None]] = []
        self.steps: dict[str, list[AgentStep]] = {}

    def prepare_run(self, spec: Any, state: dict[str, Any]) -> None:
        """Nothing to start early."""

    def forget_run(self, run_id: str) -> None:
        """Nothing held per run."""

    async def run_agent(self, step: AgentStep, state: Any, ctx: StepContext) -> StepResult:
        self.calls.append((step.id, step.agent, ctx.attempt))
        self.steps.setdefault(step.id, []).append(step)
        hook = self.hooks.get(step.id)
        if hook is not None:
            out = hook(step, state, ctx)
            if asyncio.iscoroutine(out):
                await out
        played = [c for c in self.calls if c[0] == step.id]
        parts = self.script.get(step.id) or [{}]
        chosen = parts[min(len(played), len(parts)) - 1]
        artifact = {
            "kind": step.output or "note",
            "facts": chosen.get("facts", {}),
            "narrative": chosen.get("narrative", {}),
            "meta": {"step": step.id, "run_id": ctx.run_id},
        }
        if "derived" in chosen:
            artifact["derived"] = chosen["derived"]
        call = ModelCall(agent=step.agent, model="scripted", total_tokens=1)
        return StepResult(artifact=artifact, calls=[call])

    def ran(self) -> list[str]:
        return [c[0] for c in self.calls]

    def agents(self) -> set[str]:
        return {c[1] for c in self.calls}


def actions_log(workspace: Path) -> list[dict[str, Any]]:
    path = workspace / "actions.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
