"""Throughput: many incident_response runs at once against a slow model, one SQLite store.

``--runs`` (default 200) ``Nexus.arun("incident_response", {"alert": ...})`` calls are
started together with ``asyncio.gather`` on one ``Nexus`` with ``llm.max_concurrency``
(default 32); the mock server answers each call after ``--latency-ms`` (default 200 ms).
Half the alerts are triaged P3 (1 call: triage, then a backlog entry), half P2 (6 calls:
triage, developer, infrastructure mitigation, fix verification, stability check,
post-mortem): the wrapping responder picks ``PlaybookAuthor``'s proposed severity from the
alert's service name. The ideal wall time is ``calls / max_concurrency x latency`` (or one
P2 run's 6 sequential calls x latency, if that is longer); the goal
is within 1.5x of it. SQLite contention: every RunStore coroutine and checkpointer write is
timed, and 'database is locked' errors are counted (the store waits up to its busy timeout
before one is raised, so long waits show up as time, not errors).

Actions (P3 backlog items, post-mortem prevention items) are recorded by a
``WorkspaceIntegration`` on a *copy* of the workspace: the same file writes happen, but
the data the concurrent runs read stays the same during the measurement (an appended
backlog row changes ``backlog.csv`` and would make the other runs reload it).

The mock server runs in its own process (``--responder throughput:responder``), so the
responder's CPU work does not compete with the runs for this process's GIL;
``--mock-in-process`` runs it in a thread here instead (for comparison). The result
records which was used.

After the warm-up the process freezes its start-up objects out of full garbage
collections, as ``nexus run``, ``nexus demo`` and the scheduler worker do
(``--no-gc-freeze`` measures without).

    python benchmarks/throughput.py [--runs 200] [--concurrency 32] [--latency-ms 200]
                                    [--mock-in-process] [--no-gc-freeze]
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Timer,
    add_setup_options,
    demo_workspace,
    env_for,
    freeze_gc,
    mock_server,
    print_table,
    write_result,
)

GOAL = 1.5
NOW = "2026-11-27T10:20:00+00:00"
CALLS = {"P3": 1, "P2": 6}


def alert(n: int, severity: str) -> dict[str, Any]:
    return {
        "id": f"ALERT-BENCH-{n:04d}",
        "service": f"{severity.lower()}-service-{n}",
        "title": "exports are slow",
        "detected_at": "2026-11-27T10:00:00+00:00",
    }


def responder() -> Any:
    """The mock server's responder: ``PlaybookAuthor`` proposing P2 or P3 by service name.

    A zero-argument factory, so the server process loads it as ``throughput:responder``.
    """
    from nexus_agents.testing.playbook_author import AuthorScenario, PlaybookAuthor, facts_of

    authors = {s: PlaybookAuthor(AuthorScenario(proposed_severity=s)) for s in CALLS}

    def respond(request: dict[str, Any]) -> Any:
        text = str(facts_of(request)) + str(request.get("messages", ""))[:4000]
        severity = "P2" if "p2-service-" in text else "P3"
        return authors[severity](request)

    return respond


class StoreProbe:
    """Times RunStore coroutines and checkpointer writes; counts 'database is locked'."""

    def __init__(self) -> None:
        self.timer = Timer()
        self.locked = 0
        self._undo: list[tuple[Any, str, Any]] = []

    def _patch(self, cls: Any, name: str, label: str) -> None:
        original = getattr(cls, name)
        probe = self

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            except Exception as exc:
                if "database is locked" in str(exc):
                    probe.locked += 1
                raise
            finally:
                probe.timer.add(label, time.perf_counter() - started)

        self._undo.append((cls, name, original))
        setattr(cls, name, timed)

    def __enter__(self) -> StoreProbe:
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        from nexus_agents.runs.engine import Engine
        from nexus_agents.runs.store import RunStore

        for name, member in vars(RunStore).items():
            if inspect.iscoroutinefunction(member) and not name.startswith("__"):
                self._patch(RunStore, name, f"store.{name}")
        for name in ("aput", "aput_writes", "setup"):
            self._patch(AsyncSqliteSaver, name, f"checkpoint.{name}")
        self._undo.append((Engine, "open", Engine.__dict__["open"]))
        original_open = Engine.open
        probe = self

        async def timed_open(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original_open(*args, **kwargs)
            finally:
                probe.timer.add("engine.open", time.perf_counter() - started)

        Engine.open = timed_open  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        for cls, name, original in reversed(self._undo):
            setattr(cls, name, original)

    def summary(self) -> list[dict[str, Any]]:
        rows = []
        for label, samples in sorted(self.timer.samples.items()):
            ordered = sorted(samples)
            rows.append(
                {
                    "operation": label,
                    "count": len(samples),
                    "total_s": sum(samples),
                    "p50_ms": 1000 * ordered[len(ordered) // 2],
                    "p95_ms": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
                    "max_ms": 1000 * ordered[-1],
                }
            )
        return rows


async def measure(
    runs: int,
    concurrency: int,
    latency_s: float,
    in_process: bool = False,
    gc_freeze: bool = True,
) -> dict[str, Any]:
    from nexus_agents.actions.workspace import WorkspaceIntegration
    from nexus_agents.api import Nexus

    severities = ["P3" if n % 2 == 0 else "P2" for n in range(runs)]
    expected_calls = sum(CALLS[s] for s in severities)
    with tempfile.TemporaryDirectory() as tmp:
        ws = demo_workspace(Path(tmp))
        actions_ws = demo_workspace(Path(tmp), "actions", template=ws)
        with mock_server(
            latency_s * 1000, responder=f"{Path(__file__).stem}:responder", in_process=in_process
        ) as server:
            mode = server.mode
            nx = Nexus.from_workspace(
                ws, env=env_for(server.base_url), overrides={"llm.max_concurrency": concurrency}
            )
            nx.integration = WorkspaceIntegration(actions_ws)
            # warm-up: imports, specs, roster (one P3 run, not counted)
            await nx.arun("incident_response", {"alert": alert(99_999, "P3"), "now": NOW})
            froze = freeze_gc(gc_freeze)
            before = server.stats().requests
            with StoreProbe() as probe:
                started = time.perf_counter()
                results = await asyncio.gather(
                    *(
                        nx.arun("incident_response", {"alert": alert(n, s), "now": NOW})
                        for n, s in enumerate(severities)
                    ),
                    return_exceptions=True,
                )
                wall = time.perf_counter() - started
            after = server.stats()
            calls = after.requests - before
            peak = after.peak_concurrency
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for r in results:
        if isinstance(r, BaseException):
            statuses["exception"] += 1
            errors[f"{type(r).__name__}: {str(r)[:160]}"] += 1
        else:
            statuses[r.status] += 1
            if r.error:
                errors[str(r.error)[:160]] += 1
    # no schedule beats the busiest slot count, nor one run's own chain of calls
    ideal = max(calls / concurrency, max(CALLS[s] for s in severities)) * latency_s
    store_rows = probe.summary()
    store_total = sum(r["total_s"] for r in store_rows if r["operation"] != "engine.open")
    return {
        "runs": runs,
        "max_concurrency": concurrency,
        "latency_ms": latency_s * 1000,
        "mock_server": mode,
        "gc_freeze": froze,
        "expected_calls": expected_calls,
        "calls": calls,
        "peak_concurrency_seen_by_server": peak,
        "wall_s": wall,
        "ideal_s": ideal,
        "ratio": wall / ideal if ideal else None,
        "goal": f"wall <= {GOAL} x ideal (calls / max_concurrency x latency)",
        "meets_goal": bool(ideal) and wall / ideal <= GOAL,
        "statuses": dict(statuses),
        "errors": dict(errors.most_common(5)),
        "database_is_locked_errors": probe.locked,
        "store_time_total_s": store_total,
        "store": store_rows,
        "actions_workspace": "a copy of the workspace, so the data the runs read stays fixed",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--out", type=Path, default=None)
    add_setup_options(parser)
    args = parser.parse_args(argv)
    r = asyncio.run(
        measure(max(1, args.runs), args.concurrency, args.latency_ms / 1000, args.mock_in_process,
                not args.no_gc_freeze)
    )
    print(f"{r['runs']} incident_response runs at once, max_concurrency {r['max_concurrency']}, "
          f"mock {r['latency_ms']:g} ms ({r['mock_server']})")
    print_table(
        ["calls", "expected", "peak conc.", "wall s", "ideal s", "ratio", "goal", "statuses",
         "db locked"],
        [[r["calls"], r["expected_calls"], r["peak_concurrency_seen_by_server"], r["wall_s"],
          r["ideal_s"], r["ratio"], f"<= {GOAL}", r["statuses"], r["database_is_locked_errors"]]],
    )
    print("\nSQLite store and checkpointer (summed over concurrent coroutines):")
    print_table(
        ["operation", "count", "total s", "p50 ms", "p95 ms", "max ms"],
        [[s["operation"], s["count"], s["total_s"], s["p50_ms"], s["p95_ms"], s["max_ms"]]
         for s in r["store"]],
    )
    for error, count in r["errors"].items():
        print(f"  {count} x {error}")
    print(f"wrote {write_result('throughput', r, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
