"""The same 5-agent sequential workflow in nexus and in CrewAI, against the same mock server.

Workflow: measure (analytics_reporter) -> analyze (feedback_synthesizer) -> plan
(sprint_prioritizer) -> validate (reality_checker) -> deploy (devops_automator), one model
call each. nexus runs it from a small graph spec this benchmark writes into the temp
workspace's ``graphs/`` folder. CrewAI runs five ``Agent``s / ``Task``s in a sequential
``Crew`` whose prompts are the ones nexus sent (system prompt as the agent's backstory, the
facts + task message as the task description), captured from the mock server, so both
see the same prompts and data; CrewAI adds its own scaffolding around them. Those prompts
carry facts nexus computed from the workspace data, work a CrewAI user has to do too, so
CrewAI also runs a second way, ``crewai+facts``: inside its clock it first computes the
same facts with nexus's facts builders on its own copy of the workspace (the CrewAI venv
needs ``duckdb`` and the repository on PYTHONPATH, which the benchmark sets).

Each framework runs in a fresh subprocess per run (``--runs``, median): wall time of the
workflow, wall time of the whole process (imports included), and peak memory
(``ru_maxrss``). Prompt tokens come from the mock server's stats. Mock latency 0 ms and
200 ms. Goal: nexus faster and leaner at 0 ms, no slower at 200 ms, fewer prompt tokens.

The workflow clock starts after each framework's imports, for both in the same way: a
first, unmeasured run of each framework records the modules its workflow imported lazily
(``sys.modules`` before and after), and every measured run imports those before its clock
starts; ``late_imports`` counts what a measured run still imported. Both workers then
freeze their start-up objects out of full garbage collections (``gc.freeze()``), as
nexus's own processes (``nexus run``, the scheduler worker) do. nexus's time in facts
builders (data work CrewAI does not do) is reported apart (``facts_s``).

CrewAI is optional (``pip install -e '.[bench]'``). It is looked for in this interpreter,
then in the interpreter named by ``NEXUS_BENCH_CREWAI_PYTHON`` (a separate venv is the safe
choice: crewai pins openai 2.x, this project needs openai 3.x). If neither can import it,
the CrewAI rows are skipped with the reason. CrewAI runs offline (telemetry and tracing off).

    python benchmarks/peers.py [--runs 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import (  # noqa: E402
    API_KEY,
    MAX_LIFETIME_S,
    MAX_REQUESTS,
    Timer,
    demo_workspace,
    env_for,
    facts_timer,
    median,
    print_table,
    write_result,
)

GRAPH = "peers_five_step"
CREWAI_FACTS = "crewai+facts"  # CrewAI that also computes the facts its prompts carry
ITEM_ID = "BL-001"  # a backlog item of the demo workspace
STEPS = [
    ("measure", "analytics_reporter", "weekly_analytics_report", []),
    ("analyze", "feedback_synthesizer", "feedback_insights", ["measure"]),
    ("plan", "sprint_prioritizer", "sprint_plan", ["analyze"]),
    ("validate", "reality_checker", "release_readiness", ["plan"]),
    ("deploy", "devops_automator", "deploy_decision", ["validate"]),
]
OFFLINE_ENV = {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "OTEL_SDK_DISABLED": "true",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
}


def graph_yaml() -> str:
    lines = [
        f"name: {GRAPH}",
        "title: Five agents in sequence (benchmark)",
        "description: measure -> analyze -> plan -> validate -> deploy, one call each.",
        "inputs:",
        "  period: {required: true}",
        "  item_id: {description: the backlog item the plan / validate / deploy steps are about}",
        "steps:",
    ]
    for step, agent, output, inputs in STEPS:
        lines += [f"  - id: {step}", f"    agent: {agent}", f"    output: {output}"]
        if inputs:
            lines.append(f"    inputs: [{', '.join(inputs)}]")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ workers


def _preload(names: list[str]) -> list[str]:
    """Import ``names`` (what an earlier run of the workflow imported); return the ones
    that cannot be imported on their own."""
    import importlib

    missing = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:
            missing.append(name)
    return missing


def _worker_nexus(base_url: str, workspace: str, preload: list[str]) -> dict[str, Any]:
    started = time.perf_counter()
    import asyncio

    from nexus_agents.api import Nexus

    missing = _preload(preload)
    gc.freeze()  # as nexus's own processes do; the CrewAI worker does the same
    nx = Nexus.from_workspace(workspace, env=env_for(base_url))
    period = nx.default_period("improvement_loop").label
    timer = Timer()
    with facts_timer(timer):
        modules_before = set(sys.modules)
        run_started = time.perf_counter()
        result = asyncio.run(nx.arun(GRAPH, {"item_id": ITEM_ID}, period=period))
        run_s = time.perf_counter() - run_started
        late = sorted(set(sys.modules) - modules_before)
    ok = result.status == "succeeded"
    return {"ok": ok, "error": result.error, "run_s": run_s,
            "process_s": time.perf_counter() - started,
            "facts_s": timer.totals.get("facts", 0.0), "late_imports": len(late),
            "run_modules": late, "preload_missing": missing}


def _build_facts(data: dict[str, Any]) -> float:
    """The data work nexus does before each agent's call, with nexus's own facts builders
    on a copy of the same workspace: what a CrewAI user must compute to send these prompts."""
    started = time.perf_counter()
    from nexus_agents.data.context import use_workspace
    from nexus_agents.data.workspace import Workspace
    from nexus_agents.facts import prepare_facts
    from nexus_agents.periods import parse_period

    workspace = Workspace(data["workspace"])
    period = parse_period(data["period"])
    as_of = min(workspace.now(), period.end)
    state = {"inputs": dict(data["inputs"]), "period": period.label}
    with use_workspace(workspace), workspace.pinned():
        for step, _agent, output, _inputs in STEPS:
            prepare_facts(workspace, output, period, as_of, state, step_id=step)
    return time.perf_counter() - started


def _worker_crewai(
    base_url: str, prompts_file: str, preload: list[str], with_facts: bool = False
) -> dict[str, Any]:
    started = time.perf_counter()
    os.environ.update(OFFLINE_ENV)
    from crewai import LLM, Agent, Crew, Process, Task

    missing = _preload(preload)
    gc.freeze()  # start-up objects out of full collections, as in the nexus worker

    spec = json.loads(Path(prompts_file).read_text(encoding="utf-8"))
    prompts = spec["prompts"]
    llm = LLM(model="openai/mock-model", base_url=base_url, api_key=API_KEY)
    agents, tasks = [], []
    for step in prompts:
        agent = Agent(
            role=step["agent"].replace("_", " ").title(),
            goal=f"Write the {step['output'].replace('_', ' ')}.",
            backstory=step["system"],
            llm=llm,
            verbose=False,
            allow_delegation=False,
        )
        agents.append(agent)
        tasks.append(
            Task(
                description=step["user"].replace("{", "{{").replace("}", "}}"),
                expected_output=f"The {step['output'].replace('_', ' ')} as JSON.",
                agent=agent,
            )
        )
    crew = Crew(agents=agents, tasks=tasks, process=Process.sequential, verbose=False)
    modules_before = set(sys.modules)
    run_started = time.perf_counter()
    facts_s = _build_facts(spec["data"]) if with_facts else 0.0
    crew.kickoff()
    run_s = time.perf_counter() - run_started
    late = sorted(set(sys.modules) - modules_before)
    return {"ok": True, "error": None, "run_s": run_s, "process_s": time.perf_counter() - started,
            "facts_s": facts_s, "late_imports": len(late), "run_modules": late,
            "preload_missing": missing}


def worker_main(kind: str, base_url: str, arg: str, preload_file: str) -> None:
    preload_path = Path(preload_file)
    preload = json.loads(preload_path.read_text()) if preload_path.is_file() else []
    try:
        if kind == "nexus":
            out = _worker_nexus(base_url, arg, preload)
        else:
            out = _worker_crewai(base_url, arg, preload, with_facts=kind == CREWAI_FACTS)
    except Exception as exc:  # reported, not raised: the parent prints it
        out = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:400]}
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(out))


# ------------------------------------------------------------------------------ parent


def _crewai_python() -> tuple[str | None, str]:
    candidates = [sys.executable]
    extra = os.environ.get("NEXUS_BENCH_CREWAI_PYTHON")
    if extra:
        candidates.append(extra)
    for python in candidates:
        done = subprocess.run(
            [python, "-c", "import crewai; print(crewai.__version__)"],
            capture_output=True, text=True, check=False, env={**os.environ, **OFFLINE_ENV},
        )
        if done.returncode == 0:
            return python, done.stdout.strip()
    return None, (
        "crewai is not importable here nor in NEXUS_BENCH_CREWAI_PYTHON "
        "(install it into a separate venv and set that variable)"
    )


def _spawn(python: str, kind: str, base_url: str, arg: str, preload: Path) -> dict[str, Any]:
    env = {**os.environ, **OFFLINE_ENV}
    if python != sys.executable:
        # the CrewAI venv lacks nexus_agents: the worker needs only this file and _common
        env["PYTHONPATH"] = str(HERE.parent)
    started = time.perf_counter()
    done = subprocess.run(
        [python, str(Path(__file__).resolve()), "--worker", kind, base_url, arg, str(preload)],
        capture_output=True, text=True, check=False, env=env, timeout=600,
    )
    wall = time.perf_counter() - started
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
            result["spawn_s"] = wall
            return result
    return {"ok": False, "error": (done.stderr or done.stdout)[-400:]}


def _peers_period(workspace: Path) -> str:
    """The period the nexus worker runs (the improvement loop's default for the workspace)."""
    from nexus_agents.api import Nexus

    return Nexus.from_workspace(workspace).default_period("improvement_loop").label


def _capture_prompts(requests: list[Any]) -> list[dict[str, Any]]:
    prompts = []
    for (step, agent, output, _), rec in zip(STEPS, requests, strict=True):
        if rec.headers.get("x-nexus-agent") != agent:
            raise SystemExit(f"captured request of {rec.headers.get('x-nexus-agent')} for {step}")
        messages = rec.body["messages"]
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        user = "\n\n".join(m["content"] for m in messages if m["role"] == "user")
        prompts.append({"step": step, "agent": agent, "output": output,
                        "system": system, "user": user})
    return prompts


def measure(runs: int, latencies_ms: list[float]) -> dict[str, Any]:
    from nexus_agents.testing import MockLLMServer
    from nexus_agents.testing.playbook_author import PlaybookAuthor

    crewai_python, crewai_note = _crewai_python()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        ws = demo_workspace(Path(tmp))
        (ws / "graphs").mkdir(exist_ok=True)
        (ws / "graphs" / f"{GRAPH}.yaml").write_text(graph_yaml(), encoding="utf-8")
        prompts_file = Path(tmp) / "prompts.json"
        crewai_ws = demo_workspace(Path(tmp), "crewai-ws", template=ws)
        for latency in latencies_ms:
            frameworks = [("nexus", sys.executable, str(ws))]
            if crewai_python is not None:
                frameworks.append(("crewai", crewai_python, str(prompts_file)))
                frameworks.append((CREWAI_FACTS, crewai_python, str(prompts_file)))
            for name, python, arg in frameworks:
                samples: list[dict[str, Any]] = []
                preload = Path(tmp) / f"preload-{name}.json"
                with MockLLMServer(
                    latency_s=latency / 1000,
                    responder=PlaybookAuthor(),
                    max_requests=MAX_REQUESTS,
                    max_lifetime_s=MAX_LIFETIME_S,
                ) as server:
                    if not preload.exists():
                        # a first, unmeasured run finds what the workflow imports lazily;
                        # measured runs import it before their clock starts
                        first = _spawn(python, name, server.base_url, arg, preload)
                        if not first.get("ok"):
                            if name == "nexus":
                                raise SystemExit(f"nexus discovery run failed: {first.get('error')}")
                            print(f"{name} skipped: {first.get('error')}")
                            continue
                        names = [m for m in first["run_modules"] if not m.startswith("__")]
                        preload.write_text(json.dumps(names))
                        if name == "nexus":
                            data = {
                                "workspace": str(crewai_ws),
                                "period": _peers_period(ws),
                                "inputs": {"item_id": ITEM_ID},
                            }
                            prompts_file.write_text(json.dumps(
                                {"prompts": _capture_prompts(server.requests), "data": data}))
                    for _ in range(runs):
                        before = server.stats
                        got = _spawn(python, name, server.base_url, arg, preload)
                        after = server.stats
                        got["calls"] = after.requests - before.requests
                        got["prompt_tokens"] = after.prompt_tokens - before.prompt_tokens
                        got.pop("run_modules", None)
                        samples.append(got)
                good = [s for s in samples if s.get("ok")]
                rows.append({
                    "framework": name,
                    "latency_ms": latency,
                    "runs_ok": f"{len(good)}/{len(samples)}",
                    "run_s": median([s["run_s"] for s in good]),
                    "facts_s": median([s["facts_s"] for s in good]),
                    "run_without_facts_s": median([s["run_s"] - s["facts_s"] for s in good]),
                    "late_imports": median([float(s["late_imports"]) for s in good]),
                    "process_s": median([s["process_s"] for s in good]),
                    "maxrss_mb": median([s["maxrss_mb"] for s in good]),
                    "calls": median([float(s["calls"]) for s in good]),
                    "prompt_tokens": median([float(s["prompt_tokens"]) for s in good]),
                    "errors": sorted({str(s.get("error")) for s in samples if not s.get("ok")}),
                    "preload_missing": sorted({m for s in good for m in s.get("preload_missing", [])}),
                })
    comparison: dict[str, Any] = {}
    for latency in latencies_ms:
        pair = {r["framework"]: r for r in rows if r["latency_ms"] == latency}
        if "nexus" in pair and "crewai" in pair:
            n, c = pair["nexus"], pair["crewai"]
            comparison[f"{latency:g}ms"] = {
                "run_time_nexus_over_crewai": n["run_s"] / c["run_s"],
                "run_time_without_facts_nexus_over_crewai": n["run_without_facts_s"] / c["run_s"],
                "memory_nexus_over_crewai": n["maxrss_mb"] / c["maxrss_mb"],
                "prompt_tokens_nexus_over_crewai": n["prompt_tokens"] / c["prompt_tokens"],
            }
            if CREWAI_FACTS in pair and pair[CREWAI_FACTS]["run_s"] == pair[CREWAI_FACTS]["run_s"]:
                cf = pair[CREWAI_FACTS]
                comparison[f"{latency:g}ms"].update({
                    "run_time_nexus_over_crewai_with_same_facts": n["run_s"] / cf["run_s"],
                    "memory_nexus_over_crewai_with_same_facts": n["maxrss_mb"] / cf["maxrss_mb"],
                })
    return {
        "runs": runs,
        "crewai": crewai_note if crewai_python is None else f"{crewai_note} ({crewai_python})",
        "crewai_skipped": crewai_python is None,
        "goal": "nexus faster and leaner at 0 ms, no slower at 200 ms, fewer prompt tokens",
        "results": rows,
        "comparison": comparison,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        worker_main(argv[1], argv[2], argv[3], argv[4])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 200.0])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    report = measure(max(1, args.runs), args.latency_ms)
    print(f"5 sequential agents, median of {args.runs} fresh processes per framework")
    print_table(
        ["framework", "latency ms", "ok", "workflow s", "of it facts s", "process s",
         "peak RSS MB", "calls", "prompt tokens", "late imports"],
        [[r["framework"], r["latency_ms"], r["runs_ok"], r["run_s"], r["facts_s"], r["process_s"],
          r["maxrss_mb"], r["calls"], r["prompt_tokens"], r["late_imports"]]
         for r in report["results"]],
    )
    for r in report["results"]:
        for error in r["errors"]:
            print(f"  {r['framework']} @ {r['latency_ms']:g} ms: {error}")
        if r["preload_missing"]:
            print(f"  {r['framework']} could not preload: {r['preload_missing']}")
    if report["crewai_skipped"]:
        print(f"CrewAI skipped: {report['crewai']}")
    for latency, ratios in report["comparison"].items():
        print(f"{latency}: " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))
    print(f"wrote {write_result('peers', report, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
