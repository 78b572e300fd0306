"""The dashboard tests need the web stack (the ``web`` extra: starlette, jinja2)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the web extra (starlette, jinja2) is not installed")
pytest.importorskip("jinja2", reason="the web extra (starlette, jinja2) is not installed")


@pytest.fixture
def workspace(demo_workspace: Path) -> Path:
    return demo_workspace
