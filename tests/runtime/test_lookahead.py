"""While a run's first agent step waits for its model, the facts of later steps are built
in the background, so their data work is done when they run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import nexus_agents.tools.kpis as kpis
from nexus_agents.agents.roster import load_roster
from nexus_agents.data.context import use_workspace
from nexus_agents.data.demo import generate_demo
from nexus_agents.data.workspace import Workspace
from nexus_agents.facts import FactsContext, builder_for
from nexus_agents.graphs.spec import AgentStep
from nexus_agents.periods import parse_period
from nexus_agents.runtime.lookahead import FactsLookahead

QUARTER = parse_period("2026-Q3")
REVIEW = AgentStep(id="strategic_review", agent="studio_producer", output="quarterly_strategic_review")
BROKEN = AgentStep(id="broken", agent="no_such_agent")


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    generate_demo(tmp_path / "ws", seed=7)
    return Workspace(tmp_path / "ws")


@pytest.fixture
def suite_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Labels of the periods the full KPI suite was computed for."""
    calls: list[str] = []
    original = kpis.compute_kpis

    def spy(workspace: Any, period: Any, as_of: Any = None) -> Any:
        calls.append(period.label)
        return original(workspace, period, as_of)

    monkeypatch.setattr(kpis, "compute_kpis", spy)
    monkeypatch.setattr("nexus_agents.facts.daily.compute_kpis", spy)
    return calls


async def test_later_steps_find_their_data_work_done(ws: Workspace, suite_calls: list[str]) -> None:
    lookahead = FactsLookahead(ws, load_roster())
    as_of = min(ws.now(), QUARTER.end)
    job = lookahead.start("strategic_review", (BROKEN, REVIEW), {}, QUARTER, as_of)
    assert job is not None
    await job  # a step that cannot be built (unknown agent) does not stop the others
    assert sorted(suite_calls) == ["2026-Q2", "2026-Q3"]
    with use_workspace(ws), ws.pinned():
        bundle = builder_for("quarterly_strategic_review")(
            FactsContext(workspace=ws, period=QUARTER, as_of=as_of, step_id="strategic_review")
        )
    assert bundle.facts["quarter"] == "2026-Q3"
    assert sorted(suite_calls) == ["2026-Q2", "2026-Q3"]  # the step itself recomputed nothing


async def test_it_runs_once_per_run_and_data_version(ws: Workspace, suite_calls: list[str]) -> None:
    lookahead = FactsLookahead(ws, load_roster())
    as_of = min(ws.now(), QUARTER.end)
    graph, steps = "strategic_review", (REVIEW,)
    first = lookahead.start(graph, steps, {}, QUARTER, as_of)
    assert first is not None
    await first
    assert lookahead.start(graph, steps, {}, QUARTER, as_of) is None  # same run again
    assert lookahead.start(graph, steps, {"inputs": {"x": 1}}, QUARTER, as_of) is None  # memo warm
    assert lookahead.start(graph, (), {}, QUARTER, as_of) is None  # no agent steps
    deployments = ws.data_dir / "deployments.csv"
    deployments.write_text(deployments.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    again = lookahead.start(graph, steps, {}, QUARTER, as_of)
    assert again is not None  # the data changed: the memo is cold again
    await again
    assert sorted(suite_calls) == ["2026-Q2", "2026-Q2", "2026-Q3", "2026-Q3"]


async def test_a_run_starts_the_lookahead_for_all_its_agent_steps_before_the_engine_opens(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nexus_agents.api import Nexus
    from nexus_agents.testing import MockLLMServer
    from nexus_agents.testing.playbook_author import PlaybookAuthor

    started: list[tuple[str, list[str]]] = []
    original = FactsLookahead.start

    def spy(self: FactsLookahead, graph: str, steps: Any, *args: Any) -> Any:
        job = original(self, graph, steps, *args)
        if job is not None:
            started.append((graph, [s.id for s in steps]))
        return job

    monkeypatch.setattr(FactsLookahead, "start", spy)
    from nexus_agents.runs.engine import Engine

    opened = Engine.open.__func__  # type: ignore[attr-defined]

    async def open_spy(cls: Any, **kwargs: Any) -> Any:
        started.append(("engine opened", []))
        return await opened(cls, **kwargs)

    monkeypatch.setattr(Engine, "open", classmethod(open_spy))
    with MockLLMServer(responder=PlaybookAuthor()) as server:
        env = {"NEXUS_LLM_BASE_URL": server.base_url, "NEXUS_LLM_API_KEY": "sk-test"}
        async with Nexus.from_workspace(ws.path, env=env) as nx:
            result = await nx.arun("strategic_review", period="2026-Q3")
    assert result.status == "succeeded"
    # the facts start before the engine opens, once for the run
    assert started == [
        (
            "strategic_review",
            ["market", "brand", "customers", "tech_debt", "process", "strategic_review"],
        ),
        ("engine opened", []),
    ]
