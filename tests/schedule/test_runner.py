"""The top layer hands the scheduler its runner: the workspace's ``Nexus.arun_job``."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_agents import api
from nexus_agents.api import default_runner


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

    monkeypatch.setattr(api, "Nexus", Nexus)
    runner = default_runner(tmp_path)
    assert seen == [tmp_path]
    assert runner.__func__ is Nexus.arun_job  # type: ignore[attr-defined]
