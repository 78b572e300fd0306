"""nexus_agents: a team of LLM agents that runs the operate-and-evolve phase of a live product.

The public API is listed in ``__all__``; names are imported lazily so that
``import nexus_agents`` stays fast.

Layers, bottom first. A module imports only from its own layer or the ones below it;
where a lower layer needs a higher piece (the scheduler's job runner, the step executor,
LangGraph's entry), the top layer builds it and hands it down. ``tests/test_layering.py``
reads this list and fails on an import that goes up.

- base: _lazy, _version, _yaml, _filecache, _gc, paths, exceptions, periods, config,
  artifacts, demo, untrusted_text, logging_setup, kpi_catalog, _refs, tracing
- workspace: data, actions
- tools: tools
- model: llm
- calendar: schedule
- domain: agents, checks, facts
- build: graphs
- steps: runtime
- execute: runs
- playbook: playbook
- wiring: api, langgraph_entry, evals, testing
- entry: cli, web, __init__
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nexus_agents._lazy import lazy_exports
from nexus_agents._version import __version__

_EXPORTS: dict[str, str] = {
    # entry point and runs
    "Nexus": "nexus_agents.api",
    "RunResult": "nexus_agents.runs.engine",
    # agents, workspace data, periods
    "AgentSpec": "nexus_agents.agents.spec",
    "load_roster": "nexus_agents.agents.roster",
    "Workspace": "nexus_agents.data.workspace",
    "generate_demo": "nexus_agents.data.demo",
    "compute_kpis": "nexus_agents.tools.kpis",
    "Period": "nexus_agents.periods",
    "parse_period": "nexus_agents.periods",
    # test doubles
    "ScriptedModel": "nexus_agents.llm.scripted",
    "MockLLMServer": "nexus_agents.testing.mock_server",
    # configuration and errors
    "NexusConfig": "nexus_agents.config",
    "load_config": "nexus_agents.config",
    "NexusError": "nexus_agents.exceptions",
    "ConfigError": "nexus_agents.exceptions",
    "DataError": "nexus_agents.exceptions",
    "SpecError": "nexus_agents.exceptions",
    "ModelError": "nexus_agents.exceptions",
    "StructuredOutputError": "nexus_agents.exceptions",
    "BudgetExceededError": "nexus_agents.exceptions",
    # model interface
    "ChatModel": "nexus_agents.llm.interface",
    "ChatMessage": "nexus_agents.llm.interface",
    "ChatRequest": "nexus_agents.llm.interface",
    "ChatResponse": "nexus_agents.llm.interface",
    "Usage": "nexus_agents.llm.interface",
    # artifacts and tools
    "Artifact": "nexus_agents.artifacts.base",
    "Facts": "nexus_agents.artifacts.base",
    "Narrative": "nexus_agents.artifacts.base",
    "tool": "nexus_agents.tools.base",
    "Tool": "nexus_agents.tools.base",
}

__all__ = [
    "AgentSpec",
    "Artifact",
    "BudgetExceededError",
    "ChatMessage",
    "ChatModel",
    "ChatRequest",
    "ChatResponse",
    "ConfigError",
    "DataError",
    "Facts",
    "MockLLMServer",
    "ModelError",
    "Narrative",
    "Nexus",
    "NexusConfig",
    "NexusError",
    "Period",
    "RunResult",
    "ScriptedModel",
    "SpecError",
    "StructuredOutputError",
    "Tool",
    "Usage",
    "Workspace",
    "__version__",
    "compute_kpis",
    "generate_demo",
    "load_config",
    "load_roster",
    "parse_period",
    "tool",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:  # pragma: no cover
    from nexus_agents.agents.roster import load_roster
    from nexus_agents.agents.spec import AgentSpec
    from nexus_agents.api import Nexus
    from nexus_agents.artifacts.base import Artifact, Facts, Narrative
    from nexus_agents.config import NexusConfig, load_config
    from nexus_agents.data.demo import generate_demo
    from nexus_agents.data.workspace import Workspace
    from nexus_agents.exceptions import (
        BudgetExceededError,
        ConfigError,
        DataError,
        ModelError,
        NexusError,
        SpecError,
        StructuredOutputError,
    )
    from nexus_agents.llm.interface import ChatMessage, ChatModel, ChatRequest, ChatResponse, Usage
    from nexus_agents.llm.scripted import ScriptedModel
    from nexus_agents.periods import Period, parse_period
    from nexus_agents.runs.engine import RunResult
    from nexus_agents.testing.mock_server import MockLLMServer
    from nexus_agents.tools.base import Tool, tool
    from nexus_agents.tools.kpis import compute_kpis
