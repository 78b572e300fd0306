"""The control flow of a spec as boxes and labelled arrows, for anything that draws it.

``FlowWalker.block`` walks the steps once and says what to draw through three hooks:
``node`` (a step), ``extra`` (the check box of a loop, the join of a parallel group) and
``edge``; the Mermaid text of ``nexus graph show`` and the dashboard's SVG both subclass it.
"""

from __future__ import annotations

from typing import Literal

from nexus_agents.graphs.spec import LoopStep, ParallelStep, RouteStep, Step, alongside_actions

__all__ = ["FlowWalker"]


class FlowWalker:
    def node(self, step: Step) -> None:
        raise NotImplementedError

    def extra(self, node_id: str, kind: Literal["check", "join"], step: LoopStep | ParallelStep) -> None:
        raise NotImplementedError

    def edge(self, src: str, dst: str, label: str = "") -> None:
        raise NotImplementedError

    def block(self, steps: list[Step], cont: str) -> None:
        """Draw ``steps`` in order; the last one continues to ``cont``."""
        steps, side = alongside_actions(steps)
        for index, step in enumerate(steps):
            self.node(step)
            beside = side.get(step.id)
            if beside is not None:
                self.node(beside)
                self.edge(step.id, beside.id, "alongside")
            succ = step.next or (steps[index + 1].id if index + 1 < len(steps) else cont)
            if isinstance(step, RouteStep):
                if step.call:
                    self.edge(step.id, succ, "call decides")
                for label, target in step.cases.items():
                    self.edge(step.id, target, label)
                if step.default:
                    self.edge(step.id, step.default, "default")
            elif isinstance(step, LoopStep):
                check = f"{step.id}.check"
                self.extra(check, "check", step)
                self.edge(step.id, step.body[0].id)
                self.block(step.body, check)
                self.edge(check, succ, "yes")
                self.edge(check, step.body[0].id, f"retry (≤ {step.max_attempts})")
                self.edge(check, step.on_exhausted or succ, "exhausted")
            elif isinstance(step, ParallelStep):
                join = f"{step.id}.join"
                self.extra(join, "join", step)
                for branch in step.branches:
                    self.edge(step.id, branch[0].id)
                    self.block(branch, join)
                self.edge(join, succ)
            else:
                self.edge(step.id, succ)
