"""The state's reducers, applied by hand (a node's update plus the decision fused into it,
and what a nested graph hands back), agree with the reducers declared on GraphState."""

from __future__ import annotations

from nexus_agents.graphs.state import (
    REDUCERS,
    GraphState,
    apply_update,
    changes,
    initial_state,
    nested_start,
)


def test_every_state_key_has_its_declared_reducer() -> None:
    assert set(REDUCERS) == set(GraphState.__annotations__)


def test_apply_update_merges_appends_sums_and_replaces() -> None:
    state = dict(initial_state({"period": "2026-11"}, "2026-11"))
    state.update(values={"a": 1}, events=[{"event": "x"}], usage={"calls": 1, "cost_usd": 0.5})
    update = {
        "values": {"b": 2},
        "events": [{"event": "y"}],
        "usage": {"calls": 2, "cost_usd": 0.25},
        "status": "done",
    }
    out = apply_update(state, update)
    assert out["values"] == {"a": 1, "b": 2}
    assert out["events"] == [{"event": "x"}, {"event": "y"}]
    assert out["usage"] == {"calls": 3, "cost_usd": 0.75}
    assert out["status"] == "done"
    assert state["values"] == {"a": 1} and state["events"] == [{"event": "x"}]  # not mutated


def test_apply_update_sets_a_key_the_state_lacks() -> None:
    assert apply_update({"values": {"a": 1}}, {"history": {"loop": [{"attempt": 1}]}}) == {
        "values": {"a": 1},
        "history": {"loop": [{"attempt": 1}]},
    }


def test_changes_is_what_apply_update_needs_to_get_there() -> None:
    before = dict(initial_state({"x": 1}, "2026-11"))
    before.update(values={"keep": 1, "move": 1}, events=[{"event": "old"}], usage={"calls": 1})
    after = apply_update(
        before,
        {
            "values": {"move": 2, "new": 3},
            "events": [{"event": "new"}],
            "usage": {"calls": 2, "cost_usd": 0.0},
            "status": "finished",
        },
    )
    delta = changes(before, after)
    assert delta == {
        "values": {"move": 2, "new": 3},
        "events": [{"event": "new"}],
        "usage": {"calls": 2, "cost_usd": 0.0},
    }
    rebuilt = apply_update(before, delta)
    assert {k: rebuilt[k] for k in ("values", "events", "usage")} == {
        k: after[k] for k in ("values", "events", "usage")
    }


def test_a_nested_graph_starts_from_the_values_with_nothing_accumulated() -> None:
    parent = dict(initial_state({"x": 1}, "2026-11"))
    parent.update(values={"a": 1}, events=[{"event": "old"}], usage={"calls": 4}, errors=["e"])
    start = nested_start(parent)
    assert start["values"] == {"a": 1} and start["inputs"] == {"x": 1}
    assert start["period"] == "2026-11"
    assert start["events"] == [] and start["errors"] == [] and start["usage"] == {}
    start["values"]["b"] = 2
    assert parent["values"] == {"a": 1}  # a copy: the branch cannot write into its parent
