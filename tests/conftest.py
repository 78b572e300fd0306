"""Shared test fixtures. No test may reach a real model endpoint.

``make_ws`` / ``write_ws`` build small workspaces from file contents written in a test.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest


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
