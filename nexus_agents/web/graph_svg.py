"""A graph spec laid out for an SVG drawing made on the server (the Graphs page).

The nodes and edges are those ``nexus graph show`` draws as Mermaid; the layout is a
layered one: each node sits one row below the lowest of its forward predecessors, edges
that go back up (loop retries) are drawn as curves on the right. Only geometry is computed
here; the template writes the SVG and escapes every label.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from nexus_agents.graphs.flow import FlowWalker
from nexus_agents.graphs.spec import (
    END,
    ActionStep,
    AgentStep,
    ApprovalStep,
    CallStep,
    GraphSpec,
    LoopStep,
    ParallelStep,
    RouteStep,
    Step,
    SubgraphStep,
)

__all__ = ["GraphDrawing", "draw_graph"]

NODE_W, NODE_H = 168, 46
GAP_X, GAP_Y = 24, 46
MARGIN = 20
START = "__start__"
LABEL_CHARS = 24


@dataclass
class Node:
    id: str
    label: str
    sub: str = ""
    kind: str = "agent"
    x: float = 0
    y: float = 0


@dataclass
class Edge:
    src: str
    dst: str
    label: str = ""
    path: str = ""
    label_x: float = 0
    label_y: float = 0
    back: bool = False


@dataclass
class GraphDrawing:
    name: str
    width: float
    height: float
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    node_w: float = NODE_W
    node_h: float = NODE_H


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


class _Walker(FlowWalker):
    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []

    def node(self, step: Step) -> None:
        sub, kind = "", step.kind
        if isinstance(step, AgentStep):
            sub = step.agent + (f" → {step.output}" if step.output else "")
        elif isinstance(step, RouteStep):
            sub = f"on {step.on}" if step.on else f"call {step.call}"
        elif isinstance(step, ApprovalStep):
            sub = f"approval: {step.decider}"
        elif isinstance(step, ActionStep):
            sub = f"action {step.action}"
        elif isinstance(step, CallStep):
            sub = str(step.function).rsplit(":", 1)[-1]
        elif isinstance(step, SubgraphStep):
            sub = f"graph {step.graph}"
        elif isinstance(step, LoopStep):
            sub = f"loop ≤ {step.max_attempts}"
        elif isinstance(step, ParallelStep):
            sub = f"parallel × {len(step.branches)}"
        self.nodes[step.id] = Node(step.id, _short(step.id), _short(sub), kind)

    def edge(self, src: str, dst: str, label: str = "") -> None:
        self.edges.append(Edge(src, dst, label))

    def extra(self, node_id: str, kind: Literal["check", "join"], step: LoopStep | ParallelStep) -> None:
        label = _short(f"{step.until.value}?") if isinstance(step, LoopStep) else "join"
        self.nodes[node_id] = Node(node_id, label, "", kind)


def _back_edges(order: list[str], edges: list[Edge]) -> None:
    """Mark the edges that close a cycle (found by a depth-first walk from the start)."""
    out: dict[str, list[Edge]] = {n: [] for n in order}
    for e in edges:
        out.setdefault(e.src, []).append(e)
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(node: str) -> None:
        state[node] = 1
        for e in out.get(node, []):
            seen = state.get(e.dst)
            if seen == 1:
                e.back = True
            elif seen is None:
                visit(e.dst)
        state[node] = 2

    for node in order:
        if node not in state:
            visit(node)


def draw_graph(spec: GraphSpec) -> GraphDrawing:
    walker = _Walker()
    walker.nodes[START] = Node(START, "start", "", "terminal")
    walker.edge(START, spec.steps[0].id)
    walker.block(spec.steps, END)
    nodes = walker.nodes
    nodes[END] = Node(END, "end", "", "terminal")
    edges = [e for e in walker.edges if e.src in nodes and e.dst in nodes]
    order = list(nodes)
    _back_edges(order, edges)

    layer = {n: 0 for n in order}
    for _ in range(len(order)):  # longest path over the forward edges (a DAG)
        changed = False
        for e in edges:
            if not e.back and layer[e.dst] < layer[e.src] + 1:
                layer[e.dst] = layer[e.src] + 1
                changed = True
        if not changed:
            break
    rows: dict[int, list[str]] = {}
    for n in order:
        rows.setdefault(layer[n], []).append(n)
    widest = max(len(r) for r in rows.values())
    width = 2 * MARGIN + widest * NODE_W + (widest - 1) * GAP_X + 120  # room for back edges
    for depth, members in rows.items():
        span = len(members) * NODE_W + (len(members) - 1) * GAP_X
        left = MARGIN + (widest * NODE_W + (widest - 1) * GAP_X - span) / 2
        for i, n in enumerate(members):
            nodes[n].x = left + i * (NODE_W + GAP_X)
            nodes[n].y = MARGIN + depth * (NODE_H + GAP_Y)
    height = 2 * MARGIN + len(rows) * NODE_H + (len(rows) - 1) * GAP_Y
    right = width - 60
    for e in edges:
        a, b = nodes[e.src], nodes[e.dst]
        if e.back:
            x1, y1 = a.x + NODE_W, a.y + NODE_H / 2
            x2, y2 = b.x + NODE_W, b.y + NODE_H / 2
            bend = max(x1, x2) + 40 if max(x1, x2) + 40 < right + 40 else right
            e.path = f"M{x1:.0f},{y1:.0f} C{bend:.0f},{y1:.0f} {bend:.0f},{y2:.0f} {x2 + 4:.0f},{y2:.0f}"
            e.label_x, e.label_y = bend - 10, (y1 + y2) / 2
        else:
            x1, y1 = a.x + NODE_W / 2, a.y + NODE_H
            x2, y2 = b.x + NODE_W / 2, b.y - 4
            mid = (y1 + y2) / 2
            e.path = f"M{x1:.0f},{y1:.0f} C{x1:.0f},{mid:.0f} {x2:.0f},{mid:.0f} {x2:.0f},{y2:.0f}"
            e.label_x, e.label_y = (x1 + x2) / 2, mid
    return GraphDrawing(spec.name, width, height, list(nodes.values()), edges)
