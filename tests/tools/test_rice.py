"""RICE scoring, ranking and sprint selection."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from nexus_agents.tools.base import get_tool
from nexus_agents.tools.rice import (
    PlanSprintInput,
    RankBacklogInput,
    plan_sprint,
    rank_backlog,
    rice_score,
)


def item(
    id: str, reach: float, impact: float, conf: float, effort: float, status: str | None = "open"
):
    return {
        "id": id,
        "title": f"item {id}",
        "reach": reach,
        "impact": impact,
        "confidence": conf,
        "effort": effort,
        "status": status,
    }


def test_score_accepts_fraction_and_percent_confidence() -> None:
    # 1000 x 2 x 0.8 / 4 = 400
    assert rice_score(1000, 2, 0.8, 4) == pytest.approx(400)
    assert rice_score(1000, 2, 80, 4) == pytest.approx(400)
    # 1 means 100% (fraction), not 1%: 10 x 1 x 1 / 2 = 5
    assert rice_score(10, 1, 1, 2) == pytest.approx(5)


def test_zero_effort_is_rejected_naming_the_item() -> None:
    with pytest.raises(ValidationError) as err:
        RankBacklogInput.model_validate(
            {"items": [item("A", 10, 1, 1, 2), item("B-7", 10, 1, 1, 0)]}
        )
    text = str(err.value)
    assert "items.1" in text and "'B-7'" in text and "effort must be greater than 0" in text
    with pytest.raises(ValueError, match="effort"):
        rice_score(1, 1, 1, 0)


def test_confidence_above_100_rejected() -> None:
    with pytest.raises(ValidationError, match="confidence"):
        RankBacklogInput.model_validate({"items": [item("A", 10, 1, 150, 2)]})


def test_duplicate_ids_rejected() -> None:
    with pytest.raises(ValidationError, match="appears twice"):
        PlanSprintInput.model_validate(
            {"items": [item("A", 1, 1, 1, 1), item("A", 2, 1, 1, 1)], "velocity": 10}
        )


def test_rank_highest_first_ties_by_id() -> None:
    out = rank_backlog(
        RankBacklogInput.model_validate(
            {
                "items": [
                    item("C", 100, 1, 0.5, 1),  # 50
                    item("B", 100, 2, 1.0, 4),  # 50 (tie with C -> B first)
                    item("A", 300, 1, 1.0, 2),  # 150
                    item("D", 10, 1, 1.0, 10),  # 1
                ]
            }
        )
    )
    assert [r.item_id for r in out.ranked] == ["A", "B", "C", "D"]
    assert [r.score for r in out.ranked] == pytest.approx([150, 50, 50, 1])


def test_empty_backlog_plans_nothing() -> None:
    out = plan_sprint(PlanSprintInput(items=[], velocity=20))
    assert out.capacity == pytest.approx(16)
    assert out.selected == [] and out.carried_over == [] and out.used_points == 0
    assert out.remaining_points == pytest.approx(16)


def test_plan_sprint_skips_what_does_not_fit_and_continues() -> None:
    # velocity 10 -> capacity 8.
    # RICE: A 900/5=180 (5 pts), B 800/4=200 (4 pts), C 100/2=50 (2 pts), D 60/1=60 (1 pt),
    #       E done (excluded), F in progress (excluded).
    # Order B(200) A(180) D(60) C(50): take B (4, used 4), A needs 5 > 4 left: skip,
    # D (1, used 5), C (2, used 7). Remaining 1. A is carried over.
    items = [
        item("A", 900, 1, 1, 5),
        item("B", 800, 1, 1, 4),
        item("C", 100, 1, 1, 2),
        item("D", 60, 1, 1, 1),
        item("E", 10_000, 3, 1, 1, status="Done"),
        item("F", 10_000, 3, 1, 1, status="in progress"),
    ]
    out = plan_sprint(PlanSprintInput.model_validate({"items": items, "velocity": 10}))
    assert out.capacity == pytest.approx(8)
    assert [s.item_id for s in out.selected] == ["B", "D", "C"]
    assert out.used_points == pytest.approx(7)
    assert out.remaining_points == pytest.approx(1)
    assert [(c.item_id, c.score) for c in out.carried_over] == [("A", pytest.approx(180))]
    assert {e.item_id for e in out.excluded} == {"E", "F"}


def test_plan_sprint_through_the_registry_with_custom_exclusions() -> None:
    result = get_tool("plan_sprint").call(
        {
            "items": [item("A", 10, 1, 1, 1, status="blocked"), item("B", 5, 1, 1, 1, status=None)],
            "velocity": 5,
            "excluded_statuses": ["Blocked"],
        }
    )
    assert [s.item_id for s in result.selected] == ["B"]  # type: ignore[attr-defined]


items_strategy = st.lists(
    st.builds(
        lambda i, r, im, c, e: item(f"I{i}", r, im, c, e),
        st.integers(0, 10_000),
        st.floats(0, 5000),
        st.sampled_from([0.25, 0.5, 1, 2, 3]),
        st.floats(0, 100),
        st.floats(0.5, 21),
    ),
    max_size=25,
    unique_by=lambda d: d["id"],
)


@settings(max_examples=150, deadline=None)
@given(items=items_strategy, velocity=st.floats(1, 80))
def test_sprint_never_exceeds_capacity_and_is_greedy_maximal(items, velocity) -> None:  # type: ignore[no-untyped-def]
    out = plan_sprint(PlanSprintInput.model_validate({"items": items, "velocity": velocity}))
    assert out.used_points <= out.capacity + 1e-6
    assert out.used_points == pytest.approx(sum(s.effort for s in out.selected))
    # greedy maximality: no carried-over item fits into what is left
    assert all(c.effort > out.remaining_points + 1e-9 for c in out.carried_over)
    assert len(out.selected) + len(out.carried_over) == len(items)


@settings(max_examples=100, deadline=None)
@given(items=items_strategy)
def test_ranking_is_sorted(items) -> None:  # type: ignore[no-untyped-def]
    ranked = rank_backlog(RankBacklogInput.model_validate({"items": items})).ranked
    keys = [(-r.score, r.item_id) for r in ranked]
    assert keys == sorted(keys)
