"""The KPI page's charts: each success metric's value per period against its target.

Every value is the KPI engine's (``compute_kpis`` of ``nexus_agents.tools.kpis``) for one
complete week or month as of the workspace's now; this module only places them on a
chart. The template draws the SVG (and escapes every label).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from nexus_agents.periods import Period, PeriodKind, period_containing
from nexus_agents.tools.kpis import KPIResult, compute_kpis

if TYPE_CHECKING:
    from nexus_agents.data.workspace import Workspace

__all__ = ["KINDS", "KpiChart", "charts", "format_value", "recent_periods"]

KINDS: dict[str, tuple[PeriodKind, int]] = {
    "weeks": (PeriodKind.WEEK, 12),
    "months": (PeriodKind.MONTH, 6),
}
WIDTH, HEIGHT = 340, 150
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 46, 12, 12, 26


@dataclass
class Point:
    period: str
    value: float | None
    status: str
    x: float
    y: float | None
    text: str


@dataclass
class KpiChart:
    key: str
    name: str
    category: str
    unit: str
    target: float
    comparator: str
    points: list[Point] = field(default_factory=list)
    target_y: float = 0
    segments: list[str] = field(default_factory=list)  # polyline point lists, broken at gaps
    ticks: list[tuple[float, str]] = field(default_factory=list)  # (y, label)
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def latest(self) -> Point | None:
        shown = [p for p in self.points if p.value is not None]
        return shown[-1] if shown else None

    @property
    def met(self) -> int:
        return sum(p.status == "met" for p in self.points)

    @property
    def missed(self) -> int:
        return sum(p.status == "missed" for p in self.points)


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "no data"
    text = f"{value:,.2f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    return f"{text}{unit if unit in ('%', 'x') else (' ' + unit if unit else '')}"


def recent_periods(kind: PeriodKind, count: int, now: datetime) -> list[Period]:
    """The ``count`` complete periods of ``kind`` before the one containing ``now``, oldest first."""
    period = period_containing(kind, now).previous()
    out = []
    for _ in range(count):
        out.append(period)
        period = period.previous()
    return out[::-1]


def _place(chart: KpiChart, results: list[KPIResult]) -> None:
    values = [r.value for r in results if r.value is not None]
    low = min([*values, chart.target])
    high = max([*values, chart.target])
    if high == low:
        high, low = high + 1, low - 1
    margin = (high - low) * 0.1
    low, high = low - margin, high + margin
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT

    def y_of(value: float) -> float:
        return PAD_TOP + (high - value) / (high - low) * plot_h

    step = plot_w / max(1, len(results) - 1)
    segment: list[str] = []
    for i, r in enumerate(results):
        x = PAD_LEFT + i * step if len(results) > 1 else PAD_LEFT + plot_w / 2
        y = None if r.value is None else y_of(r.value)
        chart.points.append(
            Point(r.period, r.value, r.status, x, y, f"{r.period}: {format_value(r.value, r.unit)} ({r.status})")
        )
        if y is None:
            if segment:
                chart.segments.append(" ".join(segment))
            segment = []
        else:
            segment.append(f"{x:.1f},{y:.1f}")
    if segment:
        chart.segments.append(" ".join(segment))
    chart.target_y = y_of(chart.target)
    chart.ticks = [(y_of(v), format_value(v, "")) for v in (high - margin, low + margin)]


def charts(workspace: Workspace, kind: PeriodKind, count: int, now: datetime | None = None) -> list[KpiChart]:
    """One chart per KPI over the last ``count`` complete periods of ``kind``."""
    moment = now or workspace.now()
    reports = [compute_kpis(workspace, p, moment) for p in recent_periods(kind, count, moment)]
    if not reports:
        return []
    by_key = [report.by_key() for report in reports]
    out = []
    for first in reports[0].results:
        series = [results[first.key] for results in by_key]
        chart = KpiChart(
            key=first.key,
            name=first.name,
            category=first.category,
            unit=first.unit,
            target=first.target,
            comparator=first.comparator,
        )
        _place(chart, series)
        out.append(chart)
    return out
