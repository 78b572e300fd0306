"""Graph specs (YAML) and the shape of the LangGraph graphs built from them.

This package owns what a graph *is*, never what running it writes:

- ``spec`` / ``loader``: the YAML specs, parsed and checked;
- ``builder``: a spec built into a LangGraph ``StateGraph`` (blocks, loops, parallel
  groups, route and loop decisions fused into the node before them); every node comes
  from a ``NodeFactory`` the caller hands in;
- ``state``: the state a graph carries and its reducers (the only copy: ``apply_update``
  and ``changes`` read them);
- ``executor``: the seam to whatever runs an agent step (``StepExecutor``, ``StepResult``,
  ``RunContext``); ``approvals``: the approval request / decision models; ``mermaid``.

Executing nodes (events and records in the run store, usage, actions, approvals) belongs to
``nexus_agents.runs``, one layer up, whose node factory the engine hands to the builder.
This package imports neither ``runs`` nor ``actions``.

Importing this package does not import LangGraph; ``nexus_agents.graphs.builder`` does.
"""

from nexus_agents.graphs.executor import (
    ModelCall,
    RunContext,
    StepContext,
    StepExecutor,
    StepResult,
)
from nexus_agents.graphs.loader import load_graph_specs, load_spec
from nexus_agents.graphs.mermaid import to_mermaid
from nexus_agents.graphs.spec import GraphSpec, parse_spec, validate_names

__all__ = [
    "GraphSpec",
    "ModelCall",
    "RunContext",
    "StepContext",
    "StepExecutor",
    "StepResult",
    "load_graph_specs",
    "load_spec",
    "parse_spec",
    "to_mermaid",
    "validate_names",
]
