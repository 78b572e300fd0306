"""Critical-path efficiency: wall time / (model calls on the critical path x latency).

The mock model server answers every call after ``--latency-ms`` (default 200 ms) with
``PlaybookAuthor``. Two workloads:

- one improvement-loop iteration up to the ``deploy_approval`` gate: 9 calls, 8 on the
  critical path (measure -> feedback_insights | data_analysis -> plan -> producer_review ->
  build -> validate -> release -> deploy_decision);
- one strategic review: its five inputs in parallel, then the synthesis: 6 calls, 2 on
  the critical path.

Each is run *cold* (a new ``Nexus`` per run: tables loaded, facts computed) and *warm*
(the same ``Nexus`` again: cached tables and facts); facts time is reported apart.
Ratio 1.0 means the framework adds nothing to the model latency; the goal is <= 1.1.
If a run makes more calls than expected (repairs of an invalid reply), the table says so.
The mock server runs in its own process; ``--mock-in-process`` runs it in a thread of this
process instead (for comparison); the result records which was used.

After the warm-up the process freezes its start-up objects out of full garbage
collections, as ``nexus run``, ``nexus demo`` and the scheduler worker do
(``--no-gc-freeze`` measures without).

    python benchmarks/critical_path.py [--runs 3] [--latency-ms 200] [--mock-in-process] [--no-gc-freeze]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Timer,
    add_setup_options,
    demo_workspace,
    env_for,
    facts_timer,
    freeze_gc,
    median,
    mock_server,
    print_table,
    write_result,
)

GOAL = 1.1
WORKLOADS = {
    # name: (graph, total calls, calls on the critical path, end status)
    "improvement_loop": ("improvement_loop", 9, 8, "waiting_approval"),
    "strategic_review": ("strategic_review", 6, 2, "succeeded"),
}


async def _one(nx: Any, graph: str, server: Any, timer: Timer) -> dict[str, Any]:
    timer.reset()
    before = server.stats().requests
    started = time.perf_counter()
    result = await nx.arun(graph)
    elapsed = time.perf_counter() - started
    return {
        "seconds": elapsed,
        "facts_s": timer.totals.get("facts", 0.0),
        "calls": server.stats().requests - before,
        "status": result.status,
        "error": result.error,
    }


async def measure(
    runs: int, latency_s: float, in_process: bool = False, gc_freeze: bool = True
) -> dict[str, Any]:
    from nexus_agents.api import Nexus

    timer = Timer()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        ws = demo_workspace(Path(tmp))
        with mock_server(
            latency_s * 1000, author=True, in_process=in_process
        ) as server, facts_timer(timer):
            mock_mode = server.mode
            env = env_for(server.base_url)
            for name, (graph, total, critical, end) in WORKLOADS.items():
                warm = Nexus.from_workspace(ws, env=env)
                await _one(warm, graph, server, timer)  # warm-up: imports and caches
                froze = freeze_gc(gc_freeze)
                samples: dict[str, list[dict[str, Any]]] = {"cold": [], "warm": []}
                for _ in range(runs):
                    cold = Nexus.from_workspace(ws, env=env)
                    samples["cold"].append(await _one(cold, graph, server, timer))
                    samples["warm"].append(await _one(warm, graph, server, timer))
                ideal = critical * latency_s
                for mode, got in samples.items():
                    wall = median([g["seconds"] for g in got])
                    facts = median([g["facts_s"] for g in got])
                    calls = sorted({g["calls"] for g in got})
                    statuses = sorted({g["status"] for g in got})
                    rows.append(
                        {
                            "workload": name,
                            "mode": mode,
                            "wall_s": wall,
                            "facts_s": facts,
                            "calls": calls,
                            "expected_calls": total,
                            "critical_calls": critical,
                            "ideal_s": ideal,
                            "ratio": wall / ideal,
                            "ratio_without_facts": (wall - facts) / ideal,
                            "statuses": statuses,
                            "as_expected": calls == [total] and statuses == [end],
                            "errors": sorted({str(g["error"]) for g in got if g["error"]}),
                        }
                    )
    return {
        "runs": runs,
        "latency_ms": latency_s * 1000,
        "mock_server": mock_mode,
        "gc_freeze": froze,
        "goal": f"wall / (critical calls x latency) <= {GOAL}",
        "results": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--out", type=Path, default=None)
    add_setup_options(parser)
    args = parser.parse_args(argv)
    report = asyncio.run(
        measure(max(1, args.runs), args.latency_ms / 1000, args.mock_in_process,
                not args.no_gc_freeze)
    )
    print(f"mock latency {args.latency_ms:g} ms ({report['mock_server']}), "
          f"median of {args.runs} runs")
    print_table(
        ["workload", "mode", "wall s", "facts s", "calls", "critical", "ideal s", "ratio",
         "ratio w/o facts", "as expected"],
        [
            [r["workload"], r["mode"], r["wall_s"], r["facts_s"],
             "/".join(map(str, r["calls"])), r["critical_calls"], r["ideal_s"], r["ratio"],
             r["ratio_without_facts"], r["as_expected"]]
            for r in report["results"]
        ],
    )
    for r in report["results"]:
        for error in r["errors"]:
            print(f"  {r['workload']} ({r['mode']}): {error}")
    print(f"goal: {report['goal']}")
    print(f"wrote {write_result('critical_path', report, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
