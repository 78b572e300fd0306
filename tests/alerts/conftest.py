"""A demo workspace of each test's own (the shared ``demo_workspace`` under this suite's name)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def workspace(demo_workspace: Path) -> Path:
    return demo_workspace
