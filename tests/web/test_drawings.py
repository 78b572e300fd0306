"""The geometry behind the run timeline and the graph drawings."""

from __future__ import annotations

from itertools import pairwise

from nexus_agents.cli.history import StepRow
from nexus_agents.graphs.loader import load_graph_specs
from nexus_agents.graphs.spec import END
from nexus_agents.web.graph_svg import NODE_H, NODE_W, draw_graph
from nexus_agents.web.timeline import gantt

T0 = "2026-12-01T10:00:00+00:00"


def _at(seconds: int) -> str:
    return f"2026-12-01T10:00:{seconds:02d}+00:00"


def test_parallel_branches_sit_side_by_side_on_the_time_axis() -> None:
    rows = [
        StepRow("measure", "analytics_reporter", _at(0), 2.0, outcome="finished"),
        StepRow("data_analysis", "analytics_reporter", _at(2), 4.0, outcome="finished"),
        StepRow("feedback", "feedback_synthesizer", _at(2), 3.0, outcome="finished"),
        StepRow("plan", "sprint_prioritizer", _at(6), 1.0, outcome="waiting_approval"),
    ]
    chart = gantt(rows, T0)
    bars = {b.step: b for b in chart.bars}
    assert [b.parallel for b in chart.bars] == [False, True, True, False]
    a, b = bars["data_analysis"], bars["feedback"]
    assert a.x == b.x and a.y != b.y  # same start, one above the other
    assert bars["measure"].x + bars["measure"].width <= a.x + 0.01  # sequential steps follow
    assert bars["plan"].x + bars["plan"].width <= chart.width  # the run fits the axis
    assert bars["plan"].outcome == "waiting_approval" and bars["plan"].duration == "1.00s"


def test_every_shipped_graph_is_laid_out_without_overlaps() -> None:
    for name, spec in load_graph_specs().items():
        drawing = draw_graph(spec)
        ids = {n.id for n in drawing.nodes}
        assert {"__start__", END} <= ids, name
        assert all(e.src in ids and e.dst in ids and e.path for e in drawing.edges), name
        boxes = sorted((n.y, n.x) for n in drawing.nodes)
        for (y1, x1), (y2, x2) in pairwise(boxes):
            assert y1 != y2 or x2 - x1 >= NODE_W, (name, x1, x2)
        assert all(0 <= n.x <= drawing.width - NODE_W and 0 <= n.y <= drawing.height - NODE_H for n in drawing.nodes)
    loop = draw_graph(load_graph_specs()["improvement_loop"])
    assert any(e.back and e.label.startswith("retry (≤ ") for e in loop.edges)  # the build/validate loop
