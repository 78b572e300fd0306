"""A Nexus whose real OpenAI client talks to the mock server (imported by the alert tests)."""

from __future__ import annotations

from pathlib import Path

from nexus_agents.api import Nexus
from nexus_agents.config import load_config
from nexus_agents.testing.mock_server import MockLLMServer

FAST = {"llm.backoff_base_s": 0.01, "llm.backoff_max_s": 0.05, "llm.timeout_s": 2.0}


def nexus_on(workspace: Path, server: MockLLMServer) -> Nexus:
    env = {"NEXUS_LLM_BASE_URL": server.base_url, "NEXUS_LLM_API_KEY": "sk-test-alerts"}
    return Nexus(load_config(workspace, env=env, overrides=FAST))
