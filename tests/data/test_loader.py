"""Loading workspace files: types, timezones, and errors that name file, line and column."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from nexus_agents.data import Workspace
from nexus_agents.data.rows import feedback_rows, incident_rows, read_rows
from nexus_agents.exceptions import DataError


def test_values_are_typed_and_timestamps_local(make_ws) -> None:  # type: ignore[no-untyped-def]
    ws = Workspace(
        make_ws(
            {
                "incidents.csv": (
                    "id,title,service,severity,detected_at,resolved_at,owner\n"
                    "7,Down,api,P0,2026-11-03T09:00:00Z,2026-11-03 10:30,alice\n"
                    "8,Slow,web,P2,2026-11-04T08:00:00+00:00,,\n"
                ),
            },
            timezone="Europe/Berlin",
        )
    )
    rows = incident_rows(ws)
    assert rows[0].detected_at == datetime(2026, 11, 3, 10, 0)  # 09:00Z = 10:00 in Berlin
    assert rows[0].resolved_at == datetime(2026, 11, 3, 10, 30)  # naive = already local
    assert rows[1].resolved_at is None and rows[1].description is None
    with ws.connect(["incidents"]) as conn:  # extra column kept as text
        assert conn.execute("SELECT owner FROM incidents ORDER BY id").fetchall() == [
            ("alice",),
            (None,),
        ]


def test_jsonl_rows_and_optional_key(make_ws) -> None:  # type: ignore[no-untyped-def]
    ws = Workspace(
        make_ws(
            {
                "feedback.jsonl": (
                    '{"id": 1, "source": "app", "created_at": "2026-11-01T10:00:00", "text": "slow", "rating": 2}\n'
                    "\n"
                    '{"id": "b", "source": "mail", "created_at": "2026-11-02", "text": "CSV please"}\n'
                )
            }
        )
    )
    rows = feedback_rows(ws)
    assert [(r.id, r.rating) for r in rows] == [("1", 2.0), ("b", None)]


def test_missing_and_header_only_files_are_empty(make_ws) -> None:  # type: ignore[no-untyped-def]
    ws = Workspace(make_ws({"activity.csv": "user_id,active_on\n"}))
    assert read_rows(ws, "activity") == []
    assert read_rows(ws, "tickets") == []
    assert ws.present_tables() == ["activity"]


def test_quoted_newlines_do_not_shift_line_numbers(make_ws) -> None:  # type: ignore[no-untyped-def]
    ws = Workspace(
        make_ws(
            {
                "tickets.csv": (
                    "id,created_at,first_response_at,resolved_at,priority,channel,subject,body\n"
                    't1,2026-11-01T10:00:00,,,low,email,hi,"line one\nline two\nline three"\n'
                    "t2,yesterday,,,low,email,hi,body\n"
                )
            }
        )
    )
    with pytest.raises(DataError) as info:
        ws.connect(["tickets"])
    assert (info.value.file, info.value.line, info.value.column) == (
        "data/tickets.csv",
        5,
        "created_at",
    )
    assert "'yesterday'" in str(info.value)


BAD_FILES = [
    (
        "nps.csv",
        "responded_at,user_id,score\n2026-11-01T10:00:00,u1,7\n2026-11-01T11:00:00,u2,abc\n",
        3,
        "score",
        "whole number",
    ),
    ("nps.csv", "responded_at,user_id,score\n2026-11-01T10:00:00,u1,11\n", 2, "score", "<= 10"),
    (
        "incidents.csv",
        "id,title,service,detected_at,resolved_at\n",
        1,
        "severity",
        "missing required column",
    ),
    ("activity.csv", "user_id,active_on\nu1,2026-11-01\nu2,2026-02-30\n", 3, "active_on", "date"),
    ("activity.csv", "user_id,active_on\nu1,11/01/2026\n", 2, "active_on", "date"),
    (
        "experiments.csv",
        "experiment_id,variant,exposures,conversions,started_on,ended_on\ne,control,-5,0,,\n",
        2,
        "exposures",
        "negative",
    ),
    (
        "experiments.csv",
        "experiment_id,variant,exposures,conversions,started_on,ended_on\n"
        "e,control,10,3,,\ne,b,10,12,,\n",
        3,
        "conversions",
        "more conversions",
    ),
    (
        "deployments.csv",
        "deployed_at,service,version,status,lead_time_hours\n2026-11-01T10:00:00,api,v1,ok,3\n",
        2,
        "status",
        "unknown value",
    ),
    ("uptime_checks.csv", "checked_at,service,ok\n2026-11-01T10:00:00,api,yes\n", 2, "ok", "1/0"),
    ("users.csv", "user_id,signup_at,activated_at,channel\nu1,,,\n", 2, "signup_at", "empty value"),
    ("subscriptions.csv", "month,customer_id,mrr\n2026-1,c1,10\n", 2, "month", "YYYY-MM"),
    (
        "users.csv",
        b"user_id,signup_at,activated_at,channel\nu1,2026-11-01,,caf\xe9\n",
        2,
        None,
        "UTF-8",
    ),
    ("users.csv", b"", 1, None, "empty file"),
    (
        "users.csv",
        "user_id,signup_at,activated_at,channel\nu1,2026-11-01,,ads,extra\n",
        2,
        None,
        "CSV",
    ),
    (
        "feedback.jsonl",
        '{"id": "1", "source": "a", "created_at": "2026-11-01", "text": "x"}\n'
        '{"id": "2", "source": "a", "created_at": \n',
        2,
        None,
        "not valid JSON",
    ),
    (
        "feedback.jsonl",
        '{"id": "1", "source": "a", "created_at": "2026-11-01"}\n',
        1,
        "text",
        "missing required key",
    ),
    (
        "feedback.jsonl",
        '{"id": "1", "source": "a", "created_at": "2026-11-01", "text": "x", "rating": 99}\n',
        1,
        "rating",
        "<= 10",
    ),
]


@pytest.mark.parametrize(("name", "content", "line", "column", "fragment"), BAD_FILES)
def test_malformed_files_name_file_line_and_column(
    make_ws,
    name: str,
    content: str | bytes,
    line: int,
    column: str | None,
    fragment: str,  # type: ignore[no-untyped-def]
) -> None:
    ws = Workspace(make_ws({name: content}))
    with pytest.raises(DataError) as info:
        ws.connect()
    err = info.value
    assert err.file == f"data/{name}"
    assert err.line == line
    assert err.column == column
    assert fragment in str(err)


def test_as_of_from_config_and_aware_conversion(make_ws) -> None:  # type: ignore[no-untyped-def]
    ws = Workspace(
        make_ws({}, timezone="Europe/Berlin", extra_toml="[data]\nas_of = 2026-11-27T00:00:00\n")
    )
    assert ws.now() == datetime(2026, 11, 27)
    assert ws.local(datetime.fromisoformat("2026-11-26T23:30:00+00:00")).date() == date(
        2026, 11, 27
    )


def test_rows_as_a_narrower_record_with_or_without_validation(make_ws) -> None:  # type: ignore[no-untyped-def]
    from pydantic import BaseModel

    class Who(BaseModel):
        user_id: str
        channel: str | None = None

    ws = Workspace(
        make_ws(
            {
                "users.csv": (
                    "user_id,signup_at,activated_at,channel\n"
                    "u1,2026-11-01T09:00:00,,ads\n"
                    "u2,2026-11-03T09:00:00,2026-11-04T09:00:00,\n"
                )
            }
        )
    )
    for validate in (True, False):
        rows = read_rows(
            ws,
            "users",
            model=Who,
            where="signup_at >= ?",
            params=[datetime(2026, 11, 2)],
            validate=validate,
        )
        assert [(type(r), r.user_id, r.channel) for r in rows] == [(Who, "u2", None)]
