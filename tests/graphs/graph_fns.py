"""Functions that test specs reference as ``graph_fns:<name>`` (call steps and routes)."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from nexus_agents.graphs.executor import StepContext


def log_step(state: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    """Append the step id to the log file named in the run inputs."""
    with Path(state["inputs"]["log"]).open("a", encoding="utf-8") as fh:
        fh.write(ctx.step_id + "\n")
    return {"values": {ctx.step_id: "ran"}}


def log_then_die_once(state: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    """Like ``log_step``, but the first time the process kills itself mid-step."""
    marker = Path(state["inputs"]["marker"])
    with Path(state["inputs"]["log"]).open("a", encoding="utf-8") as fh:
        fh.write(ctx.step_id + "\n")
    if not marker.exists():
        marker.write_text("died once", encoding="utf-8")
        os.kill(os.getpid(), signal.SIGKILL)
    return {"values": {ctx.step_id: "ran"}}


async def set_severity(state: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    return {"values": {"severity": state["inputs"]["severity"]}}


def pick_by_input(state: dict[str, Any], ctx: StepContext) -> str:
    return str(state["inputs"]["goto"])


def returns_text(state: dict[str, Any], ctx: StepContext) -> str:
    return "not a dict"


NOT_CALLABLE = 42
