"""Cold-start wall time of ``nexus --help`` and ``import nexus_agents``.

Each command runs in a fresh subprocess ``--runs`` times (default 7) after one
uncounted warm-up run; the median is compared with its goal, next to the interpreter's
own start-up (``python -c pass``) measured in the same run. Also lists the slowest
imports of ``import nexus_agents`` (``-X importtime``, cumulative).

    python benchmarks/cold_start.py [--runs 7] [--out benchmarks/results/cold_start.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GOALS_S = {"nexus --help": 1.0, "import nexus_agents": 0.5}


def _nexus_command() -> list[str]:
    """The console script installed next to this interpreter, else the module entry."""
    script = Path(sys.executable).with_name("nexus")
    if script.exists():
        return [str(script), "--help"]
    found = shutil.which("nexus")
    if found:
        return [found, "--help"]
    return [sys.executable, "-m", "nexus_agents.cli.main", "--help"]


def _time_once(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited with {done.returncode}:\n{done.stderr}")
    return elapsed


def measure(command: list[str], runs: int) -> dict[str, Any]:
    _time_once(command)  # warm-up: fills the OS file cache and __pycache__
    samples = [_time_once(command) for _ in range(runs)]
    return {
        "command": command,
        "runs": runs,
        "median_s": statistics.median(samples),
        "min_s": min(samples),
        "max_s": max(samples),
        "samples_s": samples,
    }


def slowest_imports(module: str, top: int = 8) -> list[dict[str, Any]]:
    """Cumulative import time per module from one ``-X importtime`` run, slowest first."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=False,
    )
    rows: list[dict[str, Any]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative_us, name = (p.strip() for p in line.split(":", 1)[1].split("|"))
        rows.append(
            {
                "module": name,
                "self_ms": int(self_us) / 1000,
                "cumulative_ms": int(cumulative_us) / 1000,
            }
        )
    rows = [r for r in rows if r["module"] != module]
    return sorted(rows, key=lambda r: r["cumulative_ms"], reverse=True)[:top]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "cold_start.json")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import nexus_agents": [sys.executable, "-c", "import nexus_agents"],
        "nexus --help": _nexus_command(),
    }
    results = {name: measure(command, args.runs) for name, command in commands.items()}
    baseline = results["python -c pass"]["median_s"]
    for name, result in results.items():
        goal = GOALS_S.get(name)
        result["goal_s"] = goal
        result["over_baseline_s"] = result["median_s"] - baseline
        result["meets_goal"] = None if goal is None else result["median_s"] < goal

    print(f"{'command':<22}{'median':>10}{'min':>10}{'max':>10}{'-baseline':>11}{'goal':>8}  ok")
    for name, r in results.items():
        goal = "" if r["goal_s"] is None else f"{r['goal_s']:.1f}s"
        ok = "" if r["meets_goal"] is None else ("yes" if r["meets_goal"] else "NO")
        print(
            f"{name:<22}{r['median_s']:>9.3f}s{r['min_s']:>9.3f}s{r['max_s']:>9.3f}s"
            f"{r['over_baseline_s']:>10.3f}s{goal:>8}  {ok}"
        )
    imports = slowest_imports("nexus_agents")
    if imports:
        print("\nslowest imports under 'import nexus_agents' (cumulative ms):")
        for row in imports:
            print(f"  {row['cumulative_ms']:>8.1f}  {row['module']}")

    report = {
        "benchmark": "cold_start",
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "runs": args.runs,
        "results": results,
        "slowest_imports": imports,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    tmp.replace(args.out)  # nothing half-written
    print(f"\nwrote {args.out}")
    return 0 if all(r["meets_goal"] is not False for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
