"""Fixtures for graph tests: specs from YAML text, a fake executor and an engine."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import yaml
from fake_executor import FakeExecutor

from nexus_agents.graphs.spec import GraphSpec, parse_spec
from nexus_agents.runs.engine import Engine

SPECS_DIR = Path(__file__).parent / "specs"


def spec_from(text: str, file: str = "test.yaml") -> GraphSpec:
    return parse_spec(yaml.safe_load(textwrap.dedent(text)), file)


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
