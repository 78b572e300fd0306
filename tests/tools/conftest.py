"""Fixtures: small workspaces written in the test."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest


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
def make_ws(tmp_path: Path):  # type: ignore[no-untyped-def]
    """``make_ws(files, timezone=..., extra_toml=...)`` -> workspace path under tmp_path."""

    def make(files: dict[str, str | bytes], **kw: str) -> Path:
        return make_workspace(tmp_path / "ws", files, **kw)

    return make


@pytest.fixture
def write_ws():  # type: ignore[no-untyped-def]
    """The plain ``make_workspace(root, files, ...)`` function."""
    return make_workspace
