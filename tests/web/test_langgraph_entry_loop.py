"""``langgraph dev`` calls a graph factory of ``langgraph.json`` on its event loop and
refuses (HTTP 500) any blocking call made there; the entry's factories must do their file
reading elsewhere. ``blockbuster`` is the detector langgraph-api itself uses."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from nexus_agents import langgraph_entry

blockbuster = pytest.importorskip("blockbuster", reason="blockbuster (the test extra) is not installed")


async def _as_langgraph_api_does(value: Any) -> Any:
    """langgraph-api awaits a coroutine a factory returns and uses any other value as is."""
    return await value if inspect.isawaitable(value) else value


@pytest.mark.parametrize("name", ["incident_response", "improvement_loop"])
async def test_a_graph_is_built_and_drawn_without_blocking_the_event_loop(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nexus_agents.data.init import init_workspace

    init_workspace(tmp_path / "ws")
    monkeypatch.setenv("NEXUS_WORKSPACE", str(tmp_path / "ws"))
    factory = getattr(langgraph_entry, name)
    with blockbuster.blockbuster_ctx():
        graph = await _as_langgraph_api_does(factory())
        drawn = graph.get_graph().draw_mermaid()
    assert "__start__" in drawn
    assert {"__start__"} < set(graph.get_graph().nodes)


async def test_the_check_catches_a_factory_that_reads_files_on_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nexus_agents.data.init import init_workspace

    init_workspace(tmp_path / "ws")
    monkeypatch.setenv("NEXUS_WORKSPACE", str(tmp_path / "ws"))
    with blockbuster.blockbuster_ctx(), pytest.raises(blockbuster.BlockingError):
        langgraph_entry.build("incident_response")  # the blocking way, called on the loop


def test_outside_an_event_loop_a_factory_returns_the_compiled_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nexus_agents.data.init import init_workspace

    init_workspace(tmp_path / "ws")
    monkeypatch.setenv("NEXUS_WORKSPACE", str(tmp_path / "ws"))
    graph = langgraph_entry.incident_response()
    assert "detect" in graph.get_graph().nodes
