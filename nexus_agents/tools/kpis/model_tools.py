"""The KPI tools a model may call (``@tool``). They read the workspace bound by
``nexus_agents.data.use_workspace`` (the runtime binds it around a run); see
``nexus_agents.data.context``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from nexus_agents.artifacts.facts import KpiValue
from nexus_agents.periods import parse_period
from nexus_agents.tools.base import tool
from nexus_agents.tools.kpis.definitions import KPIS
from nexus_agents.tools.kpis.engine import KPIReport, KPIResult
from nexus_agents.tools.kpis.sql import mttr, uptime
from nexus_agents.tools.kpis.suite import compute_kpi, compute_kpis, open_context

if TYPE_CHECKING:
    from nexus_agents.data.workspace import Workspace


class KpiReportInput(BaseModel):
    period: str = Field(description="period label: 2026-11-27, 2026-W48, 2026-11, 2026-Q4 ...")
    as_of: datetime | None = Field(
        default=None, description="moment the figures are taken at; default: now (workspace time)"
    )


class KpiValueInput(KpiReportInput):
    key: str = Field(description="KPI key, e.g. uptime, mttr, nps, retention_d7")


class KpiSnapshot(BaseModel):
    period: str
    as_of: datetime
    kpis: list[KpiValue]
    off_target: list[str] = Field(description="names of KPIs that miss their target")
    no_data: list[str]


class UptimeSummary(BaseModel):
    period: str
    uptime: KPIResult
    mttr: KPIResult
    open_incidents: int


def _bound() -> Workspace:
    from nexus_agents.data.context import require_workspace

    return require_workspace()


@tool("kpi_report")
def kpi_report(args: KpiReportInput) -> KPIReport:
    """Every success metric (uptime, MTTR, growth, activation, D7/D30 retention, LTV:CAC, ROI,
    NPS, support SLA and resolution time, regulatory adherence, deployment frequency, process
    improvement) for a period, each with value, target and status met/missed/no_data."""
    return compute_kpis(_bound(), parse_period(args.period), args.as_of)


@tool("kpi_value")
def kpi_value(args: KpiValueInput) -> KPIResult:
    """One success metric by key for a period, with numerator, denominator and breakdown."""
    return compute_kpi(_bound(), args.key, parse_period(args.period), args.as_of)


@tool("kpi_snapshot")
def kpi_snapshot(args: KpiReportInput) -> KpiSnapshot:
    """Compact KPI snapshot for a period: each KPI's value and target, plus which miss."""
    report = compute_kpis(_bound(), parse_period(args.period), args.as_of)
    return KpiSnapshot(
        period=report.period,
        as_of=report.as_of,
        kpis=[r.to_kpi_value() for r in report.results],
        off_target=[r.name for r in report.results if r.status == "missed"],
        no_data=[r.name for r in report.results if r.status == "no_data"],
    )


@tool("uptime_summary")
def uptime_summary(args: KpiReportInput) -> UptimeSummary:
    """Uptime overall and per service, MTTR and the number of open incidents for a period."""
    workspace = _bound()
    ctx = open_context(workspace, parse_period(args.period), args.as_of, ["uptime", "mttr"])
    try:
        up = uptime(ctx, KPIS["uptime"])
        mt = mttr(ctx, KPIS["mttr"])
        (open_count,) = ctx.one(
            "SELECT count(*) FROM incidents WHERE resolved_at IS NULL AND detected_at < ?",
            [ctx.window_end],
        )
    finally:
        ctx.conn.close()
    return UptimeSummary(period=up.period, uptime=up, mttr=mt, open_incidents=int(open_count))


@tool("nps_score")
def nps_score(args: KpiReportInput) -> KPIResult:
    """NPS for a period: % promoters (9-10) minus % detractors (0-6), with counts."""
    return compute_kpi(_bound(), "nps", parse_period(args.period), args.as_of)
