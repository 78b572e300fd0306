"""Fixtures for the shipped playbook graphs: the real specs and engines on a tmp workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from nexus_agents.config import load_config
from nexus_agents.graphs.loader import load_graph_specs
from nexus_agents.graphs.spec import GraphSpec
from nexus_agents.runs.engine import Engine


@pytest.fixture(scope="session")
def specs() -> dict[str, GraphSpec]:
    return load_graph_specs()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "data").mkdir(parents=True)
    return ws


@pytest.fixture
async def make_engine(
    workspace: Path, specs: dict[str, GraphSpec]
) -> AsyncIterator[Callable[..., Awaitable[Engine]]]:
    engines: list[Engine] = []

    async def factory(executor: Any, **kwargs: Any) -> Engine:
        engine = await Engine.open(
            specs=specs, executor=executor, workspace=workspace, config=load_config(workspace), **kwargs
        )
        engines.append(engine)
        return engine

    yield factory
    for engine in engines:
        await engine.close()
