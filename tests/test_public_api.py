from __future__ import annotations

import subprocess
import sys

import nexus_agents

EXPECTED = {
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
}


def test_exported_names_are_pinned_and_resolve() -> None:
    assert set(nexus_agents.__all__) == EXPECTED
    for name in nexus_agents.__all__:
        assert getattr(nexus_agents, name) is not None


def test_import_loads_no_heavy_dependency() -> None:
    code = (
        "import sys, nexus_agents; "
        "heavy = [m for m in ('langgraph', 'openai', 'duckdb', 'dbos', 'httpx') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
