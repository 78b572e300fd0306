"""The demo workspace: deterministic, and its planted situations show through the tools."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest

from nexus_agents.data import Workspace
from nexus_agents.data.demo import DEMO_FACTS, generate_demo
from nexus_agents.data.rows import (
    backlog_rows,
    compliance_rows,
    experiment_rows,
    feedback_rows,
    finance_rows,
    ticket_rows,
)
from nexus_agents.periods import parse_period
from nexus_agents.tools.kpis import compute_kpi, compute_kpis


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    path = tmp_path_factory.mktemp("demo")
    generate_demo(path)
    return Workspace(path)


def _files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path, demo: Workspace) -> None:
    generate_demo(tmp_path / "a", seed=7)
    generate_demo(tmp_path / "b", seed=8)
    same, other = _files(tmp_path / "a"), _files(demo.path)
    assert same == other
    different = _files(tmp_path / "b")
    assert different.keys() == same.keys()
    assert different["activity.csv"] != same["activity.csv"]


def test_demo_is_small_and_loads(demo: Workspace) -> None:
    assert sum(p.stat().st_size for p in demo.data_dir.iterdir()) < 15_000_000
    assert demo.now() == DEMO_FACTS.as_of
    assert demo.config.product.timezone == DEMO_FACTS.timezone


def test_default_month_shows_planted_reliability_and_compliance(demo: Workspace) -> None:
    report = compute_kpis(demo, parse_period("2026-10"), None).by_key()
    assert {r.status for r in report.values()} == {"met", "missed"}
    mttr = report["mttr"]
    assert mttr.status == "missed"
    p1 = {g.group: g for g in mttr.breakdown}["P1"]
    assert p1.value == DEMO_FACTS.p1_incident_minutes
    assert report["uptime"].status == "missed"
    assert report["regulatory_adherence"].status == "missed"
    assert "1 overdue" in report["regulatory_adherence"].detail
    overdue = [
        c
        for c in compliance_rows(demo)
        if c.status != "compliant" and c.due_on and c.due_on < DEMO_FACTS.end
    ]
    assert [c.control_id for c in overdue] == [DEMO_FACTS.overdue_control]


def test_sla_breach_day(demo: Workspace) -> None:
    day = parse_period(DEMO_FACTS.sla_breach_day.isoformat())
    sla = compute_kpi(demo, "support_first_response_sla", day)
    assert sla.value == 0.0 and sla.sample_size > 5
    day_before = compute_kpi(demo, "support_first_response_sla", day.previous())
    assert day_before.value is not None and day_before.value > 80


def test_retention_dip_cohort(demo: Workspace) -> None:
    week = parse_period(DEMO_FACTS.retention_dip_week)
    dip = compute_kpi(demo, "retention_d7", week)
    before = compute_kpi(demo, "retention_d7", week.previous())
    after = compute_kpi(demo, "retention_d7", week.next())
    assert dip.value is not None and before.value is not None and after.value is not None
    assert dip.status == "missed" and dip.value < before.value / 1.5
    assert dip.value < after.value / 1.5


def _z(c: tuple[int, int], v: tuple[int, int]) -> float:
    p1, p2 = c[1] / c[0], v[1] / v[0]
    pooled = (c[1] + v[1]) / (c[0] + v[0])
    return (p2 - p1) / math.sqrt(pooled * (1 - pooled) * (1 / c[0] + 1 / v[0]))


def test_experiments_one_significant_one_not(demo: Workspace) -> None:
    by_exp: dict[str, list[tuple[int, int]]] = {}
    for row in experiment_rows(demo):
        by_exp.setdefault(row.experiment_id, []).append((row.exposures, row.conversions))
    win = by_exp[DEMO_FACTS.significant_experiment]
    flat = by_exp[DEMO_FACTS.insignificant_experiment]
    assert _z(win[0], win[1]) > 1.96
    assert abs(_z(flat[0], flat[1])) < 1.96


def test_budget_feedback_backlog_and_injection(demo: Workspace) -> None:
    over = [
        r for r in finance_rows(demo) if r.kind == "cost" and r.budget and r.amount > 1.2 * r.budget
    ]
    assert [(r.category, f"{r.month:%Y-%m}") for r in over] == [
        (DEMO_FACTS.over_budget_category, DEMO_FACTS.over_budget_month)
    ]
    feedback = feedback_rows(demo)
    assert len(feedback) == DEMO_FACTS.feedback_count
    themes = Counter(
        theme
        for f in feedback
        for theme, word in (
            ("slow dashboard", "slow"),
            ("export to CSV", "csv"),
            ("SSO request", "sso"),
            ("billing confusion", "invoice"),
        )
        if word in f.text.lower()
    )
    assert all(themes[t] >= 5 for t in DEMO_FACTS.feedback_themes if t != "billing confusion")
    assert len(backlog_rows(demo)) == DEMO_FACTS.backlog_size
    tickets = {t.id: t for t in ticket_rows(demo)}
    body = tickets[DEMO_FACTS.injection_ticket_id].body or ""
    assert "ignore previous instructions" in body.lower() and "api key" in body.lower()
