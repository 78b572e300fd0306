"""The Phase 6 entry checklist as a graph step: the report is written by code.

The four checks themselves live in ``nexus_agents.facts.preconditions`` (the facts of the
agent-written report use the same checklist).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nexus_agents.artifacts.base import ArtifactMeta
from nexus_agents.artifacts.delivery import (
    PreconditionsFacts,
    PreconditionsNarrative,
    PreconditionsReport,
)
from nexus_agents.artifacts.facts import CheckResult
from nexus_agents.facts.preconditions import GATE_FILE, PACKAGE_FILE, evaluate
from nexus_agents.graphs.executor import StepContext
from nexus_agents.playbook._context import publish, workspace_path
from nexus_agents.runtime.executor import artifact_json

__all__ = ["GATE_FILE", "PACKAGE_FILE", "check_preconditions", "evaluate", "report_for"]

_FIX = {
    "phase5_quality_gate": f"record the Phase 5 quality gate verdict (PASS) in {GATE_FILE}",
    "handoff_package": f"put the Phase 5 handoff package in {PACKAGE_FILE}",
    "cadences_established": "fix graphs/cadences.yaml or the [schedule] table of nexus.toml",
    "baseline_metrics": "add the data files the KPIs need under data/",
}


def report_for(checks: list[CheckResult], meta: ArtifactMeta | None = None) -> PreconditionsReport:
    """The report, written by code: every failed check is a blocker saying what to do."""
    failed = [c for c in checks if not c.passed]
    if failed:
        assessment = f"{len(failed)} of {len(checks)} pre-conditions are missing: " + "; ".join(
            c.detail for c in failed
        ) + "."
    else:
        assessment = f"All {len(checks)} pre-conditions are met; Phase 6 operations can start."
    blockers = [f"{c.name}: {c.detail} - {_FIX.get(c.name, 'fix it')}" for c in failed]
    return PreconditionsReport(
        facts=PreconditionsFacts(checks=checks),
        narrative=PreconditionsNarrative(
            assessment=assessment,
            blockers=blockers,
            recommendation="hold" if failed else "proceed",
        ),
        meta=meta or ArtifactMeta(),
    )


async def check_preconditions(state: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    """Call step: check the workspace, store the report, set ``preconditions`` met/missing."""
    root = workspace_path(state, ctx)
    if root is None:
        raise ValueError("the run has no workspace folder to check")
    now_text = (state.get("inputs") or {}).get("now")
    now = datetime.fromisoformat(str(now_text)) if now_text else None
    period = state.get("period") or (state.get("inputs") or {}).get("period")
    report = report_for(
        evaluate(root, now), ArtifactMeta(period=period, run_id=ctx.run_id, step=ctx.step_id)
    )
    data = artifact_json(report)
    await publish(ctx, data, report.to_markdown())
    met = report.narrative.recommendation == "proceed"
    return {
        "artifacts": {ctx.step_id: data},
        "values": {
            "preconditions": "met" if met else "missing",
            "missing_preconditions": [c.name for c in report.facts.checks if not c.passed],
        },
    }
