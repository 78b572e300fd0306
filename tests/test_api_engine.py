"""One engine per ``Nexus``: runs on one event loop share it; ``aclose`` releases it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nexus_agents.api import Nexus
from nexus_agents.runs.engine import Engine
from nexus_agents.testing import MockLLMServer
from nexus_agents.testing.playbook_author import AuthorScenario, PlaybookAuthor

NOW = "2026-11-27T10:20:00+00:00"


def alert(n: int) -> dict[str, Any]:
    return {
        "id": f"ALERT-T-{n:03d}",
        "service": "exports",
        "title": "exports are slow",
        "detected_at": "2026-11-27T10:00:00+00:00",
    }


@pytest.fixture
def ws(demo_workspace: Path) -> Path:
    return demo_workspace


@pytest.fixture
def server() -> Iterator[MockLLMServer]:
    with MockLLMServer(responder=PlaybookAuthor(AuthorScenario(proposed_severity="P3"))) as srv:
        yield srv


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Engine]:
    """Every engine ``Engine.open`` hands out during the test."""
    engines: list[Engine] = []
    original = Engine.open

    async def spy(*args: Any, **kwargs: Any) -> Engine:
        engine = await original(*args, **kwargs)
        engines.append(engine)
        return engine

    monkeypatch.setattr(Engine, "open", spy)
    return engines


def nexus(ws: Path, server: MockLLMServer) -> Nexus:
    return Nexus.from_workspace(
        ws, env={"NEXUS_LLM_BASE_URL": server.base_url, "NEXUS_LLM_API_KEY": "sk-test"}
    )


def comparable(result: Any) -> dict[str, Any]:
    """What a user reads of a run, minus what differs between any two runs (ids, times)."""
    artifacts = {
        step: {k: v for k, v in data.items() if k != "meta"}
        for step, data in result.artifacts.items()
    }
    return {"status": result.status, "artifacts": artifacts, "error": result.error}


async def test_two_runs_on_one_nexus_reuse_one_engine(
    ws: Path, server: MockLLMServer, opened: list[Engine]
) -> None:
    nx = nexus(ws, server)
    first = await nx.arun("incident_response", {"alert": alert(1), "now": NOW})
    second = await nx.arun("incident_response", {"alert": alert(2), "now": NOW})
    again = await nx.aresult(first.run_id)
    assert first.status == second.status == "succeeded"
    assert again.artifacts == first.artifacts
    assert len(opened) == 1
    await nx.aclose()


async def test_concurrent_runs_share_the_engine_and_all_finish(
    ws: Path, server: MockLLMServer, opened: list[Engine]
) -> None:
    async with nexus(ws, server) as nx:
        results = await asyncio.gather(
            *(nx.arun("incident_response", {"alert": alert(n), "now": NOW}) for n in range(12))
        )
    assert [r.status for r in results] == ["succeeded"] * 12
    assert len({r.run_id for r in results}) == 12
    assert len(opened) == 1


async def test_aclose_closes_the_engine_and_the_next_run_opens_a_new_one(
    ws: Path, server: MockLLMServer, opened: list[Engine]
) -> None:
    nx = nexus(ws, server)
    await nx.arun("incident_response", {"alert": alert(1), "now": NOW})
    await nx.aclose()
    assert opened[0]._owns == []  # its store and checkpoint connections were closed
    with pytest.raises(ValueError, match="no active connection"):
        await opened[0].store.get_run("anything")
    later = await nx.arun("incident_response", {"alert": alert(2), "now": NOW})
    assert later.status == "succeeded"
    assert len(opened) == 2
    await nx.aclose()
    await nx.aclose()  # closing twice is harmless


async def test_results_equal_those_of_a_fresh_nexus(
    ws: Path, server: MockLLMServer, opened: list[Engine]
) -> None:
    shared = nexus(ws, server)
    await shared.arun("incident_response", {"alert": alert(1), "now": NOW})  # engine warm
    reused = await shared.arun("incident_response", {"alert": alert(2), "now": NOW})
    await shared.aclose()
    async with nexus(ws, server) as fresh:
        alone = await fresh.arun("incident_response", {"alert": alert(2), "now": NOW})
    assert reused.artifacts  # a run that produced something
    assert comparable(reused) == comparable(alone)


def test_sync_calls_open_and_close_their_own_engine(
    ws: Path, server: MockLLMServer, opened: list[Engine]
) -> None:
    nx = nexus(ws, server)
    first = nx.run("incident_response", {"alert": alert(1), "now": NOW})
    second = nx.run("incident_response", {"alert": alert(2), "now": NOW})
    assert first.status == second.status == "succeeded"
    assert len(opened) == 2  # asyncio.run makes a new loop per call
    assert all(engine._owns == [] for engine in opened)  # both closed with their loop


def test_a_run_left_open_is_closed_when_its_loop_ends(
    ws: Path, server: MockLLMServer, opened: list[Engine]
) -> None:
    nx = nexus(ws, server)
    asyncio.run(nx.arun("incident_response", {"alert": alert(1), "now": NOW}))  # no aclose
    assert len(opened) == 1
    assert opened[0]._owns == []


async def test_first_run_loads_the_tables_in_the_background(ws: Path, server: MockLLMServer) -> None:
    nx = nexus(ws, server)
    assert not nx.workspace.loaded
    result = await nx.arun("improvement_loop")
    assert result.status == "waiting_approval"
    # content and experiments are tables the loop itself never reads
    assert {"content", "experiments"} <= set(nx.workspace.present_tables())
    loads: list[list[str]] = []
    original = nx.workspace._load
    nx.workspace._load = lambda db, names: loads.append(names) or original(db, names)  # type: ignore[method-assign]
    nx.workspace.connect(nx.workspace.present_tables()).close()
    assert loads == []  # everything was in memory already
    await nx.aclose()


async def test_a_malformed_file_still_fails_the_step_that_reads_it(
    ws: Path, server: MockLLMServer
) -> None:
    users = ws / "data" / "users.csv"
    lines = users.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = lines[3].split(",")
    row[header.index("signup_at")] = "not-a-date"
    lines[3] = ",".join(row)
    users.write_text("\n".join(lines) + "\n", encoding="utf-8")
    nx = nexus(ws, server)
    result = await nx.arun("improvement_loop")
    await nx.aclose()
    assert result.status == "failed"
    assert "users.csv" in (result.error or "") and "line 4" in (result.error or "")


async def test_the_result_a_run_returns_equals_the_stored_one(
    ws: Path, server: MockLLMServer
) -> None:
    async with nexus(ws, server) as nx:
        waiting = await nx.arun("improvement_loop")
        finished = await nx.arun("incident_response", {"alert": alert(7), "now": NOW})
        for returned in (waiting, finished):
            stored = await nx.aresult(returned.run_id)
            assert returned.model_dump() == stored.model_dump()
    assert waiting.status == "waiting_approval" and waiting.pending is not None
    assert finished.status == "succeeded" and finished.artifacts


def test_a_new_run_is_prepared_once(
    ws: Path, server: MockLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The executor's ``prepare_run`` (its facts lookahead) runs once per run: ``Nexus``
    starts it while the engine opens, and the engine does not start it again."""
    from nexus_agents.runtime.executor import AgentExecutor

    prepared: list[str] = []
    original = AgentExecutor.prepare_run

    def spy(self: AgentExecutor, spec: Any, state: dict[str, Any]) -> None:
        prepared.append(spec.name)
        original(self, spec, state)

    monkeypatch.setattr(AgentExecutor, "prepare_run", spy)
    result = nexus(ws, server).run("preconditions", period="2026-11-26")
    assert result.status == "succeeded", result.error
    assert prepared == ["preconditions"]
