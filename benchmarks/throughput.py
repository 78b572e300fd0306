"""Throughput: many incident_response runs at once against a slow model, nexus vs bare LangGraph.

Both variants run in this process, one after the other in the same run, against the
local mock server (in its own process, one per variant, so neither its CPU work nor the
other variant's request counts mix in). Each variant starts ``--runs`` (default 200)
incident runs together with ``asyncio.gather``, at most ``--concurrency`` (default 32)
model calls in flight, the server answering each after ``--latency-ms`` (default 200 ms).
Half the alerts are triaged P3 (1 call: triage, then a backlog entry), half P2 (6 calls:
triage, developer, infrastructure mitigation, fix verification, stability check,
post-mortem): the mock's responder picks ``PlaybookAuthor``'s proposed severity from the
alert's service name. ``--large`` is the second scenario: 1,000 runs at concurrency 128.

- nexus: ``Nexus.arun("incident_response", {"alert": ...})`` on one ``Nexus`` with
  ``llm.max_concurrency`` = concurrency. Actions are recorded by a ``WorkspaceIntegration``
  on a *copy* of the workspace, so the data the runs read stays the same.
- bare (the anchor): a hand-written LangGraph ``StateGraph`` with the same path (detect,
  triage, route by the proposed severity; P3: backlog item; P2: developer, mitigation,
  collect, verification with a loop back on FAIL, deploy, stability, escalation timers,
  post-mortem), LangGraph's ``AsyncSqliteSaver`` on a SQLite file opened like nexus's
  (WAL, ``durability="sync"``), an ``asyncio.Semaphore(concurrency)`` around the calls, and
  the same model calls: the request bodies nexus sent in its warm-up runs (prompts,
  JSON-schema ``response_format``, tools), with the alert id and service swapped for each
  run's, sent through ``openai.AsyncOpenAI`` on an ``httpx.AsyncClient`` with nexus's
  connection limits. Each node ``json.loads`` its reply into the state. It does NOT compute
  facts, render prompts, validate answers against pydantic models or rules, meter budgets,
  record runs / events / usage / artifacts / actions in a run store, hold leases, or write
  actions.

For each: wall time, the process's CPU time over the measured ``gather``
(``time.process_time``: every thread of this process, not the mock server), CPU
milliseconds per model call, and the ratios nexus / bare. Goals: CPU per call <= 1.5x
bare, wall <= 1.3x bare. The ideal wall time ``calls / concurrency x latency`` (or one P2
run's 6 sequential calls, if longer) is reported too. ``--rounds N`` alternates the
variants N times and reports medians.

``--store-probe`` times every RunStore coroutine and checkpointer write of the nexus
variant and counts 'database is locked' errors (off by default: the wrappers cost CPU).
``--profile FILE`` writes a cProfile of the nexus variant's event-loop thread,
``--profile-bare FILE`` one of the bare variant's.

After the warm-up the process freezes its start-up objects out of full garbage
collections, as ``nexus run``, ``nexus demo`` and the scheduler worker do
(``--no-gc-freeze`` measures without).

    python benchmarks/throughput.py [--runs 200] [--concurrency 32] [--large] [--rounds 1]
                                    [--latency-ms 200] [--store-probe] [--profile FILE]
                                    [--mock-in-process] [--no-gc-freeze]
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import operator
import os
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Annotated, Any, TypedDict

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    API_KEY,
    Timer,
    add_setup_options,
    demo_workspace,
    env_for,
    freeze_gc,
    mock_server,
    print_table,
    write_result,
)

GOAL_CPU = 1.5  # nexus CPU per model call / bare's
GOAL_WALL = 1.3  # nexus wall time / bare's
NOW = "2026-11-27T10:20:00+00:00"
CALLS = {"P3": 1, "P2": 6}
QUICK = (200, 32)
LARGE = (1000, 128)
# the warm-up alerts whose captured requests the bare graph replays
TEMPLATE_ALERT = {"P3": 99_990, "P2": 99_991}


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


# -- the bare LangGraph anchor ------------------------------------------------------------

# the bare graph's model-calling nodes of a P2 run, in the order nexus calls their agents
P2_CALLS = ["triage", "p2_response", "mitigate", "verify_fix", "confirm_stability", "post_mortem"]
MAX_FIX_ATTEMPTS = 3


def _merge(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    return {**left, **right}


class BareState(TypedDict, total=False):
    alert: dict[str, Any]
    severity: str
    artifacts: Annotated[dict[str, Any], _merge]
    attempts: Annotated[int, operator.add]
    calls: Annotated[int, operator.add]


Bodies = dict[str, dict[str, tuple[str, dict[str, Any]]]]


def bodies_by_node(captured: dict[str, list[Any]]) -> Bodies:
    """The warm-up runs' requests (per severity) assigned to the bare graph's nodes."""
    out: Bodies = {}
    for severity, requests in captured.items():
        nodes = P2_CALLS[: CALLS[severity]]
        if len(requests) != len(nodes):
            raise SystemExit(
                f"the {severity} warm-up run made {len(requests)} calls, not {len(nodes)}"
            )
        out[severity] = {
            node: (rec.headers.get("x-nexus-agent", ""), rec.body)
            for node, rec in zip(nodes, requests, strict=True)
        }
    return out


def for_alert(body: dict[str, Any], severity: str, given: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the warm-up alert's id and service replaced by ``given``'s (the prompt
    a hand-written app would format for this alert)."""
    template = alert(TEMPLATE_ALERT[severity], severity)
    messages = []
    for message in body["messages"]:
        content = message.get("content")
        if isinstance(content, str):
            content = content.replace(template["id"], given["id"]).replace(
                template["service"], given["service"]
            )
        messages.append({**message, "content": content})
    return {**body, "messages": messages}


def build_bare_graph(bodies: Bodies, client: Any, saver: Any, slots: asyncio.Semaphore) -> Any:
    from langgraph.graph import END, START, StateGraph

    def severity_of(state: BareState) -> str:
        return "P2" if "p2-service-" in state["alert"]["service"] else "P3"

    def agent_node(node: str, keep_severity: bool = False) -> Callable[..., Awaitable[BareState]]:
        async def run(state: BareState) -> BareState:
            severity = severity_of(state)
            agent, body = bodies[severity][node]
            request = for_alert(body, severity, state["alert"])
            async with slots:
                reply = await client.chat.completions.create(
                    **request, extra_headers={"X-Nexus-Agent": agent}
                )
            answer = json.loads(reply.choices[0].message.content or "{}")
            out: BareState = {"artifacts": {node: answer}, "calls": 1}
            if keep_severity:
                out["severity"] = str(answer.get("proposed_severity", "P3"))
            return out

        return run

    def detect(state: BareState) -> BareState:
        return {"artifacts": {"detect": {"kind": "incident_signal", "alert": state["alert"]}}}

    def p3_item(state: BareState) -> BareState:
        triage = state["artifacts"]["triage"]
        entry = {"title": f"[P3] {state['alert']['id']}", "description": triage.get("rationale")}
        return {"artifacts": {"p3_item": {"kind": "backlog_entry", "items": [entry]}}}

    def collect_fix(state: BareState) -> BareState:
        fix = {"severity": state.get("severity"), "artifact": state["artifacts"]["mitigate"]}
        return {"artifacts": {"collect_fix": fix}, "attempts": 1}

    def after_verify(state: BareState) -> str:
        verdict = state["artifacts"]["verify_fix"].get("verdict")
        if verdict == "PASS" or state.get("attempts", 0) >= MAX_FIX_ATTEMPTS:
            return "deploy_fix"
        return "mitigate"

    def deploy_fix(state: BareState) -> BareState:
        passed = state["artifacts"]["verify_fix"].get("verdict") == "PASS"
        return {"artifacts": {"deploy_fix": {"deployed": passed}}}

    def escalation_timers(state: BareState) -> BareState:
        return {"artifacts": {"escalation_timers": {"escalations": []}}}

    graph = StateGraph(BareState)
    graph.add_node("detect", detect)
    graph.add_node("triage", agent_node("triage", keep_severity=True))
    graph.add_node("p3_item", p3_item)
    for node in P2_CALLS[1:]:
        graph.add_node(node, agent_node(node))
    graph.add_node("collect_fix", collect_fix)
    graph.add_node("deploy_fix", deploy_fix)
    graph.add_node("escalation_timers", escalation_timers)
    graph.add_edge(START, "detect")
    graph.add_edge("detect", "triage")
    graph.add_conditional_edges(
        "triage", lambda s: "p3_item" if s.get("severity") == "P3" else "p2_response"
    )
    graph.add_edge("p3_item", END)
    graph.add_edge("p2_response", "mitigate")
    graph.add_edge("mitigate", "collect_fix")
    graph.add_edge("collect_fix", "verify_fix")
    graph.add_conditional_edges("verify_fix", after_verify)
    graph.add_edge("deploy_fix", "confirm_stability")
    graph.add_edge("confirm_stability", "escalation_timers")
    graph.add_edge("escalation_timers", "post_mortem")
    graph.add_edge("post_mortem", END)
    return graph.compile(checkpointer=saver)


async def bare_run(graph: Any, given: dict[str, Any], thread: str) -> int:
    """One bare incident run; returns its model calls."""
    config = {"configurable": {"thread_id": thread}}
    out = await graph.ainvoke({"alert": given, "artifacts": {}}, config, durability="sync")
    return int(out.get("calls", 0))


# -- one measured phase -------------------------------------------------------------------


def thread_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds (user + system) of each live thread of this process, by native id, with
    the thread's Python name with any trailing number dropped ("nexus-facts", "asyncio")."""
    import re
    import threading

    names = {
        t.native_id: re.sub(r"[-_]\d+(_\d+)?$", "", re.sub(r"^Thread-\d+ \((.+)\)$", r"\1", t.name))
        for t in threading.enumerate()
    }
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, tuple[str, float]] = {}
    for tid in os.listdir("/proc/self/task") if os.path.isdir("/proc/self/task") else []:
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(tid)] = (names.get(int(tid), "other"), (int(fields[11]) + int(fields[12])) / tick)
    return out


def thread_split(before: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds spent since ``before`` per thread name, busiest first."""
    spent: Counter[str] = Counter()
    for tid, (name, cpu) in thread_cpu().items():
        spent[name] += cpu - before.get(tid, (name, 0.0))[1]
    return {name: round(cpu, 2) for name, cpu in spent.most_common() if cpu >= 0.01}


async def timed_gather(
    coros: list[Awaitable[Any]],
) -> tuple[list[Any], float, float, dict[str, Any]]:
    """Results of ``coros`` run together, the wall time, this process's CPU time and its
    split (user / system seconds, context switches, CPU seconds per thread)."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    threads = thread_cpu()
    cpu = time.process_time()
    started = time.perf_counter()
    results = await asyncio.gather(*coros, return_exceptions=True)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_SELF)
    split = {
        "user_s": after.ru_utime - before.ru_utime,
        "system_s": after.ru_stime - before.ru_stime,
        "voluntary_switches": after.ru_nvcsw - before.ru_nvcsw,
        "involuntary_switches": after.ru_nivcsw - before.ru_nivcsw,
        "threads_cpu_s": thread_split(threads),
    }
    return results, wall, cpu, split


def phase(
    name: str,
    results: list[Any],
    wall: float,
    cpu: float,
    split: dict[str, Any],
    calls: int,
    peak: int,
    ideal: float,
) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for r in results:
        if isinstance(r, BaseException):
            statuses["exception"] += 1
            errors[f"{type(r).__name__}: {str(r)[:160]}"] += 1
        elif isinstance(r, int):
            statuses["succeeded"] += 1  # a bare run returns its call count
        else:
            statuses[r.status] += 1
            if r.error:
                errors[str(r.error)[:160]] += 1
    return {
        "variant": name,
        "wall_s": wall,
        "cpu_s": cpu,
        "calls": calls,
        "cpu_ms_per_call": 1000 * cpu / calls if calls else None,
        "cpu_share_of_wall": cpu / wall if wall else None,
        "cpu_split": split,
        "peak_concurrency_seen_by_server": peak,
        "ratio_to_ideal": wall / ideal if ideal else None,
        "statuses": dict(statuses),
        "errors": dict(errors.most_common(5)),
    }


def _median_of(rounds: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in rounds)


async def measure(
    runs: int,
    concurrency: int,
    latency_s: float,
    *,
    rounds: int = 1,
    in_process: bool = False,
    gc_freeze: bool = True,
    store_probe: bool = False,
    profile: Path | None = None,
    profile_bare: Path | None = None,
) -> dict[str, Any]:
    import httpx
    import openai
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from nexus_agents.actions.workspace import WorkspaceIntegration
    from nexus_agents.api import Nexus
    from nexus_agents.runs.store import connect_sqlite

    severities = ["P3" if n % 2 == 0 else "P2" for n in range(runs)]
    expected_calls = sum(CALLS[s] for s in severities)
    # no schedule beats the busiest slot count, nor one run's own chain of calls
    ideal = max(expected_calls / concurrency, max(CALLS[s] for s in severities)) * latency_s
    responder_ref = f"{Path(__file__).stem}:responder"
    nexus_rounds: list[dict[str, Any]] = []
    bare_rounds: list[dict[str, Any]] = []
    probe: StoreProbe | None = None
    with tempfile.TemporaryDirectory() as tmp:
        ws = demo_workspace(Path(tmp))
        actions_ws = demo_workspace(Path(tmp), "actions", template=ws)
        with (
            mock_server(latency_s * 1000, responder=responder_ref, in_process=in_process) as n_srv,
            mock_server(latency_s * 1000, responder=responder_ref, in_process=in_process) as b_srv,
        ):
            mode = n_srv.mode
            nx = Nexus.from_workspace(
                ws, env=env_for(n_srv.base_url), overrides={"llm.max_concurrency": concurrency}
            )
            nx.integration = WorkspaceIntegration(actions_ws)
            # warm-up: imports, specs, roster, caches; its requests are what bare replays
            captured: dict[str, list[Any]] = {}
            for severity, n in TEMPLATE_ALERT.items():
                before = n_srv.stats().requests
                await nx.arun("incident_response", {"alert": alert(n, severity), "now": NOW})
                captured[severity] = n_srv.requests(since=before)
            bodies = bodies_by_node(captured)
            slots = max(concurrency, 1)
            limits = httpx.Limits(
                max_connections=max(100, slots), max_keepalive_connections=max(20, slots)
            )
            conn = await connect_sqlite(Path(tmp) / "bare.sqlite")
            try:
                async with httpx.AsyncClient(timeout=60.0, limits=limits) as http:
                    client = openai.AsyncOpenAI(
                        base_url=b_srv.base_url, api_key=API_KEY, max_retries=0, http_client=http
                    )
                    saver = AsyncSqliteSaver(conn)
                    await saver.setup()
                    graph = build_bare_graph(bodies, client, saver, asyncio.Semaphore(slots))
                    for severity, n in TEMPLATE_ALERT.items():  # bare warm-up
                        await bare_run(graph, alert(n, severity), f"warm-{severity}")
                    froze = freeze_gc(gc_freeze)
                    for r in range(rounds):
                        base = 10_000 * (r + 1)
                        # nexus
                        before = n_srv.stats().requests
                        probe = StoreProbe() if store_probe else None
                        prof = _profiler(profile if r == 0 else None)
                        with probe or nullcontext(), prof:
                            results, wall, cpu, split = await timed_gather(
                                [
                                    nx.arun(
                                        "incident_response",
                                        {"alert": alert(base + n, s), "now": NOW},
                                    )
                                    for n, s in enumerate(severities)
                                ]
                            )
                        stats = n_srv.stats()
                        nexus_rounds.append(
                            phase(
                                "nexus",
                                results,
                                wall,
                                cpu,
                                split,
                                stats.requests - before,
                                stats.peak_concurrency,
                                ideal,
                            )
                        )
                        # bare
                        before = b_srv.stats().requests
                        with _profiler(profile_bare if r == 0 else None):
                            results, wall, cpu, split = await timed_gather(
                                [
                                    bare_run(graph, alert(base + n, s), f"bare-{r}-{n}")
                                    for n, s in enumerate(severities)
                                ]
                            )
                        stats = b_srv.stats()
                        bare_rounds.append(
                            phase(
                                "bare",
                                results,
                                wall,
                                cpu,
                                split,
                                stats.requests - before,
                                stats.peak_concurrency,
                                ideal,
                            )
                        )
            finally:
                await conn.close()
    per_round = [
        {
            "cpu_per_call": n["cpu_ms_per_call"] / b["cpu_ms_per_call"],
            "wall": n["wall_s"] / b["wall_s"],
        }
        for n, b in zip(nexus_rounds, bare_rounds, strict=True)
    ]
    summary = {}
    for name, rows in (("nexus", nexus_rounds), ("bare", bare_rounds)):
        summary[name] = {
            key: _median_of(rows, key)
            for key in ("wall_s", "cpu_s", "cpu_ms_per_call", "cpu_share_of_wall", "ratio_to_ideal")
        } | {"calls": rows[0]["calls"], "statuses": rows[0]["statuses"]}
    cpu_ratio = summary["nexus"]["cpu_ms_per_call"] / summary["bare"]["cpu_ms_per_call"]
    wall_ratio = summary["nexus"]["wall_s"] / summary["bare"]["wall_s"]
    report: dict[str, Any] = {
        "runs": runs,
        "max_concurrency": concurrency,
        "latency_ms": latency_s * 1000,
        "rounds": rounds,
        "mock_server": mode,
        "gc_freeze": froze,
        "expected_calls": expected_calls,
        "ideal_s": ideal,
        "nexus": summary["nexus"],
        "bare": summary["bare"],
        "ratios": {"cpu_per_call": cpu_ratio, "wall": wall_ratio},
        "ratios_per_round": per_round,
        "goals": {
            "cpu_per_call": f"nexus / bare <= {GOAL_CPU}",
            "wall": f"nexus / bare <= {GOAL_WALL}",
        },
        "meets_goal_cpu": cpu_ratio <= GOAL_CPU,
        "meets_goal_wall": wall_ratio <= GOAL_WALL,
        "rounds_detail": {"nexus": nexus_rounds, "bare": bare_rounds},
        "cpu_measured_as": "time.process_time() over the measured gather: every thread of "
        "this process (event loop, facts threads, SQLite threads); the mock server runs in "
        "its own process and is not counted",
        "bare_does": "same path and model calls (nexus's warm-up request bodies with the "
        "alert swapped), openai.AsyncOpenAI + httpx with nexus's pool limits, a semaphore of "
        "max_concurrency, AsyncSqliteSaver (WAL, durability=sync), json.loads of each reply",
        "bare_does_not": "compute facts, render prompts, validate answers (pydantic, rules), "
        "meter budgets, write the run store (runs, steps, events, usage, artifacts, "
        "actions, leases), write actions to the workspace",
        "actions_workspace": "a copy of the workspace, so the data the runs read stays fixed",
    }
    if probe is not None:
        report["database_is_locked_errors"] = probe.locked
        report["store"] = probe.summary()
    return report


def _profiler(target: Path | None) -> AbstractContextManager[Any]:
    if target is None:
        return nullcontext()
    import cProfile
    from contextlib import contextmanager

    @contextmanager
    def profiled() -> Any:
        prof = cProfile.Profile()
        prof.enable()
        try:
            yield
        finally:
            prof.disable()
            prof.dump_stats(str(target))

    return profiled()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=None, help=f"default {QUICK[0]}")
    parser.add_argument("--concurrency", type=int, default=None, help=f"default {QUICK[1]}")
    parser.add_argument(
        "--large",
        action="store_true",
        help=f"{LARGE[0]} runs at concurrency {LARGE[1]} (written to throughput_large.json)",
    )
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--store-probe", action="store_true")
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument("--profile-bare", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    add_setup_options(parser)
    args = parser.parse_args(argv)
    runs, concurrency = LARGE if args.large else QUICK
    runs = max(1, args.runs if args.runs is not None else runs)
    concurrency = max(1, args.concurrency if args.concurrency is not None else concurrency)
    r = asyncio.run(
        measure(
            runs,
            concurrency,
            args.latency_ms / 1000,
            rounds=max(1, args.rounds),
            in_process=args.mock_in_process,
            gc_freeze=not args.no_gc_freeze,
            store_probe=args.store_probe,
            profile=args.profile,
            profile_bare=args.profile_bare,
        )
    )
    print(
        f"{r['runs']} incident_response runs at once, max_concurrency {r['max_concurrency']}, "
        f"mock {r['latency_ms']:g} ms ({r['mock_server']}), median of {r['rounds']} round(s)"
    )
    print_table(
        ["variant", "calls", "wall s", "CPU s", "CPU ms/call", "CPU/wall", "x ideal", "statuses"],
        [
            [
                name,
                v["calls"],
                v["wall_s"],
                v["cpu_s"],
                v["cpu_ms_per_call"],
                v["cpu_share_of_wall"],
                v["ratio_to_ideal"],
                v["statuses"],
            ]
            for name, v in (("nexus", r["nexus"]), ("bare LangGraph", r["bare"]))
        ],
    )
    ratios = r["ratios"]
    print(
        f"nexus / bare: CPU per call {ratios['cpu_per_call']:.2f}x (goal <= {GOAL_CPU}: "
        f"{'met' if r['meets_goal_cpu'] else 'MISSED'}), wall {ratios['wall']:.2f}x "
        f"(goal <= {GOAL_WALL}: {'met' if r['meets_goal_wall'] else 'MISSED'})"
    )
    if len(r["ratios_per_round"]) > 1:
        print(
            "per round: "
            + ", ".join(
                f"cpu {x['cpu_per_call']:.2f} / wall {x['wall']:.2f}" for x in r["ratios_per_round"]
            )
        )
    for rounds in r["rounds_detail"].values():
        first = rounds[0]
        threads = first["cpu_split"].get("threads_cpu_s") or {}
        if threads:
            print(
                f"  {first['variant']} CPU s by thread (round 1): "
                + ", ".join(f"{name} {cpu:g}" for name, cpu in threads.items())
            )
    for rounds in r["rounds_detail"].values():
        for row in rounds:
            for error, count in row["errors"].items():
                print(f"  {row['variant']}: {count} x {error}")
    if "store" in r:
        print(
            f"\nSQLite store and checkpointer of nexus (summed over concurrent coroutines), "
            f"{r['database_is_locked_errors']} 'database is locked':"
        )
        print_table(
            ["operation", "count", "total s", "p50 ms", "p95 ms", "max ms"],
            [
                [s["operation"], s["count"], s["total_s"], s["p50_ms"], s["p95_ms"], s["max_ms"]]
                for s in r["store"]
            ],
        )
    name = "throughput_large" if args.large else "throughput"
    print(f"wrote {write_result(name, r, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
