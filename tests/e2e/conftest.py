"""One demo workspace per test module; tests that write get their own copy."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from nexus_agents.data.demo import DemoFacts, generate_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoFacts]:
    """The demo workspace (seed 7) and its planted situations, generated once per module."""
    path = tmp_path_factory.mktemp("demo") / "ws"
    return path, generate_demo(path, seed=7)


@pytest.fixture
def demo_copy(demo: tuple[Path, DemoFacts], tmp_path: Path) -> Callable[[], Path]:
    """``demo_copy()`` -> a fresh copy of the module's demo workspace for a test that writes."""

    def copy() -> Path:
        dest = tmp_path / f"ws{len(list(tmp_path.iterdir()))}"
        shutil.copytree(demo[0], dest, ignore=shutil.ignore_patterns(".nexus"))
        return dest

    return copy
