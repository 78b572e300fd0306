"""Shared test fixtures. No test may reach a real model endpoint.

``make_ws`` / ``write_ws`` build small workspaces from file contents written in a test;
``demo_workspace`` is a private copy of the demo workspace (seed 7), generated once.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest

from nexus_agents.data.demo import generate_demo


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The suite runs on two processes (pytest-xdist); the tests of the one shared
    PostgreSQL database stay on the same process, so they never meet each other."""
    for item in items:
        if item.get_closest_marker("postgres") is not None:
            item.add_marker(pytest.mark.xdist_group("postgres"))


@pytest.fixture(autouse=True)
def _no_real_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's real keys or endpoints."""
    for var in (
        "OPENAI_API_KEY",
        "NEXUS_LLM_API_KEY",
        "NEXUS_LLM_BASE_URL",
        "NEXUS_MODEL",
        "NEXUS_WORKSPACE",
        "NEXUS_DATABASE_URL",
    ):
        monkeypatch.delenv(var, raising=False)

def make_workspace(
    root: Path, files: dict[str, str | bytes], *, timezone: str = "UTC", extra_toml: str = ""
) -> Path:
    """A workspace in ``root`` with ``nexus.toml`` and the given ``data/`` files."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "nexus.toml").write_text(
        f'[product]\nname = "Test"\ntimezone = "{timezone}"\n{extra_toml}', encoding="utf-8"
    )
    for name, content in files.items():
        target = root / "data" / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(dedent(content).lstrip("\n"), encoding="utf-8")
    return root


@pytest.fixture
def make_ws(tmp_path: Path) -> Callable[..., Path]:
    """``make_ws(files, timezone=..., extra_toml=...)`` -> workspace path under tmp_path."""

    def make(files: dict[str, str | bytes], **kw: str) -> Path:
        return make_workspace(tmp_path / "ws", files, **kw)

    return make


@pytest.fixture
def write_ws() -> Callable[..., Path]:
    """The plain ``make_workspace(root, files, ...)`` function."""
    return make_workspace


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo workspace (seed 7), generated once per session: never write into it."""
    path = tmp_path_factory.mktemp("demo-template") / "ws"
    generate_demo(path, seed=7)
    return path


@pytest.fixture
def demo_workspace(demo_template: Path, tmp_path: Path) -> Path:
    """A copy of the demo workspace of this test's own."""
    target = tmp_path / "ws"
    shutil.copytree(demo_template, target)
    return target
