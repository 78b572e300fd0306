"""The fast weekly facts (retention in DuckDB, rows without re-validation) equal, number
for number, what the row-by-row path with validated records gives on the demo data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import TypeAdapter

from nexus_agents.data.workspace import Workspace
from nexus_agents.facts import FactsContext, builder_for, weekly
from nexus_agents.tools.retention import RetentionOutput

WEEKS = ["2026-W36", "2026-W44", "2026-W46", "2026-W47", "2026-W48"]
KINDS = ["weekly_analytics_report", "growth_metrics_report"]


def _validated_records(
    ctx: FactsContext,
    table: str,
    model: type[Any],
    where: str | None = None,
    params: list[Any] | None = None,
) -> list[Any]:
    """The original reading: every row through pydantic validation."""
    from nexus_agents.data.loader import q

    names = list(model.model_fields)
    sql = f"SELECT {', '.join(q(n) for n in names)} FROM {q(table)}"
    if where:
        sql += f" WHERE {where}"
    conn = ctx.workspace.connect([table])
    try:
        found = conn.execute(sql, params or []).fetchall()
    finally:
        conn.close()
    rows = [dict(zip(names, rec, strict=True)) for rec in found]
    return TypeAdapter(list[model]).validate_python(rows)  # type: ignore[valid-type]


def _row_by_row(ctx: FactsContext, week: Any, weeks: int) -> RetentionOutput:
    first = week.start - weekly.timedelta(weeks=weeks - 1)
    return weekly.cohort_retention_reference(ctx, first, weekly.window_end(week, ctx.as_of))


def _facts(
    make_ctx: Callable[..., FactsContext], ws: Workspace, kind: str, week: str, **kw: Any
) -> dict[str, Any]:
    bundle = builder_for(kind)(make_ctx(week, workspace=Workspace(ws.path), **kw))
    return {"facts": bundle.facts, "context": bundle.context}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("week", WEEKS)
def test_fast_facts_equal_the_row_by_row_facts(
    make_ctx: Callable[..., FactsContext],
    demo_ws: Workspace,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    week: str,
) -> None:
    fast = _facts(make_ctx, demo_ws, kind, week)
    with monkeypatch.context() as patch:
        patch.setattr(weekly, "_records", _validated_records)
        patch.setattr(weekly, "_cohort_retention", _row_by_row)
        slow = _facts(make_ctx, demo_ws, kind, week)
    assert fast == slow


@pytest.mark.parametrize("cohort_weeks", [1, 4, 20])
def test_cohort_window_option_keeps_the_answer(
    make_ctx: Callable[..., FactsContext],
    demo_ws: Workspace,
    monkeypatch: pytest.MonkeyPatch,
    cohort_weeks: int,
) -> None:
    options = {"cohort_weeks": cohort_weeks}
    fast = _facts(make_ctx, demo_ws, KINDS[0], "2026-W47", options=options)
    assert 0 < len(fast["facts"]["cohorts"]) <= cohort_weeks
    with monkeypatch.context() as patch:
        patch.setattr(weekly, "_cohort_retention", _row_by_row)
        slow = _facts(make_ctx, demo_ws, KINDS[0], "2026-W47", options=options)
    assert fast == slow


def test_cohort_retention_takes_the_sql_path_on_the_demo(
    make_ctx: Callable[..., FactsContext], demo_ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: Any) -> Any:
        raise AssertionError("the row-by-row path ran")

    monkeypatch.setattr(weekly, "cohort_retention_reference", refuse)
    bundle = builder_for(KINDS[0])(make_ctx("2026-W47", workspace=Workspace(demo_ws.path)))
    assert bundle.facts["cohorts"]


def test_repeated_user_ids_fall_back_to_the_tool(
    make_ws: Callable[..., Any], make_ctx: Callable[..., FactsContext]
) -> None:
    users = "user_id,signup_at,activated_at,channel\n" + "".join(
        f"u{i},2026-11-{2 + i % 5:02d}T09:00:00,,ads\n" for i in range(12)
    )
    users += "u0,2026-11-09T10:00:00,,ads\n"  # u0 again, a week later
    activity = "user_id,active_on\nu0,2026-11-09\nu1,2026-11-10\nu0,2026-11-16\n"
    ws = Workspace(make_ws({"users.csv": users, "activity.csv": activity}))
    bundle = builder_for(KINDS[0])(make_ctx("2026-W47", workspace=ws))
    cohorts = {c["cohort"]: c for c in bundle.facts["cohorts"]}
    # the first u0 row (week 45) counts; its second row is ignored like any repeat
    assert cohorts["2026-W45"]["users"] == 12
    assert cohorts["2026-W45"]["eligible"] == 12
    assert "2026-W46" not in cohorts
