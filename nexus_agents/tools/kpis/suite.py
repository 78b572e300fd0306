"""Running KPIs for a period against a workspace: one by key, or the whole suite."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from nexus_agents.periods import Period, PeriodKind, period_containing
from nexus_agents.tools.kpis.definitions import KPIS, kpi_tables
from nexus_agents.tools.kpis.engine import KPIContext, KPIReport, KPIResult

if TYPE_CHECKING:
    from nexus_agents.data.workspace import Workspace

__all__ = ["compute_kpi", "compute_kpis", "last_complete_month", "open_context"]


def _as_of(workspace: Workspace, as_of: datetime | None) -> datetime:
    return workspace.now() if as_of is None else workspace.local(as_of)


def open_context(
    workspace: Workspace,
    period: Period,
    as_of: datetime | None = None,
    keys: list[str] | None = None,
) -> KPIContext:
    """A context with a fresh connection loaded with the tables ``keys`` need (close it)."""
    tables = kpi_tables(keys)
    conn = workspace.connect(tables)
    return KPIContext(
        conn=conn,
        period=period,
        as_of=_as_of(workspace, as_of),
        present=frozenset(t for t in tables if workspace.has(t)),
        targets=dict(workspace.config.targets),
        gross_margin=workspace.config.product.gross_margin,
    )


def compute_kpi(
    workspace: Workspace, key: str, period: Period, as_of: datetime | None = None
) -> KPIResult:
    """One KPI by key (computed once per data version when ``as_of`` is given)."""
    if key not in KPIS:
        from nexus_agents.exceptions import UnknownNameError

        raise UnknownNameError("KPI", key, list(KPIS))

    def compute() -> KPIResult:
        ctx = open_context(workspace, period, as_of, [key])
        try:
            return KPIS[key].compute(ctx, KPIS[key])
        finally:
            ctx.conn.close()

    if as_of is None:  # "now" moves: nothing to reuse
        return compute()
    return workspace.memoized(("kpi", key, period.label, as_of), compute, tables=kpi_tables([key]))


def compute_kpis(workspace: Workspace, period: Period, as_of: datetime | None = None) -> KPIReport:
    """Every success metric of the playbook for ``period`` as of ``as_of`` (default: now)."""
    ctx = open_context(workspace, period, as_of)
    try:
        results = [d.compute(ctx, d) for d in KPIS.values()]
    finally:
        ctx.conn.close()
    return KPIReport(
        period=period.label,
        period_start=period.start,
        period_end=period.end,
        as_of=ctx.as_of,
        timezone=workspace.tz.key,
        results=results,
    )


def last_complete_month(as_of: datetime) -> Period:
    """The calendar month before the one containing ``as_of``."""
    return period_containing(PeriodKind.MONTH, as_of).previous()
