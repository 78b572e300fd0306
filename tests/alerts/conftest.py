"""A demo workspace per test and a Nexus whose real OpenAI client talks to the mock server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nexus_agents.api import Nexus
from nexus_agents.config import load_config
from nexus_agents.data.demo import generate_demo
from nexus_agents.testing.mock_server import MockLLMServer

FAST = {"llm.backoff_base_s": 0.01, "llm.backoff_max_s": 0.05, "llm.timeout_s": 2.0}


@pytest.fixture(scope="session")
def alert_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("alerts") / "demo"
    generate_demo(path, seed=7)
    return path


@pytest.fixture
def workspace(alert_demo: Path, tmp_path: Path) -> Path:
    target = tmp_path / "ws"
    shutil.copytree(alert_demo, target)
    return target


def nexus_on(workspace: Path, server: MockLLMServer) -> Nexus:
    env = {"NEXUS_LLM_BASE_URL": server.base_url, "NEXUS_LLM_API_KEY": "sk-test-alerts"}
    return Nexus(load_config(workspace, env=env, overrides=FAST))
