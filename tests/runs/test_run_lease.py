"""One run, one executor: a second start / resume of a run being executed is refused.

Two resumes race (as two tasks and as two processes): exactly one executes the remaining
steps, the other gets ``RunBusyError`` naming the holder, and every step finishes once.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from nexus_agents.exceptions import RunBusyError
from nexus_agents.graphs.errors import ApprovalError
from nexus_agents.graphs.spec import AgentStep, GraphSpec, parse_spec
from nexus_agents.runs.engine import Engine
from nexus_agents.testing.fake_executor import FakeStepExecutor

TESTS = Path(__file__).parents[1]
LINEAR = TESTS / "graphs" / "specs" / "linear.yaml"
CHILD = Path(__file__).with_name("lease_child.py")
TIMEOUT_S = 30.0


def _fake(**kwargs: Any) -> FakeStepExecutor:
    return FakeStepExecutor(**kwargs)


def _specs() -> dict[str, GraphSpec]:
    return {"linear": parse_spec(yaml.safe_load(LINEAR.read_text()), str(LINEAR))}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "runs.sqlite"


@pytest.fixture
async def failed_run(db: Path) -> AsyncIterator[str]:
    """A run whose ``analyze`` step failed once: ``measure`` is done, two steps remain."""

    def boom(*_: Any) -> None:
        raise RuntimeError("model unreachable")

    async with await Engine.open(specs=_specs(), executor=_fake(hooks={"analyze": boom}), db_path=db) as engine:
        result = await engine.start("linear", {"period": "2025-W02"}, thread_id="weekly:2025-W02")
    assert result.status == "failed"
    yield result.run_id


async def _finished_steps(engine: Engine, run_id: str) -> list[str]:
    return [e.step for e in await engine.store.events_for(run_id) if e.event == "finished"]


async def test_two_concurrent_resumes_execute_the_run_once(db: Path, failed_run: str) -> None:
    refused = asyncio.Event()

    async def hold_until_the_other_was_refused(step: AgentStep, state: Any, ctx: Any) -> None:
        await asyncio.wait_for(refused.wait(), TIMEOUT_S)

    fake = _fake(hooks={"analyze": hold_until_the_other_was_refused})
    async with await Engine.open(specs=_specs(), executor=fake, db_path=db) as engine:

        async def resume() -> Any:
            try:
                return await engine.resume(failed_run)
            except RunBusyError:
                refused.set()
                raise

        outcomes = await asyncio.wait_for(
            asyncio.gather(resume(), resume(), return_exceptions=True), TIMEOUT_S
        )
        done = [o for o in outcomes if not isinstance(o, BaseException)]
        busy = [o for o in outcomes if isinstance(o, RunBusyError)]
        assert len(done) == 1 and len(busy) == 1, outcomes
        assert done[0].status == "succeeded", done[0].error
        message = str(busy[0])
        assert failed_run in message and f"pid {os.getpid()}" in message
        assert socket.gethostname() in message and "since" in message
        assert [(c.step, c.attempt) for c in fake.calls] == [("analyze", None), ("plan", None)]  # each remaining step once
        assert await _finished_steps(engine, failed_run) == ["measure", "analyze", "plan"]
        assert await engine.store.get_lease(failed_run) is None  # released


def _child(db: Path, run_id: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(db), run_id],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


@pytest.mark.slow  # starts two child interpreters that race for the lease
def test_two_processes_resuming_one_run_execute_it_once(db: Path, failed_run: str) -> None:
    first = _child(db, failed_run)
    try:
        assert first.stdout is not None and first.stdin is not None
        assert first.stdout.readline().strip() == "executing"  # it holds the run now
        second = _child(db, failed_run)
        out, err = second.communicate(timeout=TIMEOUT_S)
        assert second.returncode == 3, (out, err)
        assert out.startswith("refused: ") and f"pid {first.pid}" in out, out
        first.stdin.write("go\n")
        first.stdin.flush()
        out, err = first.communicate(timeout=TIMEOUT_S)
    finally:
        first.kill()
        first.wait()
    assert first.returncode == 0, err
    assert out.split() == ["succeeded", "analyze,plan"]

    async def check() -> None:
        async with await Engine.open(specs=_specs(), executor=None, db_path=db) as engine:
            assert await _finished_steps(engine, failed_run) == ["measure", "analyze", "plan"]
            assert await engine.store.get_lease(failed_run) is None

    asyncio.run(check())


async def test_a_start_with_the_thread_id_of_a_running_run_is_refused(db: Path, failed_run: str) -> None:
    entered = asyncio.Event()
    proceed = asyncio.Event()

    async def hold(*_: Any) -> None:
        entered.set()
        await asyncio.wait_for(proceed.wait(), TIMEOUT_S)

    fake = _fake(hooks={"analyze": hold})
    async with await Engine.open(specs=_specs(), executor=fake, db_path=db) as engine:
        running = asyncio.create_task(engine.resume(failed_run))
        await asyncio.wait_for(entered.wait(), TIMEOUT_S)
        with pytest.raises(RunBusyError, match="already being executed"):
            await engine.start("linear", {"period": "2025-W02"}, thread_id=failed_run)
        proceed.set()
        assert (await asyncio.wait_for(running, TIMEOUT_S)).status == "succeeded"
        assert fake.count("analyze") == 1


async def test_the_lease_of_a_crashed_process_is_taken_over(db: Path, failed_run: str) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    async with await Engine.open(specs=_specs(), executor=_fake(), db_path=db) as engine:
        await engine.store.acquire_lease(failed_run)  # then "killed" before releasing it
        await engine.store.db.execute(
            "UPDATE run_leases SET pid = ?, process = ? WHERE run_id = ?",
            (int(gone.stdout), "killed-process", failed_run),
        )
        result = await engine.resume(failed_run)
        assert result.status == "succeeded", result.error
        assert await engine.store.get_lease(failed_run) is None


async def test_the_lease_is_released_on_every_way_out(db: Path, failed_run: str) -> None:
    approval = parse_spec(
        {"name": "gate", "steps": [{"approval": {"id": "ok", "question": "Go?", "decider": "ops",
                                                 "options": ["approve", "no"], "on_timeout": "no"}}]},
        "gate.yaml",
    )

    entered = asyncio.Event()

    async def stuck(*_: Any) -> None:
        entered.set()
        await asyncio.Event().wait()

    fake = _fake(hooks={"analyze": stuck})
    async with await Engine.open(specs={**_specs(), "gate": approval}, executor=fake, db_path=db) as engine:
        running = asyncio.create_task(engine.resume(failed_run))  # then Ctrl-C / cancelled
        await asyncio.wait_for(entered.wait(), TIMEOUT_S)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        assert await engine.store.get_lease(failed_run) is None
        waiting = await engine.start("gate", thread_id="gate-run")
        assert waiting.status == "waiting_approval"
        with pytest.raises(ApprovalError):
            await engine.resume("gate-run")  # no decision given
        assert await engine.store.get_lease("gate-run") is None
        assert (await engine.resume("gate-run", "approve")).status == "succeeded"


async def test_a_long_step_keeps_its_lease_renewed(db: Path, failed_run: str) -> None:
    renewed = asyncio.Event()
    seen: list[str] = []

    async with await Engine.open(specs=_specs(), executor=None, db_path=db) as engine:
        engine.lease_ttl_s = 1.5  # renewed every 0.5 s
        renew = engine.store.renew_lease

        async def counting(lease: Any, **kwargs: Any) -> bool:
            ok = await renew(lease, **kwargs)
            seen.append(lease.owner)
            if len(seen) >= 2:
                renewed.set()
            return ok

        engine.store.renew_lease = counting  # type: ignore[method-assign]

        async def outlive_the_ttl(*_: Any) -> None:
            first = await engine.store.get_lease(failed_run)
            await asyncio.wait_for(renewed.wait(), TIMEOUT_S)
            now = await engine.store.get_lease(failed_run)
            assert first is not None and now is not None and now.owner == first.owner
            assert datetime.fromisoformat(now.expires_at) > datetime.fromisoformat(first.expires_at)
            with pytest.raises(RunBusyError):  # still not takeable from this host
                await engine.store.acquire_lease(failed_run)

        engine.executor = _fake(hooks={"analyze": outlive_the_ttl})
        engine._compiled.clear()
        result = await engine.resume(failed_run)
    assert result.status == "succeeded", result.error


async def test_a_thread_id_of_another_graphs_run_is_a_user_error(db: Path) -> None:
    from nexus_agents.exceptions import InputError

    specs = {**_specs(), "other": _specs()["linear"]}
    async with await Engine.open(specs=specs, executor=_fake(), db_path=db) as engine:
        await engine.start("linear", {"period": "2025-W02"}, thread_id="weekly:2025-W02")
        with pytest.raises(InputError, match="belongs to graph 'linear', not 'other'"):
            await engine.start("other", {"period": "2025-W02"}, thread_id="weekly:2025-W02")
