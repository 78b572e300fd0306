"""Framework overhead: one improvement-loop iteration in nexus vs the same topology in bare LangGraph.

Both run in this process and the same run (interleaved, median of ``--runs``) against the
local mock model server at 0 ms latency, answering with ``PlaybookAuthor``. The server runs
in its own process (as a model server always does), so its per-request CPU work does not
compete with the framework for this process's GIL; ``--mock-in-process`` runs it in a thread
here instead (the earlier setup), for comparison. The result records which was used.

- nexus: ``Nexus.arun_loop_iteration()`` up to the ``deploy_approval`` gate (9 model calls).
  Measured twice: *cold* (a new ``Nexus`` per run, so the workspace data is loaded and every
  facts builder computes from scratch) and *warm* (one ``Nexus`` reused: validated tables and
  derived facts are cached per workspace). The time spent in facts builders is reported apart.
- bare: a hand-written LangGraph ``StateGraph`` with the same nodes and edges (measure ->
  feedback_insights | data_analysis -> plan -> select_item -> producer_review -> build ->
  validate -> release -> deploy_decision -> interrupt for approval), the same
  ``AsyncSqliteSaver`` checkpointer on a SQLite file opened the same way, ``durability="sync"``,
  and the same model calls: the request bodies nexus sent (read back from the mock server)
  replayed through an ``openai.AsyncOpenAI`` client on an ``httpx.AsyncClient``. Each node
  parses the JSON reply into the state. It does NOT compute facts, validate artifacts
  against their pydantic models or rules, render Markdown, meter budgets, record runs /
  events / usage / artifacts in a run store, or resolve agents and prompts.

Each variant's wall time and this process's CPU time (``time.process_time``, every thread;
the mock server runs in its own process) are recorded per round; on a busy shared machine
the CPU ratio moves less than the wall-time ratio.

After the warm-up the process freezes its start-up objects out of full garbage
collections, as ``nexus run``, ``nexus demo`` and the scheduler worker do
(``--no-gc-freeze`` measures without).

    python benchmarks/overhead.py [--runs 25] [--mock-in-process] [--no-gc-freeze]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import operator
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    API_KEY,
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

GOAL = 1.3
# node -> agent slug, in the order nexus calls them (the two analytics_reporter calls are
# measure first, then data_analysis)
NODES = [
    ("measure", "analytics_reporter"),
    ("feedback_insights", "feedback_synthesizer"),
    ("data_analysis", "analytics_reporter"),
    ("plan", "sprint_prioritizer"),
    ("producer_review", "studio_producer"),
    ("build", "developer"),
    ("validate", "evidence_collector"),
    ("release", "reality_checker"),
    ("deploy_decision", "devops_automator"),
]


def _merge(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    return {**left, **right}


class BareState(TypedDict, total=False):
    artifacts: Annotated[dict[str, Any], _merge]
    calls: Annotated[int, operator.add]


def bodies_by_node(requests: list[Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Assign the captured requests of one nexus iteration to the bare graph's nodes."""
    queues: dict[str, list[dict[str, Any]]] = {}
    for rec in requests:
        agent = rec.headers.get("x-nexus-agent", "")
        queues.setdefault(agent, []).append(rec.body)
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for node, agent in NODES:
        if not queues.get(agent):
            raise SystemExit(f"no captured request of agent {agent!r} for node {node!r}")
        out[node] = (agent, queues[agent].pop(0))
    return out


def build_bare_graph(bodies: dict[str, tuple[str, dict[str, Any]]], client: Any, saver: Any) -> Any:
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import interrupt

    def agent_node(node: str) -> Any:
        agent, body = bodies[node]

        async def run(state: BareState) -> BareState:
            reply = await client.chat.completions.create(
                **body, extra_headers={"X-Nexus-Agent": agent}
            )
            content = reply.choices[0].message.content or "{}"
            return {"artifacts": {node: json.loads(content)}, "calls": 1}

        return run

    def select_item(state: BareState) -> BareState:
        return {"artifacts": {"select_item": {"selected": True}}}

    def deploy_approval(state: BareState) -> BareState:
        decision = interrupt({"question": "Deploy?", "options": ["approve", "reject"]})
        return {"artifacts": {"deploy_approval": {"decision": decision}}}

    graph = StateGraph(BareState)
    for node, _ in NODES:
        graph.add_node(node, agent_node(node))
    graph.add_node("select_item", select_item)
    graph.add_node("deploy_approval", deploy_approval)
    graph.add_edge(START, "measure")
    graph.add_edge("measure", "feedback_insights")
    graph.add_edge("measure", "data_analysis")
    graph.add_edge(["feedback_insights", "data_analysis"], "plan")
    graph.add_edge("plan", "select_item")
    graph.add_edge("select_item", "producer_review")
    graph.add_edge("producer_review", "build")
    graph.add_edge("build", "validate")
    graph.add_conditional_edges(
        "validate",
        lambda s: "release" if s["artifacts"]["validate"].get("verdict") == "PASS" else "build",
    )
    graph.add_edge("release", "deploy_decision")
    graph.add_edge("deploy_decision", "deploy_approval")
    graph.add_edge("deploy_approval", END)
    return graph.compile(checkpointer=saver)


async def bare_iteration(
    bodies: dict[str, tuple[str, dict[str, Any]]], client: Any, db_path: Path, n: int
) -> tuple[float, float]:
    """One bare iteration (open the checkpointer, compile, run to the interrupt): its wall
    time and this process's CPU time."""
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from nexus_agents.runs.store import connect_sqlite

    cpu = time.process_time()
    started = time.perf_counter()
    conn = await connect_sqlite(db_path)
    try:
        saver = AsyncSqliteSaver(conn)
        await saver.setup()
        graph = build_bare_graph(bodies, client, saver)
        config = {"configurable": {"thread_id": f"bare-{n}"}}
        out = await graph.ainvoke({"artifacts": {}, "calls": 0}, config, durability="sync")
    finally:
        await conn.close()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    if out.get("calls") != len(NODES) or "__interrupt__" not in out:
        raise SystemExit(f"bare iteration did not reach the approval gate: {out.keys()}")
    return elapsed, cpu


async def nexus_iteration(nx: Any, timer: Timer) -> tuple[float, float, float]:
    """One nexus iteration: wall time, time in facts builders, this process's CPU time."""
    timer.reset()
    cpu = time.process_time()
    started = time.perf_counter()
    result = await nx.arun_loop_iteration()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    if result.status != "waiting_approval":
        raise SystemExit(f"nexus iteration ended {result.status}: {result.error}")
    return elapsed, timer.totals.get("facts", 0.0), cpu


async def measure(runs: int, in_process: bool = False, gc_freeze: bool = True) -> dict[str, Any]:
    import httpx
    import openai

    from nexus_agents.api import Nexus

    timer = Timer()
    samples: dict[str, list[float]] = {
        "nexus_cold": [],
        "nexus_cold_facts": [],
        "nexus_warm": [],
        "nexus_warm_facts": [],
        "bare": [],
        "nexus_cold_cpu": [],
        "nexus_warm_cpu": [],
        "bare_cpu": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        ws = demo_workspace(Path(tmp))
        with mock_server(author=True, in_process=in_process) as server:
            env = env_for(server.base_url)
            warm = Nexus.from_workspace(ws, env=env)
            with facts_timer(timer):
                await nexus_iteration(warm, timer)  # warm-up (imports, caches)
                before = server.stats().requests
                await nexus_iteration(warm, timer)
                captured = server.requests(since=before)
            bodies = bodies_by_node(captured)
            async with httpx.AsyncClient() as http:
                client = openai.AsyncOpenAI(
                    base_url=server.base_url, api_key=API_KEY, max_retries=0, http_client=http
                )
                await bare_iteration(bodies, client, Path(tmp) / "bare-warmup.sqlite", -1)
                froze = freeze_gc(gc_freeze)
                with facts_timer(timer):
                    for n in range(runs):
                        cold = Nexus.from_workspace(ws, env=env)
                        total, facts, cpu = await nexus_iteration(cold, timer)
                        samples["nexus_cold"].append(total)
                        samples["nexus_cold_facts"].append(facts)
                        samples["nexus_cold_cpu"].append(cpu)
                        total, facts, cpu = await nexus_iteration(warm, timer)
                        samples["nexus_warm"].append(total)
                        samples["nexus_warm_facts"].append(facts)
                        samples["nexus_warm_cpu"].append(cpu)
                        total, cpu = await bare_iteration(
                            bodies, client, Path(tmp) / "bare.sqlite", n
                        )
                        samples["bare"].append(total)
                        samples["bare_cpu"].append(cpu)
            calls = server.stats().requests
            mode = server.mode
    med = {k: median(v) for k, v in samples.items()}
    bare = med["bare"]
    # each round runs cold, warm and bare back to back: the ratio within a round shares the
    # machine's state of the moment, so its spread shows how noisy the machine was
    paired = sorted(w / b for w, b in zip(samples["nexus_warm"], samples["bare"], strict=True))
    quartiles = statistics.quantiles(paired, n=4) if len(paired) > 1 else [paired[0]] * 3
    bare_cpu = med["bare_cpu"]
    paired_cpu = sorted(
        w / b for w, b in zip(samples["nexus_warm_cpu"], samples["bare_cpu"], strict=True)
    )
    cpu_quartiles = (
        statistics.quantiles(paired_cpu, n=4) if len(paired_cpu) > 1 else [paired_cpu[0]] * 3
    )
    rows = [
        {
            "variant": "nexus warm (cached data + facts)",
            "median_s": med["nexus_warm"],
            "facts_s": med["nexus_warm_facts"],
            "ratio_to_bare": med["nexus_warm"] / bare,
            "ratio_without_facts": (med["nexus_warm"] - med["nexus_warm_facts"]) / bare,
            "median_cpu_s": med["nexus_warm_cpu"],
            "cpu_ratio_to_bare": med["nexus_warm_cpu"] / bare_cpu,
        },
        {
            "variant": "nexus cold (new Nexus per run)",
            "median_s": med["nexus_cold"],
            "facts_s": med["nexus_cold_facts"],
            "ratio_to_bare": med["nexus_cold"] / bare,
            "ratio_without_facts": (med["nexus_cold"] - med["nexus_cold_facts"]) / bare,
            "median_cpu_s": med["nexus_cold_cpu"],
            "cpu_ratio_to_bare": med["nexus_cold_cpu"] / bare_cpu,
        },
        {
            "variant": "bare LangGraph (replayed requests)",
            "median_s": bare,
            "facts_s": 0.0,
            "ratio_to_bare": 1.0,
            "ratio_without_facts": 1.0,
            "median_cpu_s": bare_cpu,
            "cpu_ratio_to_bare": 1.0,
        },
    ]
    return {
        "runs": runs,
        "model_calls_per_iteration": len(NODES),
        "mock_requests_total": calls,
        "mock_server": mode,
        "gc_freeze": froze,
        "goal": f"nexus / bare <= {GOAL}",
        "warm_ratio_per_round": {
            "p25": quartiles[0],
            "median": quartiles[1],
            "p75": quartiles[2],
        },
        "warm_cpu_ratio_per_round": {
            "p25": cpu_quartiles[0],
            "median": cpu_quartiles[1],
            "p75": cpu_quartiles[2],
        },
        "meets_goal_warm": rows[0]["ratio_to_bare"] <= GOAL,
        "meets_goal_cold": rows[1]["ratio_to_bare"] <= GOAL,
        "meets_goal_without_facts": rows[1]["ratio_without_facts"] <= GOAL,
        "results": rows,
        "samples_s": samples,
        "bare_does": "same nodes/edges, same request bodies through openai.AsyncOpenAI + httpx, "
        "AsyncSqliteSaver (WAL, durability=sync), JSON-parses each reply, interrupts at the gate",
        "bare_does_not": "compute facts, validate artifacts or rules, render Markdown, meter "
        "budgets, write the run store (runs, events, usage, artifacts), load roster/prompts",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--out", type=Path, default=None)
    add_setup_options(parser)
    args = parser.parse_args(argv)
    report = asyncio.run(measure(max(1, args.runs), args.mock_in_process, not args.no_gc_freeze))
    print(f"one improvement-loop iteration, mock at 0 ms ({report['mock_server']}), "
          f"median of {args.runs} runs")
    print_table(
        ["variant", "median s", "facts s", "x bare", "x bare w/o facts", "CPU s", "CPU x bare"],
        [
            [
                r["variant"],
                r["median_s"],
                r["facts_s"],
                r["ratio_to_bare"],
                r["ratio_without_facts"],
                r["median_cpu_s"],
                r["cpu_ratio_to_bare"],
            ]
            for r in report["results"]
        ],
    )
    q = report["warm_ratio_per_round"]
    print(f"warm / bare within each round: p25 {q['p25']:.3f}  median {q['median']:.3f}  "
          f"p75 {q['p75']:.3f}")
    c = report["warm_cpu_ratio_per_round"]
    print(f"warm / bare CPU time within each round: p25 {c['p25']:.3f}  median {c['median']:.3f}  "
          f"p75 {c['p75']:.3f}")
    print(f"goal: {report['goal']}  warm: {report['meets_goal_warm']}  "
          f"cold: {report['meets_goal_cold']}  cold w/o facts: {report['meets_goal_without_facts']}")
    print(f"wrote {write_result('overhead', report, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
