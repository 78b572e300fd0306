"""A demo workspace per test and a Nexus whose real OpenAI client talks to the mock server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nexus_agents.data.demo import generate_demo


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
