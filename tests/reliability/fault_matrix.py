"""Print the model-fault matrix: each fault injected once (at the sprint prioritizer's
call) and on every call, against a clean improvement-loop iteration.

Run: ``python tests/reliability/fault_matrix.py`` (about a minute; 127.0.0.1 only).
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from rel_support import action_kinds, comparable, iterate, nexus_for

from nexus_agents.data.demo import generate_demo
from nexus_agents.testing.faults import FAULT_NAMES, Fault, FaultKind
from nexus_agents.testing.mock_server import MockLLMServer
from nexus_agents.testing.playbook_author import PlaybookAuthor

FAULT_AT = 4


def fault(kind: str) -> Fault:
    if kind == "rate_limit":
        return Fault(kind=FaultKind.RATE_LIMIT, retry_after_s=0.04)
    if kind == "slow":
        return Fault(kind=FaultKind.SLOW, delay_s=2.0)
    return Fault(kind=FaultKind(kind))


async def outcome(template: Path, schedule: object, clean: dict | None) -> tuple[str, dict]:
    ws = Path(tempfile.mkdtemp(prefix="nexus-fault-")) / "ws"
    shutil.copytree(template, ws)
    with MockLLMServer(faults=schedule, responder=PlaybookAuthor()) as server:  # type: ignore[arg-type]
        result = await iterate(nexus_for(ws, server))
        calls = server.stats.requests
    arts = comparable(result.artifacts)
    if result.status != "succeeded":
        return f"failed ({calls} calls): {result.error}", arts
    same = clean is None or arts == clean
    deploys = action_kinds(ws).count("deploy")
    return (
        f"recovered ({calls} calls, {'same' if same else 'DIFFERENT'} artifacts, {deploys} deploy)",
        arts,
    )


async def main() -> None:
    template = Path(tempfile.mkdtemp(prefix="nexus-template-")) / "demo"
    generate_demo(template, seed=7)
    text, clean = await outcome(template, None, None)
    rows = [("none", text, "")]
    for kind in FAULT_NAMES:
        once, _ = await outcome(template, {FAULT_AT: fault(kind)}, clean)
        always, _ = await outcome(template, lambda n, k=kind: fault(k), clean)
        rows.append((kind, once, always))
    print(f"| fault | once (request {FAULT_AT}, step plan) | on every request |")
    print("|---|---|---|")
    for kind, once, always in rows:
        print(f"| {kind} | {once} | {always} |")


if __name__ == "__main__":
    asyncio.run(main())
