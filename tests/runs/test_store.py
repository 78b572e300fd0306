"""Run records: listing, artifacts, usage, and many concurrent writers."""

from __future__ import annotations

import asyncio
from pathlib import Path

from nexus_agents.runs.store import RunStore, UsageRecord, default_db_path


async def test_runs_listed_by_job_and_graph(tmp_path: Path) -> None:
    async with await RunStore.open(default_db_path(tmp_path)) as store:
        await store.create_run("daily:2025-01-01", "daily", job="daily", period="2025-01-01")
        await store.create_run("daily:2025-01-02", "daily", job="daily", period="2025-01-02")
        await store.create_run("adhoc", "weekly")
        await store.set_status("daily:2025-01-01", "failed", error="step 'kpis' failed: boom")
        daily = await store.list_runs(job="daily")
        assert [r.run_id for r in daily] == ["daily:2025-01-02", "daily:2025-01-01"]
        assert [r.run_id for r in await store.list_runs(graph="weekly")] == ["adhoc"]
        assert len(await store.list_runs(limit=1)) == 1
        failed = await store.get_run("daily:2025-01-01")
        assert failed is not None and failed.error == "step 'kpis' failed: boom" and failed.finished_at
        assert await store.get_run("missing") is None
    assert (tmp_path / ".nexus" / "nexus.sqlite").is_file()


async def test_latest_artifact_and_usage_totals(tmp_path: Path) -> None:
    async with await RunStore.open(tmp_path / "n.sqlite") as store:
        for run_id, status in (("r1", "succeeded"), ("r2", "succeeded"), ("r3", "failed")):
            await store.create_run(run_id, "weekly")
            await store.save_artifact(run_id, "plan", {"kind": "sprint_plan", "n": run_id}, markdown=f"# {run_id}")
            await store.set_status(run_id, status)  # type: ignore[arg-type]
        latest = await store.latest_artifact("sprint_plan")
        assert latest is not None and latest.data["n"] == "r2" and latest.markdown == "# r2"
        with_failed = await store.latest_artifact("sprint_plan", include_failed=True)
        assert with_failed is not None and with_failed.run_id == "r3"
        await store.save_artifact("r1", "plan", {"kind": "sprint_plan", "n": "again"})
        assert [a.data["n"] for a in await store.artifacts_for("r1")] == ["again"]
        for tokens in (100, 250):
            await store.add_usage(UsageRecord(run_id="r1", step="plan", agent="sp", model="m",
                                              total_tokens=tokens, cost_usd=tokens / 1000))
        totals = await store.usage_totals("r1")
        assert totals["calls"] == 2 and totals["total_tokens"] == 350
        assert abs(totals["cost_usd"] - 0.35) < 1e-9


async def test_many_concurrent_writers_do_not_lock(tmp_path: Path) -> None:
    path = tmp_path / "busy.sqlite"
    stores = [await RunStore.open(path) for _ in range(8)]  # separate connections, like separate workers
    try:
        async def one(i: int) -> None:
            store = stores[i % len(stores)]
            await store.create_run(f"run-{i}", "daily")
            await store.add_event(f"run-{i}", "kpis", "started")
            await store.save_artifact(f"run-{i}", "kpis", {"kind": "kpi_snapshot", "i": i})
            await store.set_status(f"run-{i}", "succeeded")

        await asyncio.gather(*(one(i) for i in range(200)))
        runs = await stores[0].list_runs(limit=500)
        assert len(runs) == 200 and {r.status for r in runs} == {"succeeded"}
    finally:
        for store in stores:
            await store.close()
