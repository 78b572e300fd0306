"""Run in a subprocess by the kill-and-resume test: ``crash_run.py start|resume WORKSPACE``."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from nexus_agents.graphs.loader import load_spec
from nexus_agents.runs.engine import Engine

SPEC = Path(__file__).parent / "specs" / "four_steps.yaml"


async def main(mode: str, workspace: Path) -> None:
    spec = load_spec(SPEC)
    engine = await Engine.open(specs={spec.name: spec}, executor=None, workspace=workspace)
    try:
        if mode == "start":
            inputs = {"log": str(workspace / "steps.log"), "marker": str(workspace / "died")}
            result = await engine.start(spec.name, inputs, thread_id="nightly:2025-01-01")
        else:
            result = await engine.resume("nightly:2025-01-01")
        print(json.dumps({"status": result.status, "error": result.error}))
    finally:
        await engine.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
