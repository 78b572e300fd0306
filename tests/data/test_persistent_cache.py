"""Validated tables kept in ``.nexus/data-cache.duckdb`` between Workspace objects/processes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nexus_agents.data import Workspace, loader
from nexus_agents.exceptions import DataError

INCIDENTS = (
    "id,title,service,severity,detected_at,resolved_at,owner\n"
    "7,Down,api,P0,2026-11-03T09:00:00Z,2026-11-03 10:30,alice\n"
    "8,Slow,web,P2,2026-11-04T08:00:00+00:00,,\n"
)


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the tables parsed and validated from their file (not taken from cache)."""
    seen: list[str] = []
    real = loader.load_table

    def counting(conn, spec, path, tz, **kw):  # type: ignore[no-untyped-def]
        seen.append(spec.name)
        return real(conn, spec, path, tz, **kw)

    monkeypatch.setattr(loader, "load_table", counting)
    return seen


def _incidents(ws: Workspace) -> list[tuple[object, ...]]:
    with ws.connect(["incidents"]) as conn:
        return conn.execute(
            "SELECT id, severity, detected_at, resolved_at, owner FROM incidents ORDER BY id"
        ).fetchall()


def test_second_workspace_reads_tables_from_cache(make_ws, loads) -> None:  # type: ignore[no-untyped-def]
    root = make_ws({"incidents.csv": INCIDENTS}, timezone="Europe/Berlin")
    first = _incidents(Workspace(root))
    assert loads == ["incidents"]
    assert (root / ".nexus" / "data-cache.duckdb").is_file()

    second = Workspace(root)
    assert _incidents(second) == first  # same typed values, extra column included
    assert loads == ["incidents"]  # no second parse/validation
    with second.connect(["incidents"]) as conn:
        types = dict(
            conn.execute("SELECT column_name, column_type FROM (DESCRIBE incidents)").fetchall()
        )
    assert types["id"] == "VARCHAR" and types["detected_at"] == "TIMESTAMP"


def test_edited_file_is_reloaded(make_ws, loads) -> None:  # type: ignore[no-untyped-def]
    root = make_ws({"incidents.csv": INCIDENTS})
    _incidents(Workspace(root))
    (root / "data" / "incidents.csv").write_text(
        INCIDENTS.replace("8,Slow,web,P2", "9,Slow,web,P1"), encoding="utf-8"
    )
    rows = _incidents(Workspace(root))
    assert [r[:2] for r in rows] == [("7", "P0"), ("9", "P1")]
    assert loads == ["incidents", "incidents"]
    assert _incidents(Workspace(root)) == rows  # the edited version is cached in turn
    assert loads == ["incidents", "incidents"]


def test_other_timezone_is_not_served_from_cache(make_ws, loads) -> None:  # type: ignore[no-untyped-def]
    root = make_ws({"incidents.csv": INCIDENTS}, timezone="UTC")
    utc = _incidents(Workspace(root))
    berlin = _incidents(Workspace(make_ws({"incidents.csv": INCIDENTS}, timezone="Europe/Berlin")))
    assert utc[0][2] != berlin[0][2]
    assert len(loads) == 2


def test_malformed_file_raises_every_time(make_ws, loads) -> None:  # type: ignore[no-untyped-def]
    root = make_ws({"incidents.csv": INCIDENTS})
    _incidents(Workspace(root))
    bad = INCIDENTS.replace("8,Slow,web,P2", "8,Slow,web,P9")
    (root / "data" / "incidents.csv").write_text(bad, encoding="utf-8")
    for _ in range(2):
        with pytest.raises(DataError) as info:
            _incidents(Workspace(root))
        assert (info.value.line, info.value.column) == (3, "severity")
        assert "incidents.csv" in str(info.value)
    # restoring the good content serves it from the cache again
    (root / "data" / "incidents.csv").write_text(INCIDENTS, encoding="utf-8")
    assert [r[0] for r in _incidents(Workspace(root))] == ["7", "8"]
    assert loads == ["incidents"] * 3


def test_corrupt_cache_file_is_ignored_and_replaced(make_ws, loads) -> None:  # type: ignore[no-untyped-def]
    root = make_ws({"incidents.csv": INCIDENTS})
    cache = root / ".nexus" / "data-cache.duckdb"
    cache.parent.mkdir()
    cache.write_bytes(b"this is not a duckdb database" * 100)
    assert [r[0] for r in _incidents(Workspace(root))] == ["7", "8"]
    assert [r[0] for r in _incidents(Workspace(root))] == ["7", "8"]
    assert loads == ["incidents"]  # the broken file was replaced by a working cache


def test_cache_in_use_by_a_writer_is_treated_as_missing(make_ws, loads) -> None:  # type: ignore[no-untyped-def]
    import duckdb

    root = make_ws({"incidents.csv": INCIDENTS})
    _incidents(Workspace(root))
    (root / "data" / "incidents.csv").write_text(INCIDENTS.replace("Down", "Out"), encoding="utf-8")
    holder = duckdb.connect(str(root / ".nexus" / "data-cache.duckdb"))  # another "writer"
    try:
        ws = Workspace(root)
        with ws.connect(["incidents"]) as conn:
            assert conn.execute("SELECT title FROM incidents WHERE id = 7").fetchone() == ("Out",)
    finally:
        holder.close()
    assert loads == ["incidents", "incidents"]


def test_cache_stays_inside_dot_nexus(make_ws) -> None:  # type: ignore[no-untyped-def]
    root = make_ws({"incidents.csv": INCIDENTS})
    before = {p for p in root.rglob("*")}
    _incidents(Workspace(root))
    added = {p for p in root.rglob("*")} - before
    assert added and all(p.relative_to(root).parts[0] == ".nexus" for p in added)
    assert os.listdir(root / "data") == ["incidents.csv"]
    assert isinstance(Workspace(root).cache_file, Path)
