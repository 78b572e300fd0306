"""Type-check ``nexus_agents`` with mypy against a recorded baseline of known errors.

The package does not type-check cleanly yet, so CI holds the line instead: the errors
mypy finds today are recorded in ``.mypy-baseline`` (one per line, without line
numbers so moving code does not change them) and a run fails when there are more.
Fewer passes, with a reminder to record the smaller baseline.

    python scripts/typecheck.py            # check (CI runs this after ruff)
    python scripts/typecheck.py --update   # re-record the baseline

The settings (strict for the packages that are already clean) are in ``[tool.mypy]`` of
pyproject.toml; mypy's cache lives in ``.mypy_cache``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / ".mypy-baseline"
TARGET = "nexus_agents"
# path:line[:column]: error: message  [code]
_ERROR = re.compile(r"^(?P<path>[^:\s]+\.pyi?):\d+(?::\d+)?: error: (?P<rest>.*)$")


def run_mypy(python: str) -> tuple[list[str], str]:
    """The normalised error lines of one mypy run, and its whole output."""
    cmd = [
        sys.executable, "-m", "mypy", TARGET,
        "--python-executable", python,
        "--no-pretty", "--no-color-output", "--no-error-summary",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    output = proc.stdout + proc.stderr
    if proc.returncode not in (0, 1):  # 2: mypy itself failed (bad config, crash)
        sys.exit(f"typecheck: mypy failed to run (exit {proc.returncode}):\n{output}")
    errors = []
    for line in proc.stdout.splitlines():
        match = _ERROR.match(line)
        if match:
            errors.append(f"{match['path']}: {match['rest']}")
    return sorted(errors), output


def read_baseline() -> list[str]:
    if not BASELINE.is_file():
        return []
    return [line for line in BASELINE.read_text().splitlines() if line and not line.startswith("#")]


def write_baseline(errors: list[str]) -> None:
    header = (
        f"# mypy errors known in {TARGET} ({len(errors)}); CI fails when there are more.\n"
        "# Re-record with: python scripts/typecheck.py --update\n"
    )
    BASELINE.write_text(header + "".join(f"{e}\n" for e in errors))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="re-record .mypy-baseline")
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="the interpreter whose installed packages mypy should see (default: this one)",
    )
    args = parser.parse_args(argv)

    errors, _ = run_mypy(args.python)
    if args.update:
        write_baseline(errors)
        print(f"typecheck: recorded {len(errors)} known error(s) in {BASELINE.name}")
        return 0

    known = read_baseline()
    new = sorted((Counter(errors) - Counter(known)).elements())
    if len(errors) > len(known):
        print(
            f"typecheck: mypy found {len(errors)} error(s), more than the {len(known)} in"
            f" {BASELINE.name}. New ones:"
        )
        for line in new:
            print(f"  {line}")
        print("Fix them (or, if one is truly unavoidable, re-record: python scripts/typecheck.py --update).")
        return 1
    if new:
        print("typecheck: these errors are not in the baseline (others were fixed):")
        for line in new:
            print(f"  {line}")
    if len(errors) < len(known):
        print(
            f"typecheck: {len(errors)} error(s), fewer than the {len(known)} recorded;"
            " lower the baseline: python scripts/typecheck.py --update"
        )
    else:
        print(f"typecheck: {len(errors)} known error(s), no new ones")
    return 0


if __name__ == "__main__":
    sys.exit(main())
