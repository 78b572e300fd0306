"""Run records and checkpoints in PostgreSQL.

The server tests need ``NEXUS_TEST_POSTGRES_URL`` (a disposable database; ``.ci/run``
starts one). Each test works in a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from store_contract import CONTRACT, OpenStore

from nexus_agents.api import Nexus
from nexus_agents.config import load_config
from nexus_agents.exceptions import ConfigError
from nexus_agents.graphs.spec import parse_spec
from nexus_agents.runs.engine import Engine
from nexus_agents.runs.store import RunStore
from nexus_agents.testing.fake_executor import FakeStepExecutor

URL_VAR = "NEXUS_TEST_POSTGRES_URL"
LINEAR = Path(__file__).parents[1] / "graphs" / "specs" / "linear.yaml"


def _with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


@pytest.fixture
def postgres_extra() -> None:
    """Skip (rather than fail) where the 'postgres' extra is not installed."""
    reason = "needs the 'postgres' extra: pip install 'nexus-agents[postgres]'"
    pytest.importorskip("psycopg", reason=reason)
    pytest.importorskip("langgraph.checkpoint.postgres.aio", reason=reason)


@pytest.fixture
async def pg_url(postgres_extra: None) -> AsyncIterator[str]:
    """A URL whose connections all land in a fresh, empty schema."""
    base = os.environ.get(URL_VAR)
    if not base:
        pytest.skip(f"set {URL_VAR} to a disposable PostgreSQL database to run this")
    import psycopg

    schema = f"nexus_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = await psycopg.AsyncConnection.connect(base, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"{URL_VAR} is set but no PostgreSQL server answers: {type(exc).__name__}")
    async with admin:
        await admin.execute(f"CREATE SCHEMA {schema}")
        try:
            yield _with_schema(base, schema)
        finally:
            await admin.execute(f"DROP SCHEMA {schema} CASCADE")


# ----------------------------------------------------------------- with a server


@pytest.mark.postgres
@pytest.mark.parametrize("check", CONTRACT, ids=lambda c: c.__name__.removeprefix("check_"))
async def test_postgres_store_contract(
    pg_url: str, check: Callable[[OpenStore], Awaitable[None]]
) -> None:
    await check(lambda: RunStore.open(pg_url))


@pytest.mark.postgres
async def test_database_url_moves_runs_and_checkpoints_to_postgres(
    pg_url: str, tmp_path: Path
) -> None:
    config = load_config(tmp_path, env={"NEXUS_DATABASE_URL": pg_url})
    specs = {"linear": parse_spec(yaml.safe_load(LINEAR.read_text()), str(LINEAR))}
    fake = FakeStepExecutor()
    async with await Engine.open(specs=specs, executor=fake, workspace=tmp_path, config=config) as engine:
        assert engine.store.path is None
        done = await engine.start("linear", {"period": "2025-W02"}, period="2025-W02")
    assert done.status == "succeeded", done.error
    assert set(done.artifacts) == {"measure", "analyze", "plan"}
    assert not (tmp_path / ".nexus" / "nexus.sqlite").exists()

    # a second engine (new connections) sees the run, its checkpoint and its records
    again_fake = FakeStepExecutor()
    async with await Engine.open(specs=specs, executor=again_fake, workspace=tmp_path, config=config) as engine:
        rerun = await engine.start("linear", {"period": "2025-W02"}, thread_id=done.run_id)
        assert rerun.status == "succeeded" and rerun.artifacts == done.artifacts
        assert again_fake.calls == []  # a finished thread is never run twice
        events = await engine.store.events_for(done.run_id)
    assert [e.step for e in events if e.event == "finished"] == ["measure", "analyze", "plan"]

    runs = await Nexus(config).alist_runs(graph="linear")
    assert [r.run_id for r in runs] == [done.run_id] and runs[0].status == "succeeded"
    async with await RunStore.open(pg_url) as store:
        totals = await store.usage_totals(done.run_id)
        plan = await store.latest_artifact("sprint_plan")
    assert totals["calls"] == 3 and totals["total_tokens"] == 45
    assert plan is not None and plan.run_id == done.run_id


@pytest.mark.postgres
async def test_two_engines_resuming_one_run_execute_it_once(pg_url: str, tmp_path: Path) -> None:
    import asyncio

    from nexus_agents.exceptions import RunBusyError

    config = load_config(tmp_path, env={"NEXUS_DATABASE_URL": pg_url})
    specs = {"linear": parse_spec(yaml.safe_load(LINEAR.read_text()), str(LINEAR))}

    def boom(*_: Any) -> None:
        raise RuntimeError("model unreachable")

    fake_class = FakeStepExecutor
    async with await Engine.open(specs=specs, executor=fake_class(hooks={"analyze": boom}),
                                 workspace=tmp_path, config=config) as engine:
        failed = await engine.start("linear", {"period": "2025-W02"}, period="2025-W02")
    assert failed.status == "failed"

    refused = asyncio.Event()

    async def hold(*_: Any) -> None:
        await asyncio.wait_for(refused.wait(), 30)

    fakes = [fake_class(hooks={"analyze": hold}) for _ in range(2)]
    engines = [await Engine.open(specs=specs, executor=f, workspace=tmp_path, config=config)
               for f in fakes]
    try:
        async def resume(engine: Engine) -> Any:
            try:
                return await engine.resume(failed.run_id)
            except RunBusyError:
                refused.set()
                raise

        outcomes = await asyncio.wait_for(
            asyncio.gather(*(resume(e) for e in engines), return_exceptions=True), 60
        )
        events = await engines[0].store.events_for(failed.run_id)
        lease = await engines[0].store.get_lease(failed.run_id)
    finally:
        for engine in engines:
            await engine.close()
    assert sorted(type(o).__name__ for o in outcomes) == ["RunBusyError", "RunResult"], outcomes
    assert sum(len(f.calls) for f in fakes) == 2  # analyze and plan, once
    assert [e.step for e in events if e.event == "finished"] == ["measure", "analyze", "plan"]
    assert lease is None


# -------------------------------------------------------------- without a server


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_server_is_a_config_error_without_the_password(
    postgres_extra: None,
) -> None:
    url = f"postgresql://nexus:pw-s3cr%40t@127.0.0.1:{_closed_port()}/runs"
    with pytest.raises(ConfigError, match=r"cannot connect to PostgreSQL at 127\.0\.0\.1:\d+/runs") as err:
        await RunStore.open(url)
    text = str(err.value)
    assert "pw-s3cr" not in text and "nexus:" not in text
    assert err.value.__cause__ is None and err.value.__suppress_context__


async def test_bad_conninfo_is_not_echoed(postgres_extra: None, tmp_path: Path) -> None:
    url = f"postgresql://nexus:pw-s3cret@127.0.0.1:{_closed_port()}/runs?no_such_option=pw-s3cret"
    with pytest.raises(ConfigError) as err:
        await RunStore.open(url)
    assert "pw-s3cret" not in str(err.value)


async def test_missing_postgres_extra_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "langgraph.checkpoint.postgres.aio", None)
    config = load_config(tmp_path, env={"NEXUS_DATABASE_URL": "postgresql://u:pw-hidden@127.0.0.1/db"})
    with pytest.raises(ConfigError, match=r"'postgres' extra") as err:
        await Engine.open(specs={}, executor=None, workspace=tmp_path, config=config)
    assert "nexus-agents[postgres]" in str(err.value) and "pw-hidden" not in str(err.value)
    assert not (tmp_path / ".nexus" / "nexus.sqlite").exists()


async def test_without_a_postgres_url_runs_stay_in_the_workspace_file(tmp_path: Path) -> None:
    config = load_config(tmp_path, env={"NEXUS_DATABASE_URL": f"sqlite:///{tmp_path / 'dbos.sqlite'}"})
    async with await Engine.open(specs={}, executor=None, workspace=tmp_path, config=config) as engine:
        assert engine.store.path == tmp_path / ".nexus" / "nexus.sqlite"
    assert (tmp_path / ".nexus" / "nexus.sqlite").is_file()


async def test_other_database_urls_are_refused_without_echoing_them(tmp_path: Path) -> None:
    config = load_config(tmp_path, env={"NEXUS_DATABASE_URL": "mysql://u:pw-hidden@127.0.0.1/db"})
    with pytest.raises(ConfigError, match="must be a postgresql:// URL") as err:
        await Nexus(config).alist_runs()
    assert "pw-hidden" not in str(err.value)
