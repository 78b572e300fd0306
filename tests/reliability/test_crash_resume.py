"""Crash and resume: an iteration in a subprocess is killed with SIGKILL at a step
boundary or inside a model call, then resumed here. The result matches an uninterrupted
run, and no action (deploy, backlog append) is executed twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rel_support import (
    RUN_TIMEOUT_S,
    action_kinds,
    backlog_ids,
    backlog_statuses,
    comparable,
    nexus_for,
    stored_steps,
)

from nexus_agents.api import Nexus
from nexus_agents.runs.engine import RunResult
from nexus_agents.testing.faults import FaultKind
from nexus_agents.testing.mock_server import MockLLMServer
from nexus_agents.testing.playbook_author import PlaybookAuthor

CHILD = Path(__file__).with_name("crash_child.py")
RELEASE_CALL = 8  # the reality checker's request in an iteration


class KillChildOnRequest:
    """PlaybookAuthor that SIGKILLs the child while the child waits for request ``number``."""

    def __init__(self, number: int | None) -> None:
        self.author = PlaybookAuthor()
        self.number = number
        self.seen = 0
        self.pid: int | None = None

    def __call__(self, request: dict[str, Any]) -> Any:
        self.seen += 1
        if self.seen == self.number and self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
            return FaultKind.RESET  # nobody is listening any more
        return self.author(request)


async def finish(nx: Nexus, run_id: str) -> RunResult:
    async def go() -> RunResult:
        result = await nx.aresume(run_id)
        while result.status == "waiting_approval" and result.pending is not None:
            options = result.pending.options
            result = await nx.aresume(run_id, "approve" if "approve" in options else "decompose")
        return result

    return await asyncio.wait_for(go(), RUN_TIMEOUT_S)


# (where the child dies, steps stored when it died, model calls redone after the crash)
BOUNDARIES = [
    ("finished:measure", set(), 1),  # model answered, checkpoint not written: redo measure
    ("started:producer_review", {"measure", "feedback_insights", "data_analysis", "plan"}, 0),
    ("started:release", {"plan", "producer_review", "build", "validate"}, 0),
    (f"model:{RELEASE_CALL}", {"build", "validate"}, 1),  # killed inside the release call
    ("action:deploy", {"release", "deploy_decision"}, 0),  # deployed, not yet recorded
]


@pytest.mark.slow  # runs and SIGKILLs an iteration in a subprocess, then resumes it
@pytest.mark.parametrize(("kill_at", "stored_before", "redone"), BOUNDARIES)
async def test_killed_iteration_resumes_to_the_same_result_without_repeating_actions(
    kill_at: str,
    stored_before: set[str],
    redone: int,
    workspace: Path,
    demo_template: Path,
    clean_run: dict[str, Any],
) -> None:
    run_id = "crash-test-run"
    responder = KillChildOnRequest(
        int(kill_at.split(":")[1]) if kill_at.startswith("model:") else None
    )
    child_kill = "none" if kill_at.startswith("model:") else kill_at
    with MockLLMServer(responder=responder) as server:
        proc = subprocess.Popen(
            [sys.executable, str(CHILD), str(workspace), server.base_url, run_id, child_kill],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        responder.pid = proc.pid
        out, err = proc.communicate(timeout=RUN_TIMEOUT_S)
        assert proc.returncode == -signal.SIGKILL, (out, err)
        assert stored_before <= await stored_steps(workspace, run_id)
        deploys_before = action_kinds(workspace).count("deploy")
        assert deploys_before == (1 if kill_at == "action:deploy" else 0)

        result = await finish(nexus_for(workspace, server), run_id)
        requests = server.stats.requests
    assert result.status == "succeeded", result.error
    assert comparable(result.artifacts) == clean_run["artifacts"]
    assert requests == clean_run["requests"] + redone
    assert action_kinds(workspace) == ["deploy"]  # exactly once, whatever the crash point
    assert backlog_ids(workspace) == backlog_ids(demo_template)


@pytest.mark.slow  # runs and kills an iteration in a subprocess, then resumes it
@pytest.mark.parametrize("kill_at", ["action:backlog_append", "written:backlog_append"])
async def test_killed_after_a_backlog_append_does_not_append_twice(
    workspace: Path, demo_template: Path, kill_at: str
) -> None:
    """QA fails three times and the escalation is decided 'decompose', so a follow-up
    item is appended; the child dies right after the append, before the engine recorded
    it (``action:``), or right after the CSV write, before even the integration's own
    log line (``written:``). On resume the row is there exactly once."""
    from nexus_agents.testing.playbook_author import AuthorScenario

    run_id = "crash-backlog"
    failing_qa = PlaybookAuthor(AuthorScenario(qa_failures=3))
    with MockLLMServer(responder=failing_qa) as server:
        proc = subprocess.run(
            [
                sys.executable,
                str(CHILD),
                str(workspace),
                server.base_url,
                run_id,
                kill_at,
            ],
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
        )
        assert proc.returncode == -signal.SIGKILL, (proc.stdout, proc.stderr)
        appended = backlog_ids(workspace)
        assert len(appended) == len(backlog_ids(demo_template)) + 1
        result = await finish(nexus_for(workspace, server), run_id)
    assert result.status == "succeeded", result.error
    assert backlog_ids(workspace) == appended
    assert action_kinds(workspace) == ["backlog_append"]


async def test_killed_between_marking_shipped_and_the_record_ships_once(
    workspace: Path, demo_template: Path
) -> None:
    """The deploy marks its backlog item shipped, then the child dies before the action
    log line: on resume the deploy is recorded once and the file is as one marking left it."""
    run_id = "crash-shipped"
    with MockLLMServer(responder=PlaybookAuthor()) as server:
        proc = subprocess.run(
            [sys.executable, str(CHILD), str(workspace), server.base_url, run_id, "written:deploy"],
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
        )
        assert proc.returncode == -signal.SIGKILL, (proc.stdout, proc.stderr)
        assert action_kinds(workspace) == []
        marked = (workspace / "data" / "backlog.csv").read_bytes()
        result = await finish(nexus_for(workspace, server), run_id)
    assert result.status == "succeeded", result.error
    assert action_kinds(workspace) == ["deploy"]
    assert (workspace / "data" / "backlog.csv").read_bytes() == marked
    shipped = backlog_statuses(workspace)
    before = backlog_statuses(demo_template)
    changed = {i for i in shipped if shipped[i] != before[i]}
    assert len(changed) == 1 and shipped[changed.pop()] == "shipped"
