"""Every shipped graph for LangGraph's own tooling (``langgraph.json`` points here).

Each name is a zero-argument factory that compiles the shipped spec with the executor of
the workspace in ``NEXUS_WORKSPACE`` (``nexus_agents.api.default_executor``); it sits on
top, beside ``api``, because it wires the pieces together. Runs need a ``RunContext`` as
LangGraph runtime context (``context=RunContext(run_id=..., graph=...)``).

Building a graph reads files (the specs, the workspace's config and prompts). ``langgraph
dev`` calls a factory on its event loop and refuses blocking calls there, so a factory
called inside a running loop returns a coroutine that builds the graph in a worker thread
(langgraph-api awaits it); called outside one, it returns the compiled graph.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

GRAPH_NAMES: tuple[str, ...] = (
    "cadence_run",
    "compliance_check",
    "content_ops",
    "feature_cycle",
    "financial_review",
    "growth_review",
    "improvement_loop",
    "incident_response",
    "preconditions",
    "strategic_review",
)
__all__ = ["GRAPH_NAMES", "build", *GRAPH_NAMES]


def build(name: str, executor: Any = None) -> Any:
    """Compile the shipped graph ``name`` (sub-graphs resolved among the shipped specs)."""
    from nexus_agents.graphs.loader import load_graph_specs
    from nexus_agents.runs.nodes import compile_run_graph

    specs = load_graph_specs()
    if executor is None:
        from nexus_agents.api import default_executor

        executor = default_executor()
    return compile_run_graph(specs[name], executor, specs=specs)


def _factory(name: str) -> Callable[[], Any]:
    def make() -> Any:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return build(name)
        return asyncio.to_thread(build, name)

    make.__name__ = name
    make.__qualname__ = name
    make.__doc__ = f"The compiled ``{name}`` graph."
    return make


cadence_run = _factory("cadence_run")
compliance_check = _factory("compliance_check")
content_ops = _factory("content_ops")
feature_cycle = _factory("feature_cycle")
financial_review = _factory("financial_review")
growth_review = _factory("growth_review")
improvement_loop = _factory("improvement_loop")
incident_response = _factory("incident_response")
preconditions = _factory("preconditions")
strategic_review = _factory("strategic_review")
