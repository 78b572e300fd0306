"""Draw a spec as a Mermaid flowchart (for ``nexus graph show``)."""

from __future__ import annotations

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

__all__ = ["to_mermaid"]


def _node_id(name: str) -> str:
    return name.replace("-", "_").replace(".", "_")


def _label(text: str) -> str:
    return text.replace('"', "'")


class _Drawer(FlowWalker):
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.ends = False

    def node(self, step: Step) -> None:
        nid = _node_id(step.id)
        if isinstance(step, AgentStep):
            out = f"<br/>→ {step.output}" if step.output else ""
            self.lines.append(f'    {nid}["{_label(step.id)}<br/><i>{_label(step.agent)}</i>{out}"]')
        elif isinstance(step, RouteStep):
            what = f"on {step.on}" if step.on else f"call {step.call}"
            self.lines.append(f'    {nid}{{"{_label(step.id)}<br/>{_label(what)}"}}')
        elif isinstance(step, ApprovalStep):
            self.lines.append(f'    {nid}{{{{"{_label(step.id)}<br/>approval: {_label(step.decider)}"}}}}')
        elif isinstance(step, ActionStep):
            self.lines.append(f'    {nid}[/"{_label(step.id)}<br/>{step.action}"/]')
        elif isinstance(step, CallStep):
            self.lines.append(f'    {nid}[["{_label(step.id)}<br/>{_label(step.function)}"]]')
        elif isinstance(step, SubgraphStep):
            self.lines.append(f'    {nid}[["{_label(step.id)}<br/>graph {_label(step.graph)}"]]')
        elif isinstance(step, LoopStep):
            self.lines.append(f'    {nid}(["{_label(step.id)}<br/>loop ≤ {step.max_attempts}"])')
        elif isinstance(step, ParallelStep):
            self.lines.append(f'    {nid}(["{_label(step.id)}<br/>parallel"])')

    def edge(self, src: str, dst: str, label: str = "") -> None:
        if dst == END:
            self.ends = True
            dst_id = "END"
        else:
            dst_id = _node_id(dst)
        arrow = f" -->|{_label(label)}| " if label else " --> "
        self.lines.append(f"    {_node_id(src)}{arrow}{dst_id}")

    def extra(self, node_id: str, kind: Literal["check", "join"], step: LoopStep | ParallelStep) -> None:
        if isinstance(step, LoopStep):
            until = f"{_label(step.until.value)} = {_label(str(step.until.equals))}?"
            self.lines.append(f'    {_node_id(node_id)}{{"{until}"}}')
        else:
            self.lines.append(f"    {_node_id(node_id)}((join))")


def to_mermaid(spec: GraphSpec) -> str:
    drawer = _Drawer()
    drawer.lines.append("flowchart TD")
    drawer.lines.append("    START([start])")
    drawer.edge("START", spec.steps[0].id)
    drawer.block(spec.steps, END)
    drawer.lines.insert(2, "    END([end])")
    return "\n".join(drawer.lines) + "\n"
