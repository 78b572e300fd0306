"""Cohort retention computed inside DuckDB: the ``retention_cohorts`` answer without
shipping the activity log to Python.

``retention_cohorts`` (tools/retention.py) stays the reference definition and the tool
the model calls; this module gives the same ``RetentionOutput`` from one aggregate query
over the ``users`` and ``activity`` views of ``Workspace.connect()``. When a user id
occurs twice among the sign-ups that count, the reference keeps the first one in file
order; that case is handed back to the reference (``None``), so the answer never differs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING

from nexus_agents.periods import period_containing
from nexus_agents.tools._math import pct
from nexus_agents.tools.retention import (
    CohortCurve,
    RetentionInput,
    RetentionOutput,
    RetentionPoint,
    _flag_dips,
    _flag_offset,
)

if TYPE_CHECKING:
    import duckdb

__all__ = ["retention_cohorts_sql"]

# Offset N covers days [N * width, N * width + extra] after sign-up (see retention.py).
_SPAN = {"day": (1, 0), "week": (7, 6)}

_QUERY = """
WITH u AS (
    SELECT user_id, CAST(signup_at AS DATE) AS d FROM users
    WHERE signup_at >= $first AND signup_at < $end AND CAST(signup_at AS DATE) <= $today
), c AS (
    SELECT user_id, d, CAST(date_trunc($cohort, d) AS DATE) AS cohort FROM u
), o AS (
    SELECT unnest($offsets) AS k
), p AS (
    SELECT c.user_id, c.d, c.cohort, o.k,
        c.d + CAST(o.k * $width AS INTEGER) AS lo,
        c.d + CAST(o.k * $width + $extra AS INTEGER) AS hi
    FROM c CROSS JOIN o
    WHERE c.d + CAST(o.k * $width + $extra AS INTEGER) <= $cutoff
), hits AS (
    SELECT DISTINCT p.user_id, p.k FROM p JOIN activity a
        ON a.user_id = p.user_id AND a.active_on >= p.lo AND a.active_on <= p.hi
)
SELECT 'u' AS part, NULL AS cohort, NULL AS k, count(*) AS n, count(DISTINCT user_id) AS m
FROM u
UNION ALL
SELECT 'n', cohort, NULL, count(*), NULL FROM c GROUP BY cohort
UNION ALL
SELECT 'p', p.cohort, p.k, count(*), count(hits.user_id)
FROM p LEFT JOIN hits ON hits.user_id = p.user_id AND hits.k = p.k
GROUP BY p.cohort, p.k
"""


def retention_cohorts_sql(
    conn: duckdb.DuckDBPyConnection,
    settings: RetentionInput,
    *,
    signed_up_from: datetime,
    signed_up_before: datetime,
) -> RetentionOutput | None:
    """``retention_cohorts`` over the users who signed up in ``[signed_up_from,
    signed_up_before)`` and all their activity, read through ``conn``.

    ``settings`` carries as_of, cohort, offsets and the dip rule; its ``users`` and
    ``activity`` must be empty (the rows come from the connection). Returns ``None``
    when a user id repeats among those sign-ups: only the reference can tell which
    row is first, so the caller runs ``retention_cohorts`` instead.
    """
    if settings.users or settings.activity:
        raise ValueError("retention_cohorts_sql reads users and activity from the connection")
    today = settings.as_of.date() if isinstance(settings.as_of, datetime) else settings.as_of
    offsets = sorted({*settings.offsets, _flag_offset(settings)})
    width, extra = _SPAN[settings.offset_unit]
    last = conn.execute(
        "SELECT max(active_on) FROM activity WHERE active_on <= $today", {"today": today}
    ).fetchone()
    cutoff: date | None = last[0] if last else None
    rows = conn.execute(
        _QUERY,
        {
            "first": signed_up_from,
            "end": signed_up_before,
            "today": today,
            "cutoff": cutoff,
            "cohort": settings.cohort,
            "offsets": offsets,
            "width": width,
            "extra": extra,
        },
    ).fetchall()
    members: dict[date, int] = {}
    counts: dict[tuple[date, int], tuple[int, int]] = {}
    for part, cohort, k, n, m in rows:
        if part == "u" and n != m:
            return None
        if part == "n":
            members[cohort] = int(n)
        elif part == "p":
            counts[(cohort, int(k))] = (int(n), int(m))
    return _flag_dips(list(_curves(members, counts, offsets, settings)), settings, cutoff)


def _curves(
    members: dict[date, int],
    counts: dict[tuple[date, int], tuple[int, int]],
    offsets: list[int],
    settings: RetentionInput,
) -> Iterable[CohortCurve]:
    for start in sorted(members):
        period = period_containing(settings.cohort, start)
        if period.start_date != start:  # DuckDB and the period calendar must agree
            raise AssertionError(f"cohort start {start} is not the start of {period.label}")
        points = []
        for offset in offsets:
            eligible, retained = counts.get((start, offset), (0, 0))
            points.append(
                RetentionPoint(
                    offset=offset,
                    eligible=eligible,
                    retained=retained,
                    retention_pct=pct(retained, eligible),
                )
            )
        yield CohortCurve(
            cohort=period.label,
            start=start.isoformat(),
            users=members[start],
            points=points,
            flagged=False,
            gap_points=None,
        )
