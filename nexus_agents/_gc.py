"""Keep a process's start-up objects out of full garbage collections.

Once LangGraph, openai, pydantic models and DuckDB are imported, the interpreter tracks
a few hundred thousand objects that live as long as the process, and every full
collection walks all of them (about 0.1 s on a small VM, landing in the middle of a run).
``gc.freeze()`` moves them to a generation that is never collected. Only processes nexus
owns do this (the CLI commands that run graphs and the scheduler worker); an application
that embeds nexus decides for itself.
"""

from __future__ import annotations

import gc
import importlib

__all__ = ["freeze_startup_objects"]

# what every run imports: loaded before the freeze so their objects are frozen too
RUN_MODULES = (
    "nexus_agents.runs.engine",
    "nexus_agents.runs.nodes",
    "nexus_agents.runtime.executor",
    "nexus_agents.llm.openai_model",
    "nexus_agents.data.workspace",
    "langgraph.checkpoint.sqlite.aio",
    "openai",
    "duckdb",
)
_frozen: list[bool] = []


def freeze_startup_objects() -> None:
    """Import what a run needs, collect young garbage, then freeze (once per process)."""
    if _frozen:
        return
    for name in RUN_MODULES:
        importlib.import_module(name)
    gc.collect(1)
    gc.freeze()
    _frozen.append(True)
