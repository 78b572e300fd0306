"""The RunStore contract, run against every backend (SQLite and PostgreSQL).

Each check takes ``open_store``: a coroutine function returning a fresh ``RunStore`` on
one empty database (each call a separate connection, like separate workers).
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from nexus_agents.exceptions import RunBusyError
from nexus_agents.runs.store import RunStore, UsageRecord

OpenStore = Callable[[], Awaitable[RunStore]]


async def check_runs_listed_by_job_and_graph(open_store: OpenStore) -> None:
    async with await open_store() as store:
        await store.create_run("daily:2025-01-01", "daily", job="daily", period="2025-01-01")
        await store.create_run("daily:2025-01-02", "daily", job="daily", period="2025-01-02")
        await store.create_run("adhoc", "weekly", inputs={"note": "by hand"})
        await store.set_status("daily:2025-01-01", "failed", error="step 'kpis' failed: boom")
        daily = await store.list_runs(job="daily")
        assert [r.run_id for r in daily] == ["daily:2025-01-02", "daily:2025-01-01"]
        assert [r.run_id for r in await store.list_runs(graph="weekly")] == ["adhoc"]
        assert [r.run_id for r in await store.list_runs(status="failed")] == ["daily:2025-01-01"]
        assert len(await store.list_runs(limit=1)) == 1
        failed = await store.get_run("daily:2025-01-01")
        assert failed is not None and failed.error == "step 'kpis' failed: boom" and failed.finished_at
        adhoc = await store.get_run("adhoc")
        assert adhoc is not None and adhoc.inputs == {"note": "by hand"} and adhoc.status == "running"
        assert await store.get_run("missing") is None


async def check_same_start_time_lists_newest_insert_first(open_store: OpenStore) -> None:
    async with await open_store() as store:
        for run_id in ("b", "d", "a", "e", "c"):
            await store.create_run(run_id, "g")
        # identical timestamps: insertion order breaks the tie
        await store.db.execute("UPDATE runs SET started_at = ?", ("2025-01-01T00:00:00+00:00",))
        assert [r.run_id for r in await store.list_runs()] == ["c", "e", "a", "d", "b"]


async def check_pending_approval_round_trips(open_store: OpenStore) -> None:
    async with await open_store() as store:
        await store.create_run("r", "release")
        pending = {"approval_id": "go_live", "options": ["approve", "reject"], "interrupt_id": "i1"}
        await store.set_status("r", "waiting_approval", pending=pending)
        waiting = await store.list_runs(status="waiting_approval")
        assert [r.pending for r in waiting] == [pending] and waiting[0].finished_at is None
        await store.set_status("r", "succeeded")
        done = await store.get_run("r")
        assert done is not None and done.pending is None and done.finished_at is not None


async def check_latest_artifact_and_usage_totals(open_store: OpenStore) -> None:
    async with await open_store() as store:
        for run_id, status in (("r1", "succeeded"), ("r2", "succeeded"), ("r3", "failed")):
            await store.create_run(run_id, "weekly")
            await store.save_artifact(run_id, "plan", {"kind": "sprint_plan", "n": run_id}, markdown=f"# {run_id}")
            await store.set_status(run_id, status)  # type: ignore[arg-type]
        latest = await store.latest_artifact("sprint_plan")
        assert latest is not None and latest.data["n"] == "r2" and latest.markdown == "# r2"
        with_failed = await store.latest_artifact("sprint_plan", include_failed=True)
        assert with_failed is not None and with_failed.run_id == "r3"
        assert await store.latest_artifact("no_such_kind") is None
        await store.save_artifact("r1", "plan", {"kind": "sprint_plan", "n": "again"})
        assert [a.data["n"] for a in await store.artifacts_for("r1")] == ["again"]
        for tokens in (100, 250):
            await store.add_usage(UsageRecord(run_id="r1", step="plan", agent="sp", model="m",
                                              total_tokens=tokens, prompt_tokens=tokens - 1,
                                              cost_usd=tokens / 1000))
        totals = await store.usage_totals("r1")
        assert totals == {"calls": 2, "prompt_tokens": 348, "completion_tokens": 0,
                          "total_tokens": 350, "cost_usd": totals["cost_usd"]}
        assert abs(totals["cost_usd"] - 0.35) < 1e-12  # stored at double precision
        assert [u.total_tokens for u in await store.usage_for("r1")] == [100, 250]
        assert (await store.usage_totals("r2"))["calls"] == 0
        many = await store.usage_totals_for(["r2", "r1", "unknown"])
        assert many["r1"] == totals and many["r2"]["calls"] == 0 and many["unknown"]["cost_usd"] == 0.0
        assert list(many) == ["r2", "r1", "unknown"]


async def check_events_in_order_with_detail(open_store: OpenStore) -> None:
    async with await open_store() as store:
        await store.create_run("r", "g")
        await store.add_event("r", "kpis", "started", agent="analytics_reporter")
        await store.add_event("r", "kpis", "finished", duration_ms=12.5, detail={"attempt": 1})
        events = await store.events_for("r")
        assert [(e.event, e.agent, e.duration_ms, e.detail) for e in events] == [
            ("started", "analytics_reporter", None, None),
            ("finished", None, 12.5, {"attempt": 1}),
        ]
        await store.add_event("r", "", "otel_span", detail={"span_id": "a"})
        await store.add_event("r", "", "otel_span", detail={"span_id": "b"})
        named = await store.events_named("r", "otel_span")
        assert [e.detail for e in named] == [{"span_id": "a"}, {"span_id": "b"}]
        assert await store.events_named("r", "nothing") == []


async def check_actions_recorded_once(open_store: OpenStore) -> None:
    async with await open_store() as store:
        await store.create_run("r", "g")
        for result in ({"ticket": 1}, {"ticket": 2}):
            await store.record_action("r:deploy", run_id="r", step="deploy", kind="deploy",
                                      payload={"to": "prod"}, result=result)
        action = await store.get_action("r:deploy")
        assert action is not None and action.result == {"ticket": 1} and action.payload == {"to": "prod"}
        await store.record_action("r:notify", run_id="r", step="notify", kind="message",
                                  payload={}, result=None)
        assert [a.key for a in await store.actions_for("r")] == ["r:deploy", "r:notify"]
        assert await store.get_action("nope") is None


async def check_many_concurrent_writers(open_store: OpenStore) -> None:
    stores = [await open_store() for _ in range(8)]
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


async def check_step_records_commit_together(open_store: OpenStore) -> None:
    async with await open_store() as store:
        await store.create_run("r", "weekly")
        await store.add_event("r", "plan", "started", agent="sprint_prioritizer", wait=False)
        usage = [UsageRecord(run_id="r", step="plan", agent="sprint_prioritizer", prompt_tokens=7)]
        await store.record_step(
            "r", "plan", agent="sprint_prioritizer", duration_ms=12.5, usage=usage,
            artifact={"kind": "sprint_plan", "n": 1}, markdown="# plan",
        )
        events = await store.events_for("r")
        assert [(e.step, e.event) for e in events] == [("plan", "started"), ("plan", "finished")]
        assert events[1].duration_ms == 12.5
        assert (await store.usage_totals("r"))["prompt_tokens"] == 7
        [saved] = await store.artifacts_for("r")
        assert saved.data == {"kind": "sprint_plan", "n": 1} and saved.markdown == "# plan"
        # a record that cannot be stored leaves nothing of the step behind
        broken = UsageRecord.model_construct(run_id=None, step="build", agent="developer")
        try:
            good = UsageRecord(run_id="r", step="build", agent="developer", prompt_tokens=3)
            await store.record_step("r", "build", usage=[good, broken], artifact={"kind": "x"})
        except Exception:
            pass
        else:
            raise AssertionError("a usage row without run_id was stored")
        assert [e.step for e in await store.events_for("r")] == ["plan", "plan"]
        assert [a.step for a in await store.artifacts_for("r")] == ["plan"]
        assert (await store.usage_totals("r"))["calls"] == 1


async def check_concurrent_steps_commit_apart(open_store: OpenStore) -> None:
    """Steps of many runs finishing at once (their records may share one commit): each
    step's records are written whole, and the one that cannot be stored fails alone."""
    async with await open_store() as store:
        for n in range(30):
            await store.create_run(f"r{n}", "incident_response")

        async def finish(n: int) -> None:
            usage = [UsageRecord(run_id=f"r{n}", step="triage", agent="a", prompt_tokens=n)]
            if n == 13:  # a row the database refuses, after a good one
                usage.append(UsageRecord.model_construct(run_id=None, step="triage", agent="a"))
            await store.add_event(f"r{n}", "triage", "started", wait=False)
            await store.record_step(
                f"r{n}", "triage", agent="a", usage=usage, artifact={"kind": "triage", "n": n}
            )

        outcomes = await asyncio.gather(*(finish(n) for n in range(30)), return_exceptions=True)
        failed = [n for n, out in enumerate(outcomes) if isinstance(out, BaseException)]
        assert failed == [13]
        for n in range(30):
            events = [e.event for e in await store.events_for(f"r{n}")]
            artifacts = [a.data for a in await store.artifacts_for(f"r{n}")]
            calls = (await store.usage_totals(f"r{n}"))["calls"]
            if n == 13:  # nothing of the failed step but its queued started event
                assert (events, artifacts, calls) == (["started"], [], 0)
            else:
                assert events == ["started", "finished"]
                assert artifacts == [{"kind": "triage", "n": n}] and calls == 1


async def check_a_lease_has_one_holder_until_released(open_store: OpenStore) -> None:
    async with await open_store() as first, await open_store() as second:
        lease = await first.acquire_lease("r")
        try:
            await second.acquire_lease("r")
        except RunBusyError as busy:
            assert busy.run_id == "r" and busy.pid == lease.pid and busy.host == lease.host
            assert busy.since == lease.since
            assert f"pid {lease.pid}" in str(busy) and "already being executed" in str(busy)
        else:
            raise AssertionError("a second holder got the lease of a running run")
        assert await first.renew_lease(lease)
        await second.acquire_lease("other")  # leases are per run
        await first.release_lease(lease)
        again = await second.acquire_lease("r")
        assert not await first.renew_lease(lease)  # the old holder no longer renews it
        await first.release_lease(lease)  # nor releases the new holder's lease
        current = await second.get_lease("r")
        assert current is not None and current.owner == again.owner


async def check_racing_claims_give_one_holder(open_store: OpenStore) -> None:
    stores = [await open_store() for _ in range(6)]
    try:
        outcomes = await asyncio.gather(
            *(s.acquire_lease("r") for s in stores), return_exceptions=True
        )
        won = [o for o in outcomes if not isinstance(o, BaseException)]
        assert len(won) == 1, outcomes
        assert all(isinstance(o, RunBusyError) for o in outcomes if o not in won)
    finally:
        for store in stores:
            await store.close()


def _dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    return int(child.stdout)


async def check_a_stale_lease_is_taken_over(open_store: OpenStore) -> None:
    async with await open_store() as store:
        # expired: its holder stopped renewing it (e.g. a process on another host died)
        past = datetime.now(UTC) - timedelta(minutes=5)
        old = await store.acquire_lease("expired", ttl_s=60, now=past)
        await store.db.execute("UPDATE run_leases SET host = ? WHERE run_id = ?",
                               ("elsewhere", "expired"))
        taken = await store.acquire_lease("expired")
        assert taken.owner != old.owner
        # held by a process of this host that is gone (killed), not yet expired
        await store.acquire_lease("crashed")
        await store.db.execute("UPDATE run_leases SET pid = ?, process = ? WHERE run_id = ?",
                               (_dead_pid(), "a-process-that-ended", "crashed"))
        crashed = await store.get_lease("crashed")
        assert crashed is not None and crashed.is_stale()
        taken = await store.acquire_lease("crashed")
        assert taken.owner != crashed.owner
        # a live holder on another host is waited for until its lease expires
        await store.db.execute("UPDATE run_leases SET host = ? WHERE run_id = ?",
                               ("elsewhere", "crashed"))
        try:
            await store.acquire_lease("crashed")
        except RunBusyError as busy:
            assert busy.host == "elsewhere"
        else:
            raise AssertionError("a fresh lease of another host was taken over")


async def check_queued_writes_land_in_order_and_one_bad_write_loses_no_other(
    open_store: OpenStore,
) -> None:
    seen = _Warnings()
    logging.getLogger("nexus_agents").addHandler(seen)
    try:
        async with await open_store() as store:
            await store.create_run("r", "daily")
            for n in range(50):  # queued faster than the database takes them
                await store.add_event("r", f"s{n}", "started", wait=False)
                if n == 20:
                    store.db.execute_soon("INSERT INTO no_such_table VALUES (?)", (n,))
                await store.add_usage(
                    UsageRecord(run_id="r", step=f"s{n}", agent="a", model="m", total_tokens=n),
                    wait=False,
                )
            events = await store.events_for("r")  # a later read sees every queued write
            usage = await store.usage_for("r")
            for n in range(3):  # queued just before the store closes: still written
                await store.add_event("r", f"last{n}", "started", wait=False)
        assert [e.step for e in events] == [f"s{n}" for n in range(50)]
        assert [u.total_tokens for u in usage] == list(range(50))
        assert any("no_such_table" in m for m in seen.messages)
        async with await open_store() as again:
            steps = [e.step for e in await again.events_for("r")]
        assert steps[-3:] == ["last0", "last1", "last2"]
    finally:
        logging.getLogger("nexus_agents").removeHandler(seen)


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


CONTRACT: list[Callable[[OpenStore], Awaitable[None]]] = [
    check_runs_listed_by_job_and_graph,
    check_same_start_time_lists_newest_insert_first,
    check_pending_approval_round_trips,
    check_latest_artifact_and_usage_totals,
    check_events_in_order_with_detail,
    check_actions_recorded_once,
    check_many_concurrent_writers,
    check_step_records_commit_together,
    check_concurrent_steps_commit_apart,
    check_queued_writes_land_in_order_and_one_bad_write_loses_no_other,
    check_a_lease_has_one_holder_until_released,
    check_racing_claims_give_one_holder,
    check_a_stale_lease_is_taken_over,
]
