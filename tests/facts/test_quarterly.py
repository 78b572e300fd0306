"""Quarterly facts builders against the demo workspace and the KPI tool."""

from __future__ import annotations

from pathlib import Path

import pytest
from facts_helpers import build, copy_without

from nexus_agents.data.workspace import Workspace
from nexus_agents.exceptions import DataError
from nexus_agents.periods import parse_period
from nexus_agents.tools.kpis import compute_kpi

QUARTER = "2026-Q4"


def test_strategic_review_lists_run_inputs_and_missing_reviews(demo_ws: Workspace) -> None:
    state = {
        "artifacts": {
            "trend": {"kind": "monthly_market_brief", "meta": {"period": "2026-10"}},
            "tech": {"kind": "tech_debt_assessment", "meta": {"period": QUARTER}},
        }
    }
    bundle, facts = build(demo_ws, "quarterly_strategic_review", QUARTER, state=state)
    assert facts.inputs == ["monthly_market_brief: 2026-10", f"tech_debt_assessment: {QUARTER}"]  # type: ignore[attr-defined]
    missing = " ".join(bundle.context["missing_review_inputs"])
    assert "brand_health_report" in missing and "monthly_market_brief" not in missing
    quarter = parse_period(QUARTER)
    roi = compute_kpi(demo_ws, "portfolio_roi", quarter, min(quarter.end, demo_ws.now()))
    assert facts.portfolio_roi_pct == roi.value  # type: ignore[attr-defined]
    assert all(k.previous is not None for k in facts.kpis if k.name == "System uptime")  # type: ignore[attr-defined]


def test_optimization_report_lead_times_come_from_the_kpi(demo_ws: Workspace) -> None:
    _, facts = build(demo_ws, "optimization_report", QUARTER)
    kpi = compute_kpi(demo_ws, "process_improvement", parse_period(QUARTER), demo_ws.now())
    assert facts.process_improvement_pct == kpi.value  # type: ignore[attr-defined]
    assert facts.previous_lead_time_days == pytest.approx(kpi.denominator / 24)  # type: ignore[attr-defined]
    # the demo lowers the lead time this quarter
    assert facts.lead_time_days < facts.previous_lead_time_days  # type: ignore[attr-defined]
    assert facts.cycle_time_days is None  # type: ignore[attr-defined]


def test_performance_report_without_latency_file(demo_ws: Workspace) -> None:
    bundle, facts = build(demo_ws, "quarterly_performance_report", QUARTER)
    assert facts.benchmarks == [] and facts.regressions == 0  # type: ignore[attr-defined]
    uptime = compute_kpi(demo_ws, "uptime", parse_period(QUARTER), demo_ws.now())
    per_service = bundle.context["uptime"][QUARTER]["by_group"]
    assert per_service == {g.group: g.value for g in uptime.breakdown}


def test_performance_report_flags_a_latency_regression(demo_ws: Workspace, tmp_path: Path) -> None:
    ws = copy_without(demo_ws, tmp_path / "ws")
    (ws.data_dir / "latency.csv").write_text(
        "measured_on,endpoint,p95_ms\n"
        "2026-08-01,/api/report,200\n2026-10-01,/api/report,260\n"
        "2026-08-01,/api/login,100\n2026-10-01,/api/login,105\n"
        "2026-12-20,/api/login,900\n"  # after as-of: not counted
    )
    _, facts = build(ws, "quarterly_performance_report", QUARTER)
    marks = {b.endpoint: b for b in facts.benchmarks}  # type: ignore[attr-defined]
    assert marks["/api/report"].regression and marks["/api/report"].change_pct == pytest.approx(30)
    assert not marks["/api/login"].regression and marks["/api/login"].p95_ms == 105
    assert facts.regressions == 1  # type: ignore[attr-defined]


def test_tech_debt_uses_backlog_without_tools_file(demo_ws: Workspace) -> None:
    bundle, facts = build(demo_ws, "tech_debt_assessment", QUARTER)
    assert facts.tools == [] and facts.total_annual_cost == 0  # type: ignore[attr-defined]
    titles = {i["title"] for i in bundle.context["tech_debt_backlog"]}
    assert "Postgres upgrade" in titles and "Dark mode" not in titles


def test_tech_debt_weighted_matrix_from_tools_file(demo_ws: Workspace, tmp_path: Path) -> None:
    ws = copy_without(demo_ws, tmp_path / "ws")
    (ws.data_dir / "tools.csv").write_text(
        "tool,criterion,weight,score,annual_cost\n"
        "Datadog,fit,3,4,12000\nDatadog,cost,1,2,12000\n"
        "Grafana,fit,3,3,\nGrafana,cost,1,5,\n"
    )
    _, facts = build(ws, "tech_debt_assessment", QUARTER)
    scores = {t.tool: t.weighted_score for t in facts.tools}  # type: ignore[attr-defined]
    assert scores == {"Datadog": pytest.approx(3.5), "Grafana": pytest.approx(3.5)}
    assert facts.total_annual_cost == 12000  # type: ignore[attr-defined]


def test_tools_file_with_inconsistent_weight_is_rejected(
    demo_ws: Workspace, tmp_path: Path
) -> None:
    ws = copy_without(demo_ws, tmp_path / "ws")
    (ws.data_dir / "tools.csv").write_text("tool,criterion,weight,score\nA,fit,3,4\nB,fit,2,4\n")
    with pytest.raises(DataError) as err:
        build(ws, "tech_debt_assessment", QUARTER)
    assert err.value.line == 3 and err.value.column == "weight"


def test_missing_files_give_no_data_facts(demo_ws: Workspace, tmp_path: Path) -> None:
    ws = copy_without(demo_ws, tmp_path / "ws", "deployments.csv", "backlog.csv", "finance.csv")
    _, opt = build(ws, "optimization_report", QUARTER)
    assert opt.lead_time_days is None and opt.deploys_per_day is None  # type: ignore[attr-defined]
    _, review = build(ws, "quarterly_strategic_review", QUARTER)
    assert review.portfolio_roi_pct is None  # type: ignore[attr-defined]
    bundle, _ = build(ws, "tech_debt_assessment", QUARTER)
    assert bundle.context["tech_debt_backlog"] == []
