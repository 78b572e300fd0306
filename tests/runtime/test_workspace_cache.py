"""The workspace's cached tables and memoized facts follow the data files.

A long-lived ``Nexus`` keeps one ``Workspace`` with loaded tables and memoized KPI
reports; an edit to a data file must show up on the next read, and a file made invalid
must fail loudly instead of serving the old numbers.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest

from nexus_agents.data.context import require_workspace, use_workspace
from nexus_agents.data.workspace import Workspace
from nexus_agents.exceptions import DataError
from nexus_agents.facts import FactsContext
from nexus_agents.facts.daily import kpi_report
from nexus_agents.periods import parse_period
from nexus_agents.tools.kpis import compute_kpi

NOVEMBER = parse_period("2026-11")
AS_OF = datetime(2026, 12, 1)
HEADER = "responded_at,user_id,score,comment\n"


def nps_rows(*scores: int | str) -> str:
    return HEADER + "".join(
        f"2026-11-{day:02d}T10:00:00,u{day},{score},\n" for day, score in enumerate(scores, 1)
    )


def rewrite(path: Path, text: str) -> None:
    """Replace the file and make sure its timestamp moves, as an editor's save would."""
    before = path.stat().st_mtime_ns
    path.write_text(text, encoding="utf-8")
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


@pytest.fixture
def ws(make_ws: Callable[..., Path]) -> Workspace:
    # 2 promoters, 1 passive, 1 detractor -> NPS (2 - 1) / 4 = 25
    return Workspace(make_ws({"nps.csv": nps_rows(10, 9, 7, 3)}))


def nps(ws: Workspace) -> float | None:
    return compute_kpi(ws, "nps", NOVEMBER, AS_OF).value


def test_a_data_file_edited_between_two_reads_is_reloaded(ws: Workspace) -> None:
    assert nps(ws) == pytest.approx(25.0)
    rewrite(ws.file_for("nps"), nps_rows(10, 10, 9, 2))  # 3 promoters, 1 detractor -> 50
    assert nps(ws) == pytest.approx(50.0)


def test_a_file_made_invalid_raises_data_error_on_the_next_read(ws: Workspace) -> None:
    assert nps(ws) == pytest.approx(25.0)
    rewrite(ws.file_for("nps"), nps_rows(10, "eleven", 7, 3))
    with pytest.raises(DataError) as caught:
        nps(ws)
    assert "nps.csv" in str(caught.value)
    assert caught.value.line == 3  # header is line 1; "eleven" is on the second row
    with pytest.raises(DataError):  # still invalid: no fallback to the old table
        nps(ws)
    rewrite(ws.file_for("nps"), nps_rows(3, 3, 3, 10))  # fixed: 1 promoter, 3 detractors
    assert nps(ws) == pytest.approx(-50.0)


def test_a_deleted_file_means_no_data_not_the_old_value(ws: Workspace) -> None:
    assert nps(ws) == pytest.approx(25.0)
    ws.file_for("nps").unlink()
    assert nps(ws) is None


def test_memoized_kpi_reports_are_reused_until_a_file_changes(ws: Workspace) -> None:
    ctx = FactsContext(workspace=ws, period=NOVEMBER, as_of=AS_OF)
    first = kpi_report(ctx)
    assert kpi_report(ctx) is first  # same data: computed once
    rewrite(ws.file_for("nps"), nps_rows(10, 10, 10, 10))
    second = kpi_report(ctx)
    assert second is not first
    by_key = {r.key: r.value for r in second.results}
    assert by_key["nps"] == pytest.approx(100.0)
    assert {r.key: r.value for r in first.results}["nps"] == pytest.approx(25.0)


def test_memoized_recomputes_after_a_change_and_not_before(ws: Workspace) -> None:
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert ws.memoized("probe", compute) == 1
    assert ws.memoized("probe", compute) == 1
    rewrite(ws.file_for("nps"), nps_rows(1))
    assert ws.memoized("probe", compute) == 2
    assert ws.memoized("other", compute) == 3  # keys are separate


def test_a_value_read_from_named_tables_survives_edits_of_other_tables(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run appending to the backlog must not throw away the tickets and KPIs read before."""
    import nexus_agents.data.rows as rows_module
    from nexus_agents.data.rows import read_rows

    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert ws.memoized("nps rows", compute, tables=["nps"]) == 1
    ws.file_for("backlog").write_text("id,title\nB-1,an appended item\n", encoding="utf-8")
    assert ws.memoized("nps rows", compute, tables=["nps"]) == 1  # another table changed
    assert ws.memoized("all", compute) == 2  # no tables named: any change counts
    rewrite(ws.file_for("nps"), nps_rows(10))
    assert ws.memoized("nps rows", compute, tables=["nps"]) == 3  # its own table changed

    first = nps(ws)
    rows = read_rows(ws, "nps")
    rewrite(ws.file_for("backlog"), "id,title\nB-1,an appended item\nB-2,another\n")
    with monkeypatch.context() as patched:
        patched.setattr(rows_module, "_query", lambda *a: pytest.fail("nps rows read again"))
        assert read_rows(ws, "nps") == rows
    assert nps(ws) == first
    rewrite(ws.file_for("nps"), nps_rows(3, 3))  # and a change of the table itself shows
    assert nps(ws) == pytest.approx(-100.0)
    assert [r.score for r in read_rows(ws, "nps")] == [3, 3]


def test_threads_reading_at_once_see_the_same_numbers(ws: Workspace) -> None:
    expected = compute_kpi(ws, "nps", NOVEMBER, AS_OF)
    ws.clear_cache()  # every thread races to load the table
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: nps(ws), range(32)))
    assert results == [expected.value] * 32


async def test_facts_computed_off_the_event_loop_see_the_bound_workspace(ws: Workspace) -> None:
    """Facts builders run in a worker thread; the workspace bound around them follows."""

    def in_thread() -> float | None:
        return compute_kpi(require_workspace(), "nps", NOVEMBER, AS_OF).value

    with use_workspace(ws):
        values = await asyncio.gather(*(asyncio.to_thread(in_thread) for _ in range(4)))
    assert values == [pytest.approx(25.0)] * 4


def test_pinned_block_reads_one_view_and_sees_edits_after_it(ws: Workspace) -> None:
    nps_file = ws.data_dir / "nps.csv"
    before = compute_kpi(ws, "nps", NOVEMBER, AS_OF).value
    with ws.pinned():
        assert compute_kpi(ws, "nps", NOVEMBER, AS_OF).value == before
        # 4 promoters now: NPS 100; inside the block the step keeps its one view
        rewrite(nps_file, nps_rows(10, 10, 9, 9))
        assert compute_kpi(ws, "nps", NOVEMBER, AS_OF).value == before
    assert compute_kpi(ws, "nps", NOVEMBER, AS_OF).value == 100.0


def test_cached_rows_follow_the_file_and_are_private_copies(ws: Workspace) -> None:
    from nexus_agents.data.rows import nps_rows as read_nps

    first = read_nps(ws)
    first.clear()  # a caller mutating its list must not change what others read
    assert [r.score for r in read_nps(ws)] == [10, 9, 7, 3]
    rewrite(ws.data_dir / "nps.csv", nps_rows(1))
    assert [r.score for r in read_nps(ws)] == [1]


def test_threads_asking_for_one_value_share_one_computation(ws: Workspace) -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow() -> list[int]:
        calls.append(1)
        started.set()
        assert release.wait(5)
        return [42]

    with ThreadPoolExecutor(max_workers=3) as pool:
        first = pool.submit(ws.memoized, "shared", slow)
        assert started.wait(5)
        others = [pool.submit(ws.memoized, "shared", slow) for _ in range(2)]
        release.set()
        values = [first.result(5), *(f.result(5) for f in others)]
    assert calls == [1]
    assert all(v is values[0] for v in values)


def test_a_failed_computation_is_retried_by_the_thread_that_waited(ws: Workspace) -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def failing() -> int:
        calls.append("failing")
        started.set()
        assert release.wait(5)
        raise RuntimeError("boom")

    def working() -> int:
        calls.append("working")
        return 7

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(ws.memoized, "flaky", failing)
        assert started.wait(5)
        second = pool.submit(ws.memoized, "flaky", working)
        release.set()
        with pytest.raises(RuntimeError):
            first.result(5)
        assert second.result(5) == 7
    assert calls == ["failing", "working"]
    assert ws.memoized("flaky", failing) == 7  # stored once it succeeded
