"""Several workers: incident runs submitted to the run queue, executed by 1 and by 2
``nexus worker`` processes sharing one PostgreSQL database.

For each worker count the script creates a fresh database on the server, submits
``--runs`` (default 400) ``incident_response`` runs with ``Nexus.submit`` (half the
alerts P3: one model call; half P2: six), then starts the workers
(``nexus worker --queue runs --drain --concurrency C``) and waits until they exit, all
runs done. The mock model answers each call after ``--latency-ms`` (default 200 ms) in
its own process. Reported per worker count: the wall time from starting the workers to
the last one exiting (start-up included), the span from the first run's start to the
last run's end as the run store recorded them, runs/s over that span, the runs each
worker executed and the model calls the server saw; then the ratio of 2 workers'
runs/s to 1 worker's. With ``--database-url`` the script uses that server (it creates
and drops one database per measurement there); otherwise it starts a throwaway
PostgreSQL (``initdb`` + ``pg_ctl`` from ``--pg-bin``) and removes it afterwards.

    python benchmarks/workers.py [--runs 400] [--latency-ms 200] [--concurrency 32]
                                 [--database-url postgresql://...] [--pg-bin DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import demo_workspace, env_for, mock_server, print_table, write_result

NOW = "2026-11-27T10:20:00+00:00"
CALLS = {"P3": 1, "P2": 6}
REPO = Path(__file__).resolve().parents[1]
NEXUS = Path(sys.executable).parent / "nexus"
WORKER_TIMEOUT_S = 1800


def responder() -> Any:
    """The mock server's responder: ``PlaybookAuthor`` proposing P2 or P3 by service name
    (loaded by the server process as ``workers:responder``)."""
    from nexus_agents.testing.playbook_author import AuthorScenario, PlaybookAuthor, facts_of

    authors = {s: PlaybookAuthor(AuthorScenario(proposed_severity=s)) for s in CALLS}

    def respond(request: dict[str, Any]) -> Any:
        text = str(facts_of(request)) + str(request.get("messages", ""))[:4000]
        return authors["P2" if "p2-service-" in text else "P3"](request)

    return respond


def alert(n: int, severity: str) -> dict[str, Any]:
    return {
        "id": f"ALERT-WORKERS-{n:04d}",
        "service": f"{severity.lower()}-service-{n}",
        "title": "exports are slow",
        "detected_at": "2026-11-27T10:00:00+00:00",
    }


# ------------------------------------------------------------------ PostgreSQL


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _pg_bin(given: str | None) -> Path:
    candidates = [Path(given)] if given else sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    for folder in reversed(candidates):
        if (folder / "pg_ctl").exists():
            return folder
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise SystemExit("no PostgreSQL binaries found: give --pg-bin DIR or --database-url URL")


@contextmanager
def throwaway_postgres(pg_bin: Path) -> Iterator[str]:
    """A PostgreSQL server in a temporary folder (fsync off), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="nexus-bench-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres user
        shutil.chown(folder, "postgres")
        run_as = ["su", "-s", "/bin/sh", "postgres", "-c"]
    port = _free_port()

    def pg(*args: str) -> None:
        command = [str(pg_bin / args[0]), *args[1:]]
        if run_as:
            command = [*run_as, " ".join(f"'{a}'" for a in command)]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    data = folder / "data"
    try:
        pg("initdb", "-D", str(data), "-U", "nexus", "--auth=trust", "-E", "UTF8", "--no-locale")
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off -c max_connections=300"
        pg("pg_ctl", "-D", str(data), "-l", str(folder / "server.log"), "-w", "-t", "60", "-o", options, "start")
        try:
            yield f"postgresql://nexus@127.0.0.1:{port}/postgres"
        finally:
            pg("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    import psycopg

    name = f"nexus_bench_{uuid.uuid4().hex[:10]}"
    head, _, rest = server_url.partition("://")
    authority = rest.partition("/")[0]
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
        try:
            yield f"{head}://{authority}/{name}"
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# ------------------------------------------------------------------ measuring


def _store_summary(url: str) -> dict[str, Any]:
    from pydantic import SecretStr

    from nexus_agents.runs.store import RunStore

    async def read() -> dict[str, Any]:
        store = await RunStore.open(SecretStr(url))
        try:
            runs = await store.list_runs(limit=100_000)
        finally:
            await store.close()
        started = [datetime.fromisoformat(r.started_at) for r in runs if r.started_at]
        finished = [datetime.fromisoformat(r.finished_at) for r in runs if r.finished_at]
        span = (max(finished) - min(started)).total_seconds() if started and finished else None
        return {"statuses": dict(Counter(r.status for r in runs)), "span_s": span}

    return asyncio.run(read())


def measure(
    server_url: str, workers: int, runs: int, concurrency: int, base_url: str, server: Any, tmp: Path
) -> dict[str, Any]:
    from nexus_agents.api import Nexus
    from nexus_agents.config import load_config

    ws = demo_workspace(tmp, f"ws-{workers}")
    severities = ["P3" if n % 2 == 0 else "P2" for n in range(runs)]
    with fresh_database(server_url) as url:
        env = {**env_for(base_url), "NEXUS_DATABASE_URL": url}
        nx = Nexus(load_config(ws, env=env))
        try:
            for n, severity in enumerate(severities):
                nx.submit("incident_response", {"alert": alert(n, severity), "now": NOW}, unattended=True)
        finally:
            nx.close_queue()
        before = server.stats().requests
        child_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("NEXUS_", "OPENAI_"))},
            **env,
            "PYTHONPATH": str(REPO),
        }
        logs = [tmp / f"worker-{workers}-{i}.log" for i in range(workers)]
        load_before = os.getloadavg()[0]
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        procs = []
        for i, log in enumerate(logs):
            with log.open("wb") as out:
                procs.append(
                    subprocess.Popen(
                        [str(NEXUS), "worker", "-w", str(ws), "--queue", "runs", "--drain",
                         "--worker-id", f"bench-{workers}-{i}", "--concurrency", str(concurrency),
                         "--log-level", "INFO"],
                        env=child_env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
        codes = [proc.wait(timeout=WORKER_TIMEOUT_S) for proc in procs]
        wall = time.perf_counter() - started
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        worker_cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (
            cpu_before.ru_utime + cpu_before.ru_stime
        )
        calls = server.stats().requests - before
        summary = _store_summary(url)
    per_worker = [log.read_text().count("): succeeded in") for log in logs]
    span = summary["span_s"]
    return {
        "workers": workers,
        "exit_codes": codes,
        "wall_s_with_startup": round(wall, 2),
        "run_span_s": None if span is None else round(span, 2),
        "runs_per_s": None if not span else round(runs / span, 2),
        "runs_per_worker": per_worker,
        "expected_calls": sum(CALLS[s] for s in severities),
        "calls": calls,
        "statuses": summary["statuses"],
        "worker_cpu_s": round(worker_cpu, 1),
        "worker_cpu_ms_per_run": round(1000 * worker_cpu / runs, 1),
        "machine_load_1min_before": round(load_before, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--concurrency", type=int, default=32, help="runs per worker at once")
    parser.add_argument("--database-url", help="a PostgreSQL server to use (default: start one)")
    parser.add_argument("--pg-bin", help="folder of initdb / pg_ctl (default: found)")
    parser.add_argument("--out", type=Path, help="result file (default: results/workers.json)")
    args = parser.parse_args(argv)

    @contextmanager
    def server_url() -> Iterator[str]:
        if args.database_url:
            yield args.database_url
        else:
            with throwaway_postgres(_pg_bin(args.pg_bin)) as url:
                yield url

    rows = []
    with tempfile.TemporaryDirectory() as tmp, server_url() as url, mock_server(
        args.latency_ms, responder=f"{Path(__file__).stem}:responder"
    ) as server:
        for workers in (1, 2):
            rows.append(
                measure(url, workers, args.runs, args.concurrency, server.base_url, server, Path(tmp))
            )
            print(f"{workers} worker(s): {rows[-1]}", flush=True)
    one, two = rows
    ratio = (
        round(two["runs_per_s"] / one["runs_per_s"], 2)
        if one["runs_per_s"] and two["runs_per_s"]
        else None
    )
    report = {
        "runs": args.runs,
        "latency_ms": args.latency_ms,
        "concurrency_per_worker": args.concurrency,
        "database": "given server" if args.database_url else "throwaway local PostgreSQL",
        "measurements": rows,
        "ratio_2_to_1_workers": ratio,
        "note": "runs/s over the span from the first run's start to the last run's end "
        "(run store times); worker start-up is in wall_s_with_startup only",
    }
    path = write_result("workers", report, args.out)
    print_table(
        ["workers", "runs/s", "run span s", "wall s (with start-up)", "runs per worker", "calls"],
        [
            [r["workers"], r["runs_per_s"], r["run_span_s"], r["wall_s_with_startup"],
             r["runs_per_worker"], f"{r['calls']}/{r['expected_calls']}"]
            for r in rows
        ],
    )
    print(f"2 workers / 1 worker: {ratio}x   ({path})")
    ok = all(set(r["statuses"]) == {"succeeded"} and not any(r["exit_codes"]) for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
