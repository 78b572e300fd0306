"""Fixtures for graph tests: specs from YAML text, a fake executor and an engine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from nexus_agents.graphs.spec import GraphSpec
from nexus_agents.runs.engine import Engine
from nexus_agents.testing.fake_executor import FakeStepExecutor


@pytest.fixture
def fake() -> FakeStepExecutor:
    return FakeStepExecutor()


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
