"""The one-trip SQLite checkpointer stores exactly what LangGraph's own saver stores, and
a graph run on it reads back and resumes like one on LangGraph's saver."""

from __future__ import annotations

import operator
import sqlite3
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from nexus_agents.runs.sqlite_saver import WRITES_PER_STATEMENT, OneTripSqliteSaver
from nexus_agents.runs.store import connect_sqlite


def _rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as conn:
        return {
            "checkpoints": conn.execute("SELECT * FROM checkpoints ORDER BY 1, 2, 3").fetchall(),
            "writes": conn.execute("SELECT * FROM writes ORDER BY 1, 2, 3, 4, 6").fetchall(),
        }


FIRST = empty_checkpoint()
FIRST["channel_values"] = {"artifacts": {"a": {"text": "<untrusted> ünïcode"}}, "n": 1}
SECOND = empty_checkpoint()
SECOND["channel_values"] = {"n": 2}


async def _exercise(saver: AsyncSqliteSaver) -> None:
    await saver.setup()
    config: dict[str, Any] = {"configurable": {"thread_id": "t1", "checkpoint_ns": ""}}
    first, second = dict(FIRST), dict(SECOND)
    saved = await saver.aput(config, first, {"source": "input", "step": -1}, {})  # type: ignore[arg-type]
    saved = await saver.aput(saved, second, {"source": "loop", "step": 0}, {"n": 2})  # type: ignore[arg-type]
    # ordinary writes keep the first of a task's repeated writes; special ones replace
    await saver.aput_writes(saved, [("n", 3), ("events", [{"e": 1}])], "task-1", "path~1")
    await saver.aput_writes(saved, [("n", 4), ("events", [{"e": 2}])], "task-1", "path~1")
    await saver.aput_writes(saved, [("__error__", "first")], "task-2")
    await saver.aput_writes(saved, [("__error__", "second")], "task-2")
    await saver.aput_writes(saved, [], "task-3")
    many = [(f"c{i}", i) for i in range(WRITES_PER_STATEMENT * 2 + 7)]
    await saver.aput_writes(saved, many, "task-4")


async def test_the_same_rows_as_langgraphs_saver(tmp_path: Path) -> None:
    stored = {}
    for name, cls in (("stock", AsyncSqliteSaver), ("one_trip", OneTripSqliteSaver)):
        path = tmp_path / f"{name}.sqlite"
        conn = await connect_sqlite(path)
        try:
            await _exercise(cls(conn))
        finally:
            await conn.close()
        stored[name] = _rows(path)
    assert stored["one_trip"] == stored["stock"]
    assert len(stored["stock"]["checkpoints"]) == 2
    # task-1 keeps its first two writes, task-2 its replaced error, task-4 all of them
    assert len(stored["stock"]["writes"]) == 2 + 1 + WRITES_PER_STATEMENT * 2 + 7


def _merge(left: list[int], right: list[int]) -> list[int]:
    return left + right


class State(TypedDict):
    seen: Annotated[list[str], _merge]
    count: Annotated[int, operator.add]


async def test_a_graph_on_it_reads_back_its_state_and_history(tmp_path: Path) -> None:
    from langgraph.graph import END, START, StateGraph

    graph = StateGraph(State)
    for name in ("a", "b", "c"):
        graph.add_node(name, lambda s, name=name: {"seen": [name], "count": 1})
    graph.add_edge(START, "a")
    graph.add_edge("a", "b")
    graph.add_edge("b", "c")
    graph.add_edge("c", END)
    conn = await connect_sqlite(tmp_path / "graph.sqlite")
    try:
        compiled = graph.compile(checkpointer=OneTripSqliteSaver(conn))
        config = {"configurable": {"thread_id": "run-1"}}
        out = await compiled.ainvoke({"seen": [], "count": 0}, config, durability="sync")
        assert out == {"seen": ["a", "b", "c"], "count": 3}
        snapshot = await compiled.aget_state(config)
        assert snapshot.values == out and snapshot.next == ()
        history = [s async for s in compiled.aget_state_history(config)]
        assert len(history) == 5  # input, start, a, b, c
    finally:
        await conn.close()
