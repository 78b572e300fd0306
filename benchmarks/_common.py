"""Shared pieces of the benchmarks: demo workspace, a bounded mock server, timing, output."""

from __future__ import annotations

import json
import os
import platform
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nexus_agents.testing.mock_server import MockServerStats, RecordedRequest

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
API_KEY = "sk-bench-only"
# every mock server a benchmark starts is bounded
MAX_REQUESTS = 20_000
MAX_LIFETIME_S = 900.0


MOCK_START_TIMEOUT_S = 60.0
MOCK_STOP_GRACE_S = 5.0
# 127.0.0.1 only: never route the stats calls through an HTTP proxy from the environment
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class MockProcess:
    """A mock model server in a child process: its URL, and its stats and requests over HTTP."""

    mode = "subprocess"

    def __init__(self, proc: subprocess.Popen[str], base_url: str) -> None:
        self.proc = proc
        self.base_url = base_url
        self._root = base_url.removesuffix("/v1")

    def _get(self, route: str) -> bytes:
        with _NO_PROXY.open(f"{self._root}{route}", timeout=30) as reply:
            body: bytes = reply.read()
            return body

    def stats(self) -> MockServerStats:
        from nexus_agents.testing.mock_server import MockServerStats

        return MockServerStats.model_validate_json(self._get("/_mock/stats"))

    def requests(self, since: int = 0) -> list[RecordedRequest]:
        """Recorded chat requests after the first ``since`` (credential headers removed)."""
        from nexus_agents.testing.mock_server import RecordedRequest

        rows = json.loads(self._get(f"/_mock/requests?since={since}"))
        return [RecordedRequest.model_validate(row) for row in rows]


class MockThread:
    """Today's in-process server (a thread of this process) behind the same interface."""

    mode = "thread"

    def __init__(self, server: Any) -> None:
        self.server = server
        self.base_url: str = server.base_url

    def stats(self) -> MockServerStats:
        stats: MockServerStats = self.server.stats
        return stats

    def requests(self, since: int = 0) -> list[RecordedRequest]:
        recorded: list[RecordedRequest] = self.server.requests
        return recorded[since:]


def _mock_cli_args(
    latency_ms: float,
    author: bool,
    responder: str | None,
    max_requests: int,
    max_lifetime_s: float,
) -> list[str]:
    if author and responder:
        raise ValueError("pass author=True or responder='module:factory', not both")
    args = [
        "--port",
        "0",
        "--latency-ms",
        repr(float(latency_ms)),
        "--max-requests",
        str(max_requests),
        "--max-lifetime-s",
        repr(float(max_lifetime_s)),
    ]
    if author:
        args.append("--author")
    if responder:
        args += ["--responder", responder]
    return args


def _read_url_line(proc: subprocess.Popen[str], timeout_s: float, stderr: IO[str]) -> str:
    """The first stdout line of ``proc`` (its base URL); raises with its stderr on failure."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    line = proc.stdout.readline().strip() if ready else ""
    if line.startswith("http://127.0.0.1:"):
        return line
    if line:
        reason = f"printed {line!r} instead of its URL"
    elif not ready:
        reason = f"printed no URL within {timeout_s:g} s"
    else:  # stdout closed: the process is ending
        try:
            reason = f"exited with {proc.wait(timeout=MOCK_STOP_GRACE_S)}"
        except subprocess.TimeoutExpired:
            reason = "closed its stdout without printing its URL"
    stderr.flush()
    stderr.seek(0)
    tail = stderr.read()[-2000:]
    raise RuntimeError(f"the mock server process {reason}; its stderr:\n{tail}")


def _terminate(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=MOCK_STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=MOCK_STOP_GRACE_S)


@contextmanager
def mock_server_process(
    latency_ms: float = 0.0,
    *,
    author: bool = False,
    responder: str | None = None,
    max_requests: int = MAX_REQUESTS,
    max_lifetime_s: float = MAX_LIFETIME_S,
    start_timeout_s: float = MOCK_START_TIMEOUT_S,
) -> Iterator[MockProcess]:
    """Run ``python -m nexus_agents.testing.mock_server`` as a bounded child process.

    ``responder`` is ``module:factory``; the benchmarks folder is on the child's
    PYTHONPATH, so ``throughput:responder`` resolves. The child gets SIGTERM on exit
    (then SIGKILL after a short grace period).
    """
    command = [
        sys.executable,
        "-m",
        "nexus_agents.testing.mock_server",
        *_mock_cli_args(latency_ms, author, responder, max_requests, max_lifetime_s),
    ]
    paths = [str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    with tempfile.TemporaryFile("w+", encoding="utf-8") as stderr:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        )
        try:
            yield MockProcess(proc, _read_url_line(proc, start_timeout_s, stderr))
        finally:
            _terminate(proc)
            if proc.stdout is not None:
                proc.stdout.close()


@contextmanager
def mock_server(
    latency_ms: float = 0.0,
    *,
    in_process: bool = False,
    author: bool = False,
    responder: str | None = None,
    max_requests: int = MAX_REQUESTS,
    max_lifetime_s: float = MAX_LIFETIME_S,
) -> Iterator[MockProcess | MockThread]:
    """The benchmarks' mock server: a child process, or (``in_process``) a thread here."""
    if not in_process:
        with mock_server_process(
            latency_ms,
            author=author,
            responder=responder,
            max_requests=max_requests,
            max_lifetime_s=max_lifetime_s,
        ) as child:
            yield child
        return
    from nexus_agents.testing import MockLLMServer
    from nexus_agents.testing.mock_server import load_responder
    from nexus_agents.testing.playbook_author import PlaybookAuthor

    _mock_cli_args(latency_ms, author, responder, max_requests, max_lifetime_s)  # same checks
    chosen = PlaybookAuthor() if author else load_responder(responder) if responder else None
    with MockLLMServer(
        latency_s=latency_ms / 1000,
        responder=chosen,
        max_requests=max_requests,
        max_lifetime_s=max_lifetime_s,
    ) as server:
        yield MockThread(server)


def machine() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


def demo_workspace(root: Path, name: str = "ws", template: Path | None = None) -> Path:
    """A demo workspace under ``root`` (copied from ``template`` when given: faster)."""
    target = root / name
    if template is not None:
        shutil.copytree(template, target)
        return target
    from nexus_agents.data.demo import generate_demo

    generate_demo(target, seed=7)
    return target


def env_for(base_url: str) -> dict[str, str]:
    return {"NEXUS_LLM_BASE_URL": base_url, "NEXUS_LLM_API_KEY": API_KEY}


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


class Timer:
    """Accumulates wall time of wrapped calls (sync or async) by label."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.samples: dict[str, list[float]] = {}

    def add(self, label: str, seconds: float) -> None:
        self.totals[label] = self.totals.get(label, 0.0) + seconds
        self.counts[label] = self.counts.get(label, 0) + 1
        self.samples.setdefault(label, []).append(seconds)

    def reset(self) -> None:
        self.totals.clear()
        self.counts.clear()
        self.samples.clear()

    def wrap_sync(self, label: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.add(label, time.perf_counter() - started)

        return timed

    def wrap_async(self, label: str, func: Callable[..., Any]) -> Callable[..., Any]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await func(*args, **kwargs)
            finally:
                self.add(label, time.perf_counter() - started)

        return timed


@contextmanager
def facts_timer(timer: Timer, label: str = "facts") -> Iterator[None]:
    """Time the facts every agent step of the executor prepares (patched for the block)."""
    import nexus_agents.runtime.executor as executor_module

    original = executor_module.prepare_facts
    executor_module.prepare_facts = timer.wrap_sync(label, original)  # type: ignore[assignment]
    try:
        yield
    finally:
        executor_module.prepare_facts = original  # type: ignore[assignment]


def write_result(name: str, report: dict[str, Any], out: Path | None = None) -> Path:
    """Write ``report`` (plus machine info) as JSON atomically; return the path."""
    target = out or RESULTS / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        **report,
    }
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(target)
    return target


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:.3f}"
    return "" if value is None else str(value)


def freeze_gc(enabled: bool) -> bool:
    """Keep start-up objects out of full garbage collections, as ``nexus run``, ``nexus
    demo`` and the scheduler worker do in their own processes; returns ``enabled``."""
    if enabled:
        from nexus_agents._gc import freeze_startup_objects

        freeze_startup_objects()
    return enabled


def add_setup_options(parser: Any) -> None:
    """The options every single-process benchmark shares: where the mock server runs and
    whether start-up objects are frozen out of full garbage collections."""
    parser.add_argument(
        "--mock-in-process",
        action="store_true",
        help="run the mock server in a thread of this process instead of its own process",
    )
    parser.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="leave start-up objects in full garbage collections (nexus's own processes freeze them)",
    )
