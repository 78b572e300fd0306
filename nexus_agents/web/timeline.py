"""A run's steps as Gantt bars: one row per step execution, placed on the run's clock.

Steps that ran at the same time (the branches of a parallel step) get bars over the same
stretch of the time axis, one above the other. The rows come from the run store's events
(``nexus_agents.cli.history.timeline``); only geometry is computed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from nexus_agents.cli.history import StepRow, seconds_text

__all__ = ["Bar", "Gantt", "gantt"]

LABEL_W, PLOT_W, ROW_H, BAR_H, TOP = 190, 620, 26, 16, 24
MIN_BAR = 3.0


@dataclass
class Bar:
    step: str
    agent: str
    outcome: str
    x: float
    y: float
    width: float
    duration: str
    parallel: bool = False


@dataclass
class Gantt:
    bars: list[Bar] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)
    width: int = LABEL_W + PLOT_W + 20
    height: int = TOP
    label_w: int = LABEL_W
    bar_h: int = BAR_H


def _parse(moment: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(moment) if moment else None
    except ValueError:
        return None


def gantt(rows: list[StepRow], run_started: str | None) -> Gantt:
    spans: list[tuple[StepRow, float, float]] = []
    origin = _parse(run_started)
    starts = [s for s in (_parse(r.started_at) for r in rows) if s is not None]
    if origin is None or (starts and min(starts) < origin):
        origin = min(starts) if starts else None
    for row in rows:
        start = _parse(row.started_at)
        offset = (start - origin).total_seconds() if start and origin else 0.0
        spans.append((row, max(0.0, offset), max(0.0, row.seconds or 0.0)))
    total = max([a + d for _, a, d in spans] + [0.001])
    scale = PLOT_W / total
    chart = Gantt(height=TOP + ROW_H * len(spans) + 8)
    for i, (row, offset, duration) in enumerate(spans):
        overlaps = any(
            j != i and o < offset + duration and offset < o + d
            for j, (_, o, d) in enumerate(spans)
            if d > 0 and duration > 0
        )
        chart.bars.append(
            Bar(
                step=row.step,
                agent=row.agent or "",
                outcome=row.outcome,
                x=LABEL_W + offset * scale,
                y=TOP + i * ROW_H,
                width=max(MIN_BAR, duration * scale),
                duration=seconds_text(row.seconds),
                parallel=overlaps,
            )
        )
    chart.ticks = [(LABEL_W + PLOT_W * f, seconds_text(total * f)) for f in (0, 0.25, 0.5, 0.75, 1)]
    return chart
