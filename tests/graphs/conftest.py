"""Fixtures for graph tests: specs from YAML text, a fake executor and an engine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from fake_executor import FakeExecutor

from nexus_agents.graphs.spec import GraphSpec
from nexus_agents.runs.engine import Engine


@pytest.fixture
def fake() -> FakeExecutor:
    return FakeExecutor()


@pytest.fixture
async def make_engine(tmp_path: Path) -> AsyncIterator[Callable[..., object]]:
    engines: list[Engine] = []

    async def factory(specs: dict[str, GraphSpec], executor: object, **kwargs: object) -> Engine:
        engine = await Engine.open(specs=specs, executor=executor, workspace=tmp_path, **kwargs)  # type: ignore[arg-type]
        engines.append(engine)
        return engine

    yield factory
    for engine in engines:
        await engine.close()
