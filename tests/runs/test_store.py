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


