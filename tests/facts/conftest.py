"""Shared fixtures for the facts-builder tests: one demo workspace per test session."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from nexus_agents.data.demo import DemoFacts, generate_demo
from nexus_agents.data.workspace import Workspace
from nexus_agents.facts import FactsContext
from nexus_agents.periods import Period, parse_period


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, DemoFacts]:
    """The demo workspace (seed 7) and its planted facts, built once."""
    path = tmp_path_factory.mktemp("facts_demo")
    facts = generate_demo(path, seed=7)
    return Workspace(path), facts


@pytest.fixture
def make_ctx(demo: tuple[Workspace, DemoFacts]) -> Callable[..., FactsContext]:
    """``make_ctx("2026-W47", state=..., options=..., workspace=...)`` -> FactsContext.

    ``as_of`` defaults to what the runtime uses: the period's end, or the workspace's
    fixed 'now' when that comes first.
    """

    def make(
        period: str | Period,
        *,
        workspace: Workspace | None = None,
        as_of: datetime | None = None,
        **kw: Any,
    ) -> FactsContext:
        ws = workspace or demo[0]
        p = parse_period(period) if isinstance(period, str) else period
        return FactsContext(workspace=ws, period=p, as_of=as_of or min(ws.now(), p.end), **kw)

    return make


@pytest.fixture
def empty_ws(tmp_path: Path) -> Workspace:
    """A workspace with a nexus.toml and an empty data/ folder."""
    (tmp_path / "data").mkdir()
    (tmp_path / "nexus.toml").write_text(
        '[product]\nname = "Empty"\ntimezone = "UTC"\n[data]\nas_of = 2026-11-27T00:00:00\n',
        encoding="utf-8",
    )
    return Workspace(tmp_path)


@pytest.fixture(scope="session")
def demo_ws(demo: tuple[Workspace, DemoFacts]) -> Workspace:
    """The session's demo workspace."""
    return demo[0]


@pytest.fixture(scope="session")
def demo_facts(demo: tuple[Workspace, DemoFacts]) -> DemoFacts:
    """The situations planted in the session's demo workspace."""
    return demo[1]
