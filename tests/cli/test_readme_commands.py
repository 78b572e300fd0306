"""The README's command table names only commands and options that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nexus_agents.cli.main import app

README = Path(__file__).resolve().parents[2] / "README.md"
GROUPS = {"agents", "graph", "runs", "artifacts", "actions", "schedule", "eval"}


def _table() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Command line", 1)[1].split("```", 2)[1]
    return [line for line in section.splitlines() if line.startswith("nexus ")]


def _usages() -> list[tuple[list[str], list[str]]]:
    """(command words, options named) for every command the table mentions."""
    out: list[tuple[list[str], list[str]]] = []
    for line in _table():
        usage = re.split(r"\s{2,}", line.strip())[0]  # drop the description column
        words = usage.split()
        command = words[1]
        rest = usage.split(command, 1)[1]
        if command not in GROUPS:
            out.append(([command], re.findall(r"--[a-z][a-z-]*", rest)))
            continue
        for alternative in rest.split("|"):
            parts = alternative.split()
            out.append(([command, parts[0]], re.findall(r"--[a-z][a-z-]*", alternative)))
    return out


def test_the_table_is_found() -> None:
    assert len(_usages()) >= 20


@pytest.mark.parametrize(("words", "options"), _usages(), ids=lambda v: " ".join(v) if v else "")
def test_each_command_and_option_in_the_readme_exists(words: list[str], options: list[str]) -> None:
    result = CliRunner().invoke(app, [*words, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for option in options:
        assert option in result.output, f"{' '.join(words)}: {option} not in its help"
