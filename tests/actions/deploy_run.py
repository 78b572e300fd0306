"""Run in a subprocess by the kill-and-resume test:
``deploy_run.py start|resume WORKSPACE [after_delivery|before_step_record]``.

``start`` runs a graph whose deploy action goes to the webhook in the workspace's
nexus.toml, and kills its own process with SIGKILL at the point named: right after the
webhook answered and the delivery was recorded, or when the run is about to record the
action step in the run store. ``resume`` continues the run in a new process.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml

from nexus_agents.actions.workspace import WorkspaceIntegration
from nexus_agents.config import load_config
from nexus_agents.graphs.spec import parse_spec
from nexus_agents.runs.engine import Engine
from nexus_agents.testing.fake_executor import FakeStepExecutor

SPEC = """
    name: ship
    steps:
      - {id: build, agent: developer}
      - action: {id: go, kind: deploy, from: build}
      - {id: after, agent: developer}
"""
THREAD = "ship:kill-test"


def die(*_: Any, **__: Any) -> Any:
    os.kill(os.getpid(), signal.SIGKILL)


async def main(mode: str, workspace: Path, point: str) -> None:
    spec = parse_spec(yaml.safe_load(textwrap.dedent(SPEC)), "ship.yaml")
    script = {"build": [{"facts": {"item_id": "BL-1"}}]}
    engine = await Engine.open(
        specs={"ship": spec}, executor=FakeStepExecutor(script=script), workspace=workspace,
        config=load_config(workspace),
    )
    try:
        if mode == "start":
            if point == "after_delivery":  # delivered and in the ledger; nothing else yet
                WorkspaceIntegration.deploy = die  # type: ignore[method-assign]
            else:
                engine.store.record_action = die  # type: ignore[method-assign]
            result = await engine.start("ship", thread_id=THREAD)
        else:
            result = await engine.resume(THREAD)
        print(json.dumps({"status": result.status, "values": result.values}))
    finally:
        await engine.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else ""))
