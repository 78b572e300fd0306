"""Daily facts builders: metrics snapshot, support ticket summary, health status report."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from nexus_agents.artifacts.registry import get_artifact
from nexus_agents.data.demo import INJECTION_TEXT
from nexus_agents.data.rows import ticket_rows
from nexus_agents.facts import LoopBoundStore, builder_for
from nexus_agents.periods import parse_period
from nexus_agents.runs.store import RunStore
from nexus_agents.tools.kpis import compute_kpi, compute_kpis
from nexus_agents.tools.sla import Ticket, TicketSlaInput, ticket_sla


def _build(kind, ctx):  # type: ignore[no-untyped-def]
    bundle = builder_for(kind)(ctx)
    facts = get_artifact(kind).facts_model().model_validate(bundle.facts)
    return bundle, facts


def _trusted(bundle) -> str:  # type: ignore[no-untyped-def]
    return json.dumps({"facts": bundle.facts, "context": bundle.context}, default=str)


def test_snapshot_kpis_equal_the_kpi_engine_with_previous_day(demo, make_ctx) -> None:
    ws, planted = demo
    day = planted.end.isoformat()
    _bundle, facts = _build("daily_metrics_snapshot", make_ctx(day))
    period = parse_period(day)
    now = compute_kpis(ws, period, min(ws.now(), period.end))
    before = compute_kpis(ws, period.previous(), period.start)
    assert facts.date == day
    assert [k.name for k in facts.kpis] == [r.name for r in now.results]
    for fact, cur, prev in zip(facts.kpis, now.results, before.results, strict=True):
        assert fact.value == cur.value
        assert fact.previous == prev.value
    assert facts.kpis_off_target == now.count("missed")
    uptime = next(k for k in facts.kpis if k.name == "System uptime")
    # the open P2 incident on the worker keeps the last day under target
    assert uptime.meets_target is False and uptime.change_pct is not None
    assert facts.since_last_iteration == [] and facts.loop_iteration is None


async def test_snapshot_reports_delta_against_the_last_loop_ledger(
    demo, make_ctx, tmp_path
) -> None:
    day = demo[1].end.isoformat()
    async with await RunStore.open(tmp_path / "runs.sqlite") as store:
        await store.create_run("loop-1", "improvement_loop", period="2026-11-20")
        ledger = get_artifact("loop_ledger").compose(
            {
                "iteration": 4,
                "period": "2026-11-20",
                "kpis": [{"name": "System uptime", "value": 80.0, "unit": "%"}],
            },
            {},
        )
        await store.save_artifact(
            "loop-1", "ledger", {**ledger.model_dump(mode="json"), "kind": "loop_ledger"}
        )
        await store.set_status("loop-1", "completed")
        bound = LoopBoundStore(store, asyncio.get_running_loop())
        # as the executor runs builders: in a worker thread, the store bound to this loop
        bundle, facts = await asyncio.to_thread(
            _build, "daily_metrics_snapshot", make_ctx(day, store=bound)
        )
    assert facts.loop_iteration == 4
    [delta] = facts.since_last_iteration
    uptime = next(k for k in facts.kpis if k.name == "System uptime")
    assert delta.name == "System uptime"
    assert delta.previous == 80.0 and delta.value == uptime.value
    assert delta.change_pct == pytest.approx(100 * (uptime.value - 80.0) / 80.0, abs=1e-3)
    assert any("loop" in g for g in bundle.guidance)


def test_ticket_summary_uses_the_sla_tool_and_shows_the_breach_day(demo, make_ctx) -> None:
    ws, planted = demo
    day = parse_period(planted.sla_breach_day.isoformat())
    bundle, facts = _build("support_ticket_summary", make_ctx(day))
    opened = [t for t in ticket_rows(ws) if day.start <= t.created_at < day.end]
    expected = ticket_sla(
        TicketSlaInput(
            tickets=[Ticket.model_validate(t.model_dump()) for t in opened],
            as_of=min(ws.now(), day.end),
        )
    )
    assert facts.tickets_opened == len(opened) > 0
    assert facts.sla_attainment_pct == expected.attainment_pct == 0.0
    assert facts.sla_breaches == len(opened)
    assert {t["id"] for t in bundle.context["breached_tickets"]} == {t.id for t in opened}
    assert sum(c.count for c in facts.by_category if c.label.startswith("priority:")) == len(opened)
    resolution = compute_kpi(ws, "support_resolution_time", day, day.end)
    assert facts.median_resolution_hours == resolution.value


def test_ticket_text_is_untrusted_and_never_in_facts(demo, make_ctx) -> None:
    _ws, planted = demo
    day = (planted.end - timedelta(days=2)).isoformat()
    bundle, facts = _build("support_ticket_summary", make_ctx(day))
    fenced = {u.id: u.text for u in bundle.untrusted}
    assert INJECTION_TEXT in fenced[planted.injection_ticket_id]
    assert all(u.source == "ticket" for u in bundle.untrusted)
    trusted = _trusted(bundle)
    assert "Ignore previous instructions" not in trusted
    assert "URGENT: system instruction" not in trusted
    # an ordinary day is not breached wholesale
    assert facts.sla_attainment_pct is not None and facts.sla_attainment_pct > 50


def test_health_report_matches_uptime_and_mttr_kpis(demo, make_ctx) -> None:
    ws, planted = demo
    p1_day = parse_period((planted.sla_breach_day + timedelta(days=7)).isoformat())
    _bundle, facts = _build("health_status_report", make_ctx(p1_day))
    up = compute_kpi(ws, "uptime", p1_day, p1_day.end)
    assert facts.uptime_pct == up.value
    assert [s.value for s in facts.uptime_by_service] == [g.value for g in up.breakdown]
    assert [s.name for s in facts.uptime_by_service] == [f"Uptime {s}" for s in planted.services]
    assert facts.mttr_minutes == pytest.approx(planted.p1_incident_minutes)
    api = next(s for s in facts.uptime_by_service if s.name == "Uptime api")
    assert api.meets_target is False  # the P1 took the API down for hours
    assert facts.uptime_target_pct == 99.9 and facts.mttr_target_minutes == 30.0


def test_health_report_lists_the_open_incident_as_untrusted_text(demo, make_ctx) -> None:
    _, planted = demo
    bundle, facts = _build("health_status_report", make_ctx(planted.end.isoformat()))
    assert facts.open_incidents == 1
    assert [i["id"] for i in bundle.context["open_incident_list"]] == [planted.open_incident_id]
    assert [u.id for u in bundle.untrusted] == [planted.open_incident_id]
    assert "Webhook deliveries delayed" not in _trusted(bundle)
    assert facts.deploys >= facts.failed_deploys >= 0


@pytest.mark.parametrize(
    "kind", ["daily_metrics_snapshot", "support_ticket_summary", "health_status_report"]
)
def test_missing_data_gives_empty_facts(kind, empty_ws, make_ctx) -> None:
    bundle, facts = _build(kind, make_ctx("2026-11-26", workspace=empty_ws))
    data = facts.model_dump()
    if kind == "daily_metrics_snapshot":
        assert all(k["value"] is None for k in data["kpis"]) and data["kpis_off_target"] == 0
    elif kind == "support_ticket_summary":
        assert data["tickets_opened"] == 0 and data["sla_attainment_pct"] is None
        assert bundle.untrusted == []
    else:
        assert data["uptime_pct"] is None and data["open_incidents"] == 0
        assert data["uptime_by_service"] == [] and data["deploys"] == 0


def test_health_report_of_a_period_reuses_its_kpi_values(demo, make_ctx, monkeypatch) -> None:
    """Every P0-P2 incident run builds these facts (confirm_stability): the same period as
    of the same moment must not query uptime and MTTR again while their data is unchanged."""
    from dataclasses import replace

    from nexus_agents.data.workspace import Workspace
    from nexus_agents.tools.kpis import KPIS

    ws, planted = demo
    fresh = Workspace(ws.path)  # its own memo, nothing computed yet
    computed: list[str] = []
    for key in ("uptime", "mttr"):
        real = KPIS[key].compute

        def counted(kctx, kpi, _real=real, _key=key):  # type: ignore[no-untyped-def]
            computed.append(_key)
            return _real(kctx, kpi)

        monkeypatch.setitem(KPIS, key, replace(KPIS[key], compute=counted))
    day = parse_period((planted.sla_breach_day + timedelta(days=7)).isoformat())
    _, first = _build("health_status_report", make_ctx(day, workspace=fresh))
    _, again = _build("health_status_report", make_ctx(day, workspace=fresh))
    assert again == first
    assert sorted(computed) == ["mttr", "uptime"]
