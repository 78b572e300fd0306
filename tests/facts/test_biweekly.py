"""Bi-weekly facts builders: insights, experiment results, published content."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from nexus_agents.artifacts.registry import get_artifact
from nexus_agents.data.rows import content_rows, experiment_rows, feedback_rows
from nexus_agents.facts import builder_for
from nexus_agents.periods import parse_period
from nexus_agents.tools.kpis import compute_kpi
from nexus_agents.tools.stats import AnalyzeExperimentInput, ExperimentRow, analyze_experiment
from nexus_agents.tools.themes import FeedbackItemIn, FeedbackThemesInput, feedback_themes

PERIOD = "2026-BW24"


def _build(kind, ctx):  # type: ignore[no-untyped-def]
    bundle = builder_for(kind)(ctx)
    return bundle, get_artifact(kind).facts_model().model_validate(bundle.facts)


def test_insights_compare_nps_and_themes_with_the_prior_period(demo, make_ctx) -> None:
    ws, _ = demo
    bundle, facts = _build("bi_weekly_insights_report", make_ctx(PERIOD))
    period = parse_period(PERIOD)
    prior = period.previous()
    assert facts.nps == compute_kpi(ws, "nps", period, min(ws.now(), period.end)).value
    assert facts.previous_nps == compute_kpi(ws, "nps", prior, prior.end).value
    assert facts.nps != facts.previous_nps

    def items(p):  # type: ignore[no-untyped-def]
        end = min(ws.now(), p.end)
        return [
            FeedbackItemIn(id=r.id, text=r.text, rating=r.rating)
            for r in feedback_rows(ws)
            if p.start <= r.created_at < end
        ]

    tool = feedback_themes(FeedbackThemesInput(items=items(period), previous_items=items(prior)))
    assert facts.feedback_count == tool.total
    assert [t.model_dump() for t in facts.themes] == [t.model_dump() for t in tool.themes]
    assert all(t.previous_count is not None for t in facts.themes)
    texts = {u.text for u in bundle.untrusted}
    assert texts and not any(t in json.dumps(bundle.facts) for t in texts)


def test_experiments_equal_the_stats_tool_and_keep_the_planted_outcomes(demo, make_ctx) -> None:
    ws, planted = demo
    bundle, facts = _build("experiment_results_summary", make_ctx(PERIOD))
    tool = analyze_experiment(
        AnalyzeExperimentInput(
            rows=[ExperimentRow.model_validate(r.model_dump()) for r in experiment_rows(ws)]
        )
    )
    by_id = {e.experiment_id: e for e in facts.experiments}
    assert set(by_id) == {planted.significant_experiment, planted.insignificant_experiment}
    for result in tool.experiments:
        [variant] = result.variants
        stat = by_id[result.experiment_id]
        assert stat.p_value == variant.p_value and stat.lift_pct == variant.lift_pct
        assert (stat.ci_low, stat.ci_high) == (variant.ci_low, variant.ci_high)
        assert stat.required_sample_per_arm == variant.required_sample_per_arm
        assert stat.control_n == result.control_exposures
    assert by_id[planted.significant_experiment].significant
    assert not by_id[planted.insignificant_experiment].significant
    hints = {e["experiment_id"]: e["recommendation"] for e in bundle.context["experiments"]}
    assert hints[planted.significant_experiment] == "go"
    artifact = get_artifact("experiment_results_summary")
    narrative = {
        "summary": "s",
        "decisions": [
            {"experiment_id": planted.insignificant_experiment, "decision": "go", "rationale": "r"}
        ],
        "next_experiments": [],
    }
    with pytest.raises(ValidationError, match="not significant"):
        artifact.compose(bundle.facts, narrative)


def test_experiments_not_started_by_the_period_end_are_left_out(make_ctx) -> None:
    _, facts = _build("experiment_results_summary", make_ctx("2026-BW10"))
    assert facts.experiments == []


def test_content_engagement_rate_per_platform(demo, make_ctx) -> None:
    ws, _ = demo
    _, facts = _build("published_content_report", make_ctx(PERIOD))
    period = parse_period(PERIOD)
    posts = [r for r in content_rows(ws) if period.start <= r.published_at < ws.now()]
    assert facts.total_posts == len(posts) == sum(p.posts for p in facts.platforms)
    for platform in facts.platforms:
        mine = [p for p in posts if p.platform == platform.platform]
        assert platform.impressions == sum(p.impressions for p in mine)
        rate = 100 * sum(p.engagements for p in mine) / sum(p.impressions for p in mine)
        assert platform.engagement_rate_pct == pytest.approx(rate, abs=1e-3)
    instagram = next(p for p in facts.platforms if p.platform == "instagram")
    assert (instagram.target_min, instagram.target_max) == (6, 10)  # 3-5 a week, two weeks


@pytest.mark.parametrize(
    "kind", ["bi_weekly_insights_report", "experiment_results_summary", "published_content_report"]
)
def test_missing_data_gives_empty_facts(kind, empty_ws, make_ctx) -> None:
    bundle, facts = _build(kind, make_ctx(PERIOD, workspace=empty_ws))
    data = facts.model_dump()
    for key in ("themes", "experiments", "platforms"):
        assert data.get(key, []) == []
    assert data.get("nps") is None and data.get("previous_nps") is None
    assert bundle.untrusted == []
