"""Run every benchmark in turn (each in its own process) and print a one-line summary each.

Results land in benchmarks/results/<name>.json. None of these is a unit test.

    python benchmarks/run_all.py [--only overhead critical_path ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["cold_start", "kpis", "overhead", "critical_path", "throughput", "peers"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=BENCHMARKS)
    args = parser.parse_args(argv)
    failed: list[str] = []
    for name in args.only:
        print(f"\n=== {name} " + "=" * (60 - len(name)), flush=True)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(HERE / f"{name}.py")], check=False)
        print(f"--- {name}: exit {done.returncode} in {time.perf_counter() - started:.1f} s")
        if done.returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nbenchmarks that exited non-zero (missed a goal or failed): {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
