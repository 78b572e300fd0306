"""Prompt and graph files are parsed once per version of the file in a process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nexus_agents._filecache import parsed


def test_a_file_is_parsed_again_only_when_it_changes(tmp_path: Path) -> None:
    file = tmp_path / "spec.yaml"
    file.write_text("a: 1\n")
    calls: list[str] = []

    def parse(path: Path) -> str:
        calls.append(path.read_text())
        return path.read_text()

    assert parsed("t1", file, parse) == "a: 1\n"
    assert parsed("t1", file, parse) == "a: 1\n"
    assert len(calls) == 1
    file.write_text("a: 22\n")
    assert parsed("t1", file, parse) == "a: 22\n"
    # same size, new modification time: still seen as a new version
    file.write_text("a: 33\n")
    stat = file.stat()
    os.utime(file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert parsed("t1", file, parse) == "a: 33\n"
    assert len(calls) == 3


def test_errors_are_not_cached_and_missing_files_reach_the_parser(tmp_path: Path) -> None:
    file = tmp_path / "broken.yaml"
    file.write_text("x")
    attempts: list[int] = []

    def parse(path: Path) -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError("bad")
        return "ok"

    with pytest.raises(ValueError):
        parsed("t2", file, parse)
    assert parsed("t2", file, parse) == "ok"
    with pytest.raises(FileNotFoundError):
        parsed("t2", tmp_path / "missing.yaml", lambda p: p.read_text())


def test_an_edited_prompt_file_changes_the_next_roster(tmp_path: Path) -> None:
    from nexus_agents.agents.roster import load_agent_file
    from nexus_agents.paths import shipped_dir

    source = shipped_dir("prompts") / "analytics_reporter.md"
    copy = tmp_path / "analytics_reporter.md"
    copy.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    first = load_agent_file(copy)
    copy.write_text(source.read_text(encoding="utf-8") + "\nOne more rule.\n", encoding="utf-8")
    second = load_agent_file(copy)
    assert "One more rule." not in first.system_prompt
    assert "One more rule." in second.system_prompt
