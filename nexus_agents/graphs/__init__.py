"""Graph specs (YAML) and their compilation into LangGraph graphs.

Importing this package does not import LangGraph; ``nexus_agents.graphs.compiler`` does.
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
