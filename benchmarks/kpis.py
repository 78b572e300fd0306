"""Time of the full KPI suite against hand-written SQL, at 10k / 100k / 1M activity rows.

For each size a temporary workspace gets ``activity.csv`` with N rows, ``users.csv`` with
N/10 users and ``tickets.csv`` with N/20 tickets (written by DuckDB, fixed seed). Then:

- suite: ``Workspace(path)`` + ``compute_kpis`` (validated loading of every file + all 14 KPIs),
  with the workspace's table cache (``.nexus/data-cache.duckdb``) removed before each run;
- suite, cached tables: the same with the cache a previous run left (what a new process
  sees when the files did not change);
- hand SQL: one DuckDB query per KPI with data (MoM growth, activation, D7, D30, first-response
  SLA, resolution time) straight on ``read_csv`` with typed columns, no validation.

Both are timed ``--runs`` times (median); the values must agree. Goals: cost grows no worse
than linearly, suite within 2x of hand SQL, 1M activity rows in a few seconds.

    python benchmarks/kpis.py [--runs 3] [--out benchmarks/results/kpis.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from nexus_agents.data import Workspace
from nexus_agents.periods import parse_period
from nexus_agents.tools.kpis import compute_kpis

HERE = Path(__file__).resolve().parent
SIZES = (10_000, 100_000, 1_000_000)
PERIOD = parse_period("2026-10")
AS_OF = datetime(2026, 11, 15)


def _write(path: Path, activity_rows: int) -> None:
    data = path / "data"
    data.mkdir(parents=True)
    (path / "nexus.toml").write_text('[product]\nname = "bench"\ntimezone = "UTC"\n')
    users = max(1, activity_rows // 10)
    tickets = max(1, activity_rows // 20)
    con = duckdb.connect()
    con.execute("SELECT setseed(0.42)")
    con.execute(f"""COPY (SELECT 'u' || i AS user_id,
        strftime(TIMESTAMP '2026-08-01' + INTERVAL (CAST(random() * 90 * 86400 AS BIGINT)) SECOND,
                 '%Y-%m-%dT%H:%M:%S') AS signup_at,
        CASE WHEN random() < 0.6 THEN '2026-11-01T00:00:00' END AS activated_at,
        'ads' AS channel
        FROM range({users}) t(i)) TO '{data / "users.csv"}' (HEADER)""")
    con.execute(f"""COPY (SELECT 'u' || CAST(floor(random() * {users}) AS BIGINT) AS user_id,
        CAST(DATE '2026-08-01' + CAST(floor(random() * 100) AS INTEGER) AS VARCHAR) AS active_on
        FROM range({activity_rows})) TO '{data / "activity.csv"}' (HEADER)""")
    con.execute(f"""COPY (SELECT 't' || i AS id,
        strftime(c, '%Y-%m-%dT%H:%M:%S') AS created_at,
        CASE WHEN random() < 0.95 THEN strftime(c + INTERVAL (CAST(random() * 6 * 3600 AS BIGINT))
             SECOND, '%Y-%m-%dT%H:%M:%S') END AS first_response_at,
        strftime(c + INTERVAL (CAST(random() * 12 * 3600 AS BIGINT)) SECOND,
                 '%Y-%m-%dT%H:%M:%S') AS resolved_at,
        'normal' AS priority, 'email' AS channel, 'subject' AS subject, 'body' AS body
        FROM (SELECT i, TIMESTAMP '2026-08-01' + INTERVAL (CAST(random() * 100 * 86400 AS BIGINT))
              SECOND AS c FROM range({tickets}) t(i))) TO '{data / "tickets.csv"}' (HEADER)""")
    con.close()


def _hand_sql(path: Path) -> dict[str, float | None]:
    d = path / "data"
    con = duckdb.connect()
    act = f"read_csv('{d / 'activity.csv'}', header=true, columns={{'user_id': 'VARCHAR', 'active_on': 'DATE'}})"
    users = (
        f"read_csv('{d / 'users.csv'}', header=true, columns={{'user_id': 'VARCHAR', "
        "'signup_at': 'TIMESTAMP', 'activated_at': 'TIMESTAMP', 'channel': 'VARCHAR'})"
    )
    tickets = (
        f"read_csv('{d / 'tickets.csv'}', header=true, columns={{'id': 'VARCHAR', "
        "'created_at': 'TIMESTAMP', 'first_response_at': 'TIMESTAMP', 'resolved_at': "
        "'TIMESTAMP', 'priority': 'VARCHAR', 'channel': 'VARCHAR', 'subject': 'VARCHAR', "
        "'body': 'VARCHAR'})"
    )
    s, e, a = "TIMESTAMP '2026-10-01'", "TIMESTAMP '2026-11-01'", "TIMESTAMP '2026-11-15'"
    out: dict[str, float | None] = {}
    out["mom_user_growth"] = con.execute(f"""SELECT 100.0 * (c - p) / p FROM (SELECT
        count(DISTINCT user_id) FILTER (WHERE active_on >= DATE '2026-10-01') c,
        count(DISTINCT user_id) FILTER (WHERE active_on < DATE '2026-10-01') p
        FROM {act} WHERE active_on >= DATE '2026-09-01' AND active_on < DATE '2026-11-01')""").fetchone()[0]  # type: ignore[index]
    out["activation_rate"] = con.execute(f"""SELECT 100.0 * count(activated_at) / count(*)
        FROM {users} WHERE signup_at >= {s} AND signup_at < {e}""").fetchone()[0]  # type: ignore[index]
    for n in (7, 30):
        out[f"retention_d{n}"] = (
            con.execute(f"""SELECT 100.0 * count(*) FILTER (WHERE hit) / count(*)
            FROM (SELECT u.user_id, EXISTS (SELECT 1 FROM {act} x WHERE x.user_id = u.user_id
                  AND x.active_on = CAST(u.signup_at AS DATE) + {n}) hit
                  FROM {users} u WHERE signup_at >= {s} AND signup_at < {e}
                  AND CAST(signup_at AS DATE) + {n} <= DATE '2026-11-15')""").fetchone()[0]
        )  # type: ignore[index]
    out["support_first_response_sla"] = (
        con.execute(f"""SELECT 100.0 * count(*) FILTER (WHERE ok) / count(ok)
        FROM (SELECT CASE WHEN first_response_at IS NOT NULL
                THEN first_response_at - created_at <= INTERVAL 4 HOUR
                WHEN {a} - created_at > INTERVAL 4 HOUR THEN false END ok
              FROM {tickets} WHERE created_at >= {s} AND created_at < {e})""").fetchone()[0]
    )  # type: ignore[index]
    out["support_resolution_time"] = con.execute(f"""SELECT quantile_cont(
        date_diff('second', created_at, resolved_at), 0.5) / 3600.0 FROM {tickets}
        WHERE resolved_at >= {s} AND resolved_at < {e}""").fetchone()[0]  # type: ignore[index]
    con.close()
    return out


def _suite(path: Path, *, fresh: bool) -> Any:
    workspace = Workspace(path)
    if fresh:
        workspace.cache_file.unlink(missing_ok=True)
    return compute_kpis(workspace, PERIOD, AS_OF)


def _median_time(fn: Any, runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "kpis.json")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in SIZES:
            path = Path(tmp) / f"ws{size}"
            _write(path, size)
            suite_s, report = _median_time(lambda p=path: _suite(p, fresh=True), args.runs)
            cached_s, _ = _median_time(lambda p=path: _suite(p, fresh=False), args.runs)
            hand_s, hand = _median_time(lambda p=path: _hand_sql(p), args.runs)
            got = report.by_key()
            for key, value in hand.items():
                mine = got[key].value
                if (mine is None) != (value is None) or (
                    mine is not None and abs(mine - value) > 1e-6 * max(1.0, abs(value))
                ):
                    raise SystemExit(f"{key} differs at {size}: suite {mine} vs SQL {value}")
            rows.append(
                {
                    "activity_rows": size,
                    "suite_s": round(suite_s, 4),
                    "suite_cached_tables_s": round(cached_s, 4),
                    "hand_sql_s": round(hand_s, 4),
                    "ratio": round(suite_s / hand_s, 2),
                }
            )
    for prev, cur in itertools.pairwise(rows):
        cur["growth_vs_previous"] = round(cur["suite_s"] / prev["suite_s"], 2)
    print(f"{'activity rows':>14} {'suite s':>9} {'cached s':>9} {'hand SQL s':>11} "
          f"{'ratio':>6} {'x prev':>7}")
    for r in rows:
        print(
            f"{r['activity_rows']:>14,} {r['suite_s']:>9.3f} {r['suite_cached_tables_s']:>9.3f} "
            f"{r['hand_sql_s']:>11.3f} {r['ratio']:>6.2f} {r.get('growth_vs_previous', ''):>7}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "python": platform.python_version(),
                "duckdb": duckdb.__version__,
                "machine": platform.machine(),
                "runs": args.runs,
                "goals": {"max_ratio_to_hand_sql": 2.0, "scaling": "no worse than linear"},
                "results": rows,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
