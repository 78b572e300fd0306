"""Fixtures of the reliability tests: one demo workspace generated per session, copied
per test, and one clean improvement-loop iteration to compare faulty runs against."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rel_support import comparable, iterate, nexus_for

from nexus_agents.data.demo import generate_demo
from nexus_agents.testing.mock_server import MockLLMServer
from nexus_agents.testing.playbook_author import PlaybookAuthor


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "demo"
    generate_demo(path, seed=7)
    return path


@pytest.fixture
def make_workspace(demo_template: Path, tmp_path: Path) -> Callable[[str], Path]:
    def make(name: str = "ws") -> Path:
        target = tmp_path / name
        shutil.copytree(demo_template, target)
        return target

    return make


@pytest.fixture
def workspace(make_workspace: Callable[[str], Path]) -> Path:
    return make_workspace("ws")


@pytest.fixture(scope="session")
def clean_run(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An uninterrupted, fault-free iteration (deploy approved): the reference artifacts."""
    ws = tmp_path_factory.mktemp("clean") / "ws"
    shutil.copytree(demo_template, ws)
    with MockLLMServer(responder=PlaybookAuthor()) as server:
        result = asyncio.run(iterate(nexus_for(ws, server)))
        requests = server.stats.requests
    assert result.status == "succeeded", result.error
    return {"artifacts": comparable(result.artifacts), "requests": requests, "workspace": ws}
