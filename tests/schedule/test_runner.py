"""The default runner hands jobs to the graph engine, or says clearly that it cannot."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from nexus_agents.exceptions import NexusError
from nexus_agents.schedule.runner import default_runner


def _fake_api(monkeypatch: pytest.MonkeyPatch, nexus_cls: type | None) -> None:
    module = types.ModuleType("nexus_agents.api")
    if nexus_cls is not None:
        module.Nexus = nexus_cls  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "nexus_agents.api", module)


def test_missing_arun_job_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class Nexus:
        @classmethod
        def from_workspace(cls, ws: Path) -> Nexus:
            return cls()

    _fake_api(monkeypatch, Nexus)
    with pytest.raises(NexusError, match="graph engine not available"):
        default_runner(Path("."))


def test_runner_is_the_workspace_engines_arun_job(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[Path] = []

    class Nexus:
        @classmethod
        def from_workspace(cls, ws: Path) -> Nexus:
            seen.append(ws)
            return cls()

        async def arun_job(self, job: object, period: object, thread_id: str) -> str:
            return f"ran {thread_id}"

    _fake_api(monkeypatch, Nexus)
    runner = default_runner(tmp_path)
    assert seen == [tmp_path]
    assert runner.__func__ is Nexus.arun_job  # type: ignore[attr-defined]
