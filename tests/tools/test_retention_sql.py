"""The DuckDB cohort retention gives exactly the answer of the ``retention_cohorts`` tool."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import pytest

from nexus_agents.tools.retention import RetentionInput, RetentionOutput, retention_cohorts
from nexus_agents.tools.retention_sql import retention_cohorts_sql
from nexus_agents.tools.rows_types import ActivityRecord, UserRecord

FROM = datetime(2026, 3, 2)  # Monday of ISO week 10
BEFORE = datetime(2026, 4, 6)
AS_OF = datetime(2026, 3, 31, 18, 0)


@pytest.fixture
def conn() -> Iterator[duckdb.DuckDBPyConnection]:
    db = duckdb.connect(":memory:")
    db.execute(
        "CREATE TABLE users (user_id VARCHAR, signup_at TIMESTAMP, "
        "activated_at TIMESTAMP, channel VARCHAR)"
    )
    db.execute("CREATE TABLE activity (user_id VARCHAR, active_on DATE)")
    yield db
    db.close()


def fill(
    db: duckdb.DuckDBPyConnection,
    users: list[tuple[str, datetime]],
    activity: list[tuple[str, date]],
) -> None:
    if users:
        db.executemany("INSERT INTO users VALUES (?, ?, NULL, NULL)", users)
    if activity:
        db.executemany("INSERT INTO activity VALUES (?, ?)", activity)


def both(
    db: duckdb.DuckDBPyConnection, **settings: Any
) -> tuple[RetentionOutput | None, RetentionOutput]:
    """(SQL answer, the tool's answer over the same rows in insertion order)."""
    signed_from = settings.pop("signed_up_from", FROM)
    signed_before = settings.pop("signed_up_before", BEFORE)
    as_of = settings.pop("as_of", AS_OF)
    users = [
        UserRecord(user_id=u, signup_at=s)
        for u, s in db.execute("SELECT user_id, signup_at FROM users").fetchall()
        if signed_from <= s < signed_before
    ]
    activity = [
        ActivityRecord(user_id=u, active_on=d)
        for u, d in db.execute("SELECT user_id, active_on FROM activity").fetchall()
    ]
    reference = retention_cohorts(
        RetentionInput(users=users, activity=activity, as_of=as_of, **settings)
    )
    fast = retention_cohorts_sql(
        db,
        RetentionInput(users=[], activity=[], as_of=as_of, **settings),
        signed_up_from=signed_from,
        signed_up_before=signed_before,
    )
    return fast, reference


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day) + timedelta(hours=hour)


HAND_USERS = [
    ("a", at("2026-03-02")), ("b", at("2026-03-03", 23)), ("c", at("2026-03-04")),
    ("d", at("2026-03-08", 0)),  # Sunday: still week 10
    ("e", at("2026-03-09")), ("f", at("2026-03-10")),  # week 11
    ("g", at("2026-03-27")),  # too recent for day 7 at as-of
    ("h", at("2026-04-02")),  # signs up after as-of: ignored
    ("old", at("2026-02-20")),  # before the window
]  # fmt: skip
HAND_ACTIVITY = [
    ("a", date(2026, 3, 3)), ("a", date(2026, 3, 9)), ("a", date(2026, 3, 9)),  # same day twice
    ("b", date(2026, 3, 10)), ("c", date(2026, 3, 12)), ("d", date(2026, 3, 9)),
    ("e", date(2026, 3, 16)), ("e", date(2026, 3, 25)),
    ("g", date(2026, 3, 28)), ("g", date(2026, 4, 3)),  # activity after as-of
    ("h", date(2026, 4, 3)), ("old", date(2026, 2, 27)), ("ghost", date(2026, 3, 9)),
]  # fmt: skip


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"min_eligible": 1},
        {"offsets": [0, 1, 2, 3], "offset_unit": "week", "min_eligible": 1},
        {"offsets": [1], "flag_offset": 14, "min_eligible": 1, "dip_points": 0},
        {"cohort": "month", "min_eligible": 1},
        {"as_of": date(2026, 3, 9)},
        {"as_of": datetime(2026, 3, 10, 0, 0)},
    ],
)
def test_hand_made_edge_cases_match_the_tool(
    conn: duckdb.DuckDBPyConnection, settings: dict
) -> None:
    fill(conn, HAND_USERS, HAND_ACTIVITY)
    fast, reference = both(conn, **settings)
    assert fast == reference
    assert fast is not None and fast.cohorts  # the case is not vacuous


def test_hand_made_numbers(conn: duckdb.DuckDBPyConnection) -> None:
    fill(conn, HAND_USERS, HAND_ACTIVITY)
    fast, _ = both(conn, min_eligible=1)
    assert fast is not None
    assert [(c.cohort, c.users) for c in fast.cohorts] == [
        ("2026-W10", 4),
        ("2026-W11", 2),
        ("2026-W13", 1),
    ]
    day7 = {c.cohort: next(p for p in c.points if p.offset == 7) for c in fast.cohorts}
    # week 10: a (03-09) and b (03-10) on day 7, d (signed up 03-08, active 03-09) is day 1
    assert (day7["2026-W10"].retained, day7["2026-W10"].eligible) == (2, 4)
    assert (day7["2026-W13"].eligible, day7["2026-W13"].retention_pct) == (0, None)


def test_no_users_and_no_activity(conn: duckdb.DuckDBPyConnection) -> None:
    fast, reference = both(conn)
    assert fast == reference
    assert fast is not None and fast.cohorts == [] and fast.flagged == []
    fill(conn, [("a", at("2026-03-02"))], [])
    fast, reference = both(conn, min_eligible=1)
    assert fast == reference and fast is not None
    assert all(p.retained == 0 for p in fast.cohorts[0].points)


def test_a_repeated_user_id_is_left_to_the_tool(conn: duckdb.DuckDBPyConnection) -> None:
    # which of the two rows counts depends on file order, which only the tool sees
    fill(conn, [("a", at("2026-03-02")), ("a", at("2026-03-10"))], [("a", date(2026, 3, 9))])
    fast, _ = both(conn)
    assert fast is None


def test_a_repeat_outside_what_counts_does_not_matter(conn: duckdb.DuckDBPyConnection) -> None:
    users = [("a", at("2026-03-02")), ("a", at("2026-04-02")), ("a", at("2026-02-01"))]
    fill(conn, users, [("a", date(2026, 3, 9))])
    fast, reference = both(conn, min_eligible=1)
    assert fast is not None and fast == reference
    assert fast.cohorts[0].users == 1


def test_settings_that_carry_rows_are_refused(conn: duckdb.DuckDBPyConnection) -> None:
    settings = RetentionInput(
        users=[UserRecord(user_id="a", signup_at=FROM)], activity=[], as_of=AS_OF
    )
    with pytest.raises(ValueError, match="from the connection"):
        retention_cohorts_sql(conn, settings, signed_up_from=FROM, signed_up_before=BEFORE)


@pytest.mark.parametrize("seed", range(6))
def test_random_logs_match_the_tool(conn: duckdb.DuckDBPyConnection, seed: int) -> None:
    rng = random.Random(seed)
    start = datetime(2026, 1, 5)
    users = [
        (f"u{i}", start + timedelta(minutes=rng.randrange(0, 90 * 24 * 60))) for i in range(300)
    ]
    activity = [
        (uid, (signup + timedelta(days=rng.randrange(-3, 60))).date())
        for uid, signup in users
        for _ in range(rng.randrange(0, 12))
    ]
    fill(conn, users, activity)
    as_of = start + timedelta(days=rng.randrange(20, 100), hours=rng.randrange(24))
    window = {"signed_up_from": start + timedelta(weeks=1), "signed_up_before": as_of}
    for settings in (
        {},
        {"offset_unit": "week", "offsets": [0, 1, 2, 4]},
        {"cohort": "month", "dip_points": 2.5, "min_eligible": 5},
    ):
        fast, reference = both(conn, as_of=as_of, **window, **settings)
        assert fast == reference, settings


def test_the_cut_off_is_the_last_activity_date_in_both(conn: duckdb.DuckDBPyConnection) -> None:
    fill(conn, HAND_USERS, [a for a in HAND_ACTIVITY if a[1] <= date(2026, 3, 12)])
    fast, reference = both(conn, min_eligible=1)
    assert fast == reference and fast is not None
    assert fast.cutoff == "2026-03-12"
    day7 = {c.cohort: next(p for p in c.points if p.offset == 7) for c in fast.cohorts}
    assert day7["2026-W10"].eligible == 3  # a, b, c; d's day 7 (03-15) is after the cut-off
