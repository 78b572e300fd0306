"""Weekly facts builders and the feedback_themes tool."""

from __future__ import annotations

import json

import pytest

from nexus_agents.artifacts.registry import get_artifact
from nexus_agents.data.rows import backlog_rows, deployment_rows, feedback_rows, nps_rows
from nexus_agents.facts import builder_for
from nexus_agents.periods import PeriodKind, parse_period, period_containing
from nexus_agents.tools.base import get_tool
from nexus_agents.tools.kpis import compute_kpi, compute_kpis
from nexus_agents.tools.rice import BacklogItem, PlanSprintInput, plan_sprint
from nexus_agents.tools.stats import Arm, TwoProportionInput, two_proportion_test
from nexus_agents.tools.themes import (
    FeedbackItemIn,
    FeedbackThemesInput,
    feedback_themes,
    rating_sentiment,
    tag_themes,
)

WEEK = "2026-W47"


def _build(kind, ctx):  # type: ignore[no-untyped-def]
    bundle = builder_for(kind)(ctx)
    return bundle, get_artifact(kind).facts_model().model_validate(bundle.facts)


# --- feedback_themes tool --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "themes"),
    [
        ("Charts load very slowly", ["performance"]),
        ("Please add CSV export", ["export"]),
        ("Single sign-on would help our IT team", ["sso / access"]),
        ("Not sure what I'm billed for", ["billing"]),
        ("Love the alerts", ["praise"]),
        ("The API docs are fine, build more", ["integrations"]),
        ("Nothing to add", ["other"]),
    ],
)
def test_tag_themes_by_keyword(text: str, themes: list[str]) -> None:
    assert tag_themes(text) == themes


def test_rating_sentiment_maps_one_to_five_onto_minus_one_to_one() -> None:
    assert [rating_sentiment(r) for r in (1, 2, 3, 4, 5)] == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert rating_sentiment(9) == 1.0
    with pytest.raises(ValueError, match="empty"):
        rating_sentiment(3, 5, 5)


def test_feedback_themes_counts_sentiment_and_previous() -> None:
    result = feedback_themes(
        FeedbackThemesInput(
            items=[
                FeedbackItemIn(id="a", text="slow dashboard and no CSV export", rating=1),
                FeedbackItemIn(id="b", text="dashboard is slow", rating=3),
                FeedbackItemIn(id="c", text="love it"),
            ],
            previous_items=[FeedbackItemIn(id="z", text="invoice wrong")],
        )
    )
    by_theme = {t.theme: t for t in result.themes}
    assert [t.theme for t in result.themes][:2] == ["performance", "export"]
    assert by_theme["performance"].count == 2 and by_theme["performance"].sentiment == -0.5
    assert by_theme["export"].sentiment == -1.0 and by_theme["praise"].sentiment is None
    assert by_theme["billing"].count == 0 and by_theme["billing"].previous_count == 1
    assert result.rated == 2 and result.mean_sentiment == -0.5
    assert get_tool("feedback_themes").output_model is type(result)


# --- builders ---------------------------------------------------------------------------


def test_analytics_report_kpis_changes_and_retention_dip(demo, make_ctx) -> None:
    ws, planted = demo
    _bundle, facts = _build("weekly_analytics_report", make_ctx(WEEK))
    week = parse_period(WEEK)
    now = compute_kpis(ws, week, min(ws.now(), week.end))
    before = compute_kpis(ws, week.previous(), week.start)
    assert facts.week == WEEK
    assert [k.value for k in facts.kpis] == [r.value for r in now.results]
    assert [k.previous for k in facts.kpis] == [r.value for r in before.results]
    assert facts.changes, "rate KPIs with data in both weeks are tested"
    for change in facts.changes:
        cur = next(r for r in now.results if r.name == change.metric)
        old = next(r for r in before.results if r.name == change.metric)
        test = two_proportion_test(
            TwoProportionInput(
                control=Arm(exposures=int(old.denominator), conversions=int(old.numerator)),
                variant=Arm(exposures=int(cur.denominator), conversions=int(cur.numerator)),
            )
        )
        assert (change.baseline, change.current) == (old.value, cur.value)
        assert change.p_value == test.p_value and change.significant == test.significant
        assert change.ci_low == pytest.approx(100 * test.ci_low)
    dips = [c.cohort for c in facts.cohorts if c.dip]
    assert dips == [planted.retention_dip_week]
    assert facts.retention_offset_days == 7
    activated = next(s for s in facts.funnel if s.stage == "activated")
    activation = next(r for r in now.results if r.key == "activation_rate")
    assert activated.users == activation.numerator
    assert activated.conversion_pct == pytest.approx(activation.value)


def test_feedback_summary_equals_tool_output_and_fences_texts(demo, make_ctx) -> None:
    ws, _ = demo
    bundle, facts = _build("weekly_feedback_summary", make_ctx(WEEK))
    week = parse_period(WEEK)
    rows = [r for r in feedback_rows(ws) if week.start <= r.created_at < week.end]
    prior = week.previous()
    before = [r for r in feedback_rows(ws) if prior.start <= r.created_at < prior.end]
    tool = feedback_themes(
        FeedbackThemesInput(
            items=[FeedbackItemIn(id=r.id, text=r.text, rating=r.rating) for r in rows],
            previous_items=[FeedbackItemIn(id=r.id, text=r.text, rating=r.rating) for r in before],
        )
    )
    assert facts.feedback_count == len(rows) > 0
    assert [t.model_dump() for t in facts.themes] == [t.model_dump() for t in tool.themes]
    assert facts.mean_sentiment == tool.mean_sentiment
    nps = compute_kpi(ws, "nps", week, week.end)
    assert facts.nps == nps.value
    responses = [r for r in nps_rows(ws) if week.start <= r.responded_at < week.end]
    assert facts.promoters + facts.passives + facts.detractors == len(responses) == nps.sample_size
    assert facts.promoters - facts.detractors == nps.numerator
    ids = {u.id for u in bundle.untrusted}
    assert {r.id for r in rows} <= ids
    trusted = json.dumps({"f": bundle.facts, "c": bundle.context})
    assert not any(r.text in trusted for r in rows)


def test_sprint_plan_matches_the_rice_tool(demo, make_ctx) -> None:
    ws, planted = demo
    bundle, facts = _build("sprint_plan", make_ctx("2026-W48"))
    plan = plan_sprint(
        PlanSprintInput(
            items=[BacklogItem.model_validate(r.model_dump()) for r in backlog_rows(ws)],
            velocity=ws.config.product.velocity,
        )
    )
    assert facts.velocity == ws.config.product.velocity
    assert facts.capacity == pytest.approx(facts.velocity * 0.8) == plan.capacity
    assert facts.selected_item_ids == [s.item_id for s in plan.selected] != []
    assert facts.planned_points == plan.used_points <= facts.capacity
    assert facts.carried_over_ids == [s.item_id for s in plan.carried_over]
    assert [c.item_id for c in facts.candidates][: len(plan.selected)] != []
    assert {c.item_id for c in facts.candidates} == {
        s.item_id for s in [*plan.selected, *plan.carried_over]
    }
    scores = [c.score for c in facts.candidates]
    assert scores == sorted(scores, reverse=True)
    assert len(facts.candidates) <= planted.backlog_size
    assert (facts.sprint_number, facts.start, facts.end) == (48, "2026-11-23", "2026-11-29")
    artifact = get_artifact("sprint_plan").compose(
        bundle.facts,
        {
            "sprint_goal": "g",
            "rationale": "r",
            "deferred_notes": [],
            "risks": [],
        },
    )
    assert artifact.planned_points == plan.used_points  # type: ignore[attr-defined]


def test_sprint_plan_velocity_option(make_ctx) -> None:
    _, facts = _build("sprint_plan", make_ctx("2026-W48", options={"velocity": 10}))
    assert facts.capacity == 8.0


def test_growth_report_matches_kpis_and_funnel(demo, make_ctx) -> None:
    ws, _ = demo
    _, facts = _build("growth_metrics_report", make_ctx(WEEK))
    week = parse_period(WEEK)
    kpis = compute_kpis(ws, week, week.end).by_key()
    assert facts.d7_retention_pct == kpis["retention_d7"].value
    assert facts.d30_retention_pct == kpis["retention_d30"].value
    assert facts.ltv_cac_ratio == kpis["ltv_cac"].value and facts.ltv == kpis["ltv_cac"].numerator
    assert facts.new_users == kpis["activation_rate"].denominator
    assert sum(c.new_users for c in facts.channels) == facts.new_users
    ads = next(c for c in facts.channels if c.channel == "ads")
    assert ads.spend > 0
    before = compute_kpi(ws, "activation_rate", week.previous(), week.start)
    assert facts.wow_growth_pct == pytest.approx(
        100 * (facts.new_users - before.denominator) / before.denominator, abs=1e-3
    )


def test_status_update_counts_backlog_deploys_and_incidents(demo, make_ctx) -> None:
    ws, planted = demo
    week = period_containing(PeriodKind.WEEK, planted.end)
    _, facts = _build("weekly_status_update", make_ctx(week))
    deploys = [d for d in deployment_rows(ws) if week.start <= d.deployed_at < ws.now()]
    assert facts.deployments == len(deploys) > 0
    assert facts.failed_deployments == sum(1 for d in deploys if d.status != "success")
    planned = sum(1 for r in backlog_rows(ws) if r.status == "planned")
    assert facts.tasks_planned == planned and facts.tasks_done == 0
    assert facts.open_incidents == 1  # the P2 left open at the end of the demo


@pytest.mark.parametrize(
    "kind",
    [
        "weekly_analytics_report",
        "weekly_feedback_summary",
        "sprint_plan",
        "growth_metrics_report",
        "weekly_status_update",
    ],
)
def test_missing_data_gives_empty_facts(kind, empty_ws, make_ctx) -> None:
    bundle, facts = _build(kind, make_ctx("2026-W47", workspace=empty_ws))
    data = facts.model_dump()
    assert bundle.untrusted == []
    for key in ("themes", "candidates", "funnel", "channels", "cohorts", "changes"):
        assert data.get(key, []) == []
    for key in ("nps", "ltv_cac_ratio", "d7_retention_pct", "wow_growth_pct"):
        assert data.get(key) is None
