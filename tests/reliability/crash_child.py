"""Run by the crash tests in a subprocess: one improvement-loop iteration (deploy approved)
that kills itself with SIGKILL at a chosen point.

``python crash_child.py WORKSPACE BASE_URL RUN_ID KILL_AT`` where KILL_AT is
``finished:<step>`` (right after the step's model call, before its checkpoint),
``started:<step>`` (the steps before it are checkpointed), ``action:<kind>`` (right after
the integration executed the action, before the engine recorded it), ``written:<kind>``
(inside the integration: the backlog file is written, the action log line is not) or
``none``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

from nexus_agents.actions.base import ActionRequest, ActionResult
from nexus_agents.actions.workspace import WorkspaceIntegration
from nexus_agents.api import Nexus

FAST_LLM = {"llm.backoff_base_s": 0.01, "llm.backoff_max_s": 0.05, "llm.timeout_s": 5.0}


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class KillingIntegration(WorkspaceIntegration):
    def __init__(self, workspace: Path, kind: str, written: str = "") -> None:
        super().__init__(workspace)
        self.kill_kind = kind
        self.kill_written = written

    def _write_backlog(self, request: ActionRequest) -> list[str]:
        ids = super()._write_backlog(request)
        if self.kill_written == "backlog_append":
            die()
        return ids

    def _mark_shipped(self, item_id: str) -> bool:
        marked = super()._mark_shipped(item_id)
        if self.kill_written == "deploy":
            die()
        return marked

    async def deploy(self, request: ActionRequest) -> ActionResult:
        result = await super().deploy(request)
        if self.kill_kind == "deploy":
            die()
        return result

    async def backlog_append(self, request: ActionRequest) -> ActionResult:
        result = await super().backlog_append(request)
        if self.kill_kind == "backlog_append":
            die()
        return result


async def main(workspace: Path, base_url: str, run_id: str, kill_at: str) -> None:
    where, _, name = kill_at.partition(":")

    def listener(event: dict[str, Any]) -> None:
        wanted = where in ("started", "finished") and event.get("event") == f"agent_{where}"
        if wanted and event.get("step") == name:
            die()

    nx = Nexus.from_workspace(
        workspace,
        env={"NEXUS_LLM_BASE_URL": base_url, "NEXUS_LLM_API_KEY": "sk-test"},
        overrides=FAST_LLM,
        listeners=[listener],
        integration=KillingIntegration(
            workspace,
            name if where == "action" else "",
            name if where == "written" else "",
        ),
    )
    result = await nx.arun("improvement_loop", thread_id=run_id)
    while result.status == "waiting_approval" and result.pending is not None:
        options = result.pending.options
        result = await nx.aresume(run_id, "approve" if "approve" in options else "decompose")
    print(result.status, result.error)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]))
