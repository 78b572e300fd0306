"""Shared pieces of the benchmarks: demo workspace, a bounded mock server, timing, output."""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
API_KEY = "sk-bench-only"
# every mock server a benchmark starts is bounded
MAX_REQUESTS = 20_000
MAX_LIFETIME_S = 900.0


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
    """Time every facts builder the agent executor calls (patched for the block)."""
    import nexus_agents.runtime.executor as executor_module

    original = executor_module.builder_for

    def timed_builder_for(kind: str) -> Any:
        return timer.wrap_sync(label, original(kind))

    executor_module.builder_for = timed_builder_for  # type: ignore[assignment]
    try:
        yield
    finally:
        executor_module.builder_for = original  # type: ignore[assignment]


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
