"""Processes nexus owns keep their start-up objects out of full garbage collections."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import gc, sys
from nexus_agents._gc import freeze_startup_objects
assert gc.get_freeze_count() == 0
freeze_startup_objects()
first = gc.get_freeze_count()
freeze_startup_objects()
assert gc.get_freeze_count() == first, "froze twice"
assert "langgraph" in sys.modules and "duckdb" in sys.modules and "openai" in sys.modules
print(first)
"""


def test_start_up_objects_are_frozen_once_with_the_run_modules_loaded() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) > 50_000  # the imported libraries' objects


def test_commands_that_only_read_do_not_import_the_run_modules(tmp_path: Path) -> None:
    (tmp_path / "nexus.toml").write_text("", encoding="utf-8")  # a workspace
    code = (
        "import sys, gc\n"
        "from nexus_agents.cli.runs import _nexus\n"
        f"_nexus({str(tmp_path)!r})\n"
        "print(gc.get_freeze_count(), 'langgraph' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "False"]
