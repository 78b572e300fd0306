"""A separate process that resumes one run of the ``linear`` graph (tests/runs/test_run_lease.py).

Usage: ``lease_child.py DB RUN_ID``. In its ``analyze`` step it prints ``executing`` and
waits for a line on stdin, so the parent can try a second resume meanwhile. It prints
``refused: <message>`` (exit 3) when the run is busy, else ``<status> <steps run>``.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import yaml

from nexus_agents.exceptions import RunBusyError
from nexus_agents.graphs.spec import parse_spec
from nexus_agents.runs.engine import Engine
from nexus_agents.testing.fake_executor import FakeStepExecutor

TESTS = Path(__file__).parents[1]
LINEAR = TESTS / "graphs" / "specs" / "linear.yaml"


def fake_executor(hooks: dict[str, Any]) -> FakeStepExecutor:
    return FakeStepExecutor(hooks=hooks)


async def main(db: str, run_id: str) -> int:
    async def wait_for_parent(*_: Any) -> None:
        print("executing", flush=True)
        await asyncio.to_thread(sys.stdin.readline)

    fake = fake_executor({"analyze": wait_for_parent})
    specs = {"linear": parse_spec(yaml.safe_load(LINEAR.read_text()), str(LINEAR))}
    async with await Engine.open(specs=specs, executor=fake, db_path=db) as engine:
        try:
            result = await engine.resume(run_id)
        except RunBusyError as busy:
            print(f"refused: {busy}", flush=True)
            return 3
    print(result.status, ",".join(fake.ran()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2])))
