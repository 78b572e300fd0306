"""Run records in the workspace SQLite file: the shared RunStore contract, and the file."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from store_contract import CONTRACT, OpenStore

from nexus_agents.runs.store import RunStore, default_db_path


@pytest.mark.parametrize("check", CONTRACT, ids=lambda c: c.__name__.removeprefix("check_"))
async def test_sqlite_store_contract(
    tmp_path: Path, check: Callable[[OpenStore], Awaitable[None]]
) -> None:
    await check(lambda: RunStore.open(tmp_path / "n.sqlite"))


async def test_store_lives_in_the_workspace_nexus_folder(tmp_path: Path) -> None:
    async with await RunStore.open(default_db_path(tmp_path)) as store:
        await store.create_run("r", "daily")
        assert store.path == tmp_path / ".nexus" / "nexus.sqlite"
    assert (tmp_path / ".nexus" / "nexus.sqlite").is_file()
    async with await RunStore.open(default_db_path(tmp_path)) as again:
        assert [r.run_id for r in await again.list_runs()] == ["r"]


async def test_queued_writes_land_in_order_and_one_bad_write_loses_no_other(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from nexus_agents.llm.call_record import UsageRecord

    async with await RunStore.open(tmp_path / "n.sqlite") as store:
        await store.create_run("r", "daily")
        for n in range(50):  # queued faster than the store's thread takes them
            await store.add_event("r", f"s{n}", "started", wait=False)
            if n == 20:
                store.db.execute_soon("INSERT INTO no_such_table VALUES (?)", (n,))
            await store.add_usage(
                UsageRecord(run_id="r", step=f"s{n}", agent="a", model="m", total_tokens=n),
                wait=False,
            )
        events = await store.events_for("r")  # a later read sees every queued write
        usage = await store.usage_for("r")
    assert [e.step for e in events] == [f"s{n}" for n in range(50)]
    assert [u.total_tokens for u in usage] == list(range(50))
    assert "no_such_table" in caplog.text
