"""The Phase 6 entry checklist, checked against the workspace by code.

1. Phase 5 quality gate passed: ``handoff/phase5_quality_gate.md`` exists and records a
   PASS (and no FAIL).
2. Phase 5 handoff package received: ``handoff/package.md`` exists and is not empty.
3. Operational cadences established: the cadence calendar loads with enabled jobs.
4. Baseline metrics documented: KPIs can be computed for the last complete month.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from nexus_agents.artifacts.base import ArtifactMeta
from nexus_agents.artifacts.delivery import (
    PreconditionsFacts,
    PreconditionsNarrative,
    PreconditionsReport,
)
from nexus_agents.artifacts.facts import CheckResult
from nexus_agents.exceptions import NexusError
from nexus_agents.graphs.executor import StepContext
from nexus_agents.playbook._context import publish, workspace_path
from nexus_agents.runtime.executor import artifact_json

__all__ = ["GATE_FILE", "PACKAGE_FILE", "check_preconditions", "evaluate", "report_for"]

GATE_FILE = "handoff/phase5_quality_gate.md"
PACKAGE_FILE = "handoff/package.md"

_FIX = {
    "phase5_quality_gate": f"record the Phase 5 quality gate verdict (PASS) in {GATE_FILE}",
    "handoff_package": f"put the Phase 5 handoff package in {PACKAGE_FILE}",
    "cadences_established": "fix graphs/cadences.yaml or the [schedule] table of nexus.toml",
    "baseline_metrics": "add the data files the KPIs need under data/",
}


def _gate(root: Path) -> CheckResult:
    name = "phase5_quality_gate"
    path = root / GATE_FILE
    if not path.is_file():
        return CheckResult(name=name, passed=False, detail=f"{GATE_FILE} is missing")
    text = path.read_text(encoding="utf-8", errors="replace")
    if re.search(r"\bFAIL(ED)?\b", text, re.IGNORECASE):
        return CheckResult(name=name, passed=False, detail=f"{GATE_FILE} records a FAIL")
    if not re.search(r"\bPASS(ED)?\b", text, re.IGNORECASE):
        return CheckResult(name=name, passed=False, detail=f"{GATE_FILE} records no PASS verdict")
    return CheckResult(name=name, passed=True, detail=f"{GATE_FILE} records a PASS")


def _package(root: Path) -> CheckResult:
    name = "handoff_package"
    path = root / PACKAGE_FILE
    if not path.is_file():
        return CheckResult(name=name, passed=False, detail=f"{PACKAGE_FILE} is missing")
    if not path.read_text(encoding="utf-8", errors="replace").strip():
        return CheckResult(name=name, passed=False, detail=f"{PACKAGE_FILE} is empty")
    return CheckResult(name=name, passed=True, detail=f"{PACKAGE_FILE} present")


def _cadences(root: Path) -> CheckResult:
    from nexus_agents.config import load_config
    from nexus_agents.schedule.calendar import load_calendar

    name = "cadences_established"
    try:
        calendar = load_calendar(load_config(root))
    except NexusError as exc:
        return CheckResult(name=name, passed=False, detail=f"cadence calendar does not load: {exc}")
    enabled = calendar.enabled_jobs
    if not enabled:
        return CheckResult(name=name, passed=False, detail="the cadence calendar has no enabled job")
    return CheckResult(
        name=name, passed=True, detail=f"{len(enabled)} cadence job(s) enabled ({calendar.source})"
    )


def _baseline(root: Path, now: datetime | None) -> CheckResult:
    from nexus_agents.data.workspace import Workspace
    from nexus_agents.tools.kpis import compute_kpis, last_complete_month

    name = "baseline_metrics"
    try:
        workspace = Workspace(root)
        as_of = workspace.local(now) if now is not None else workspace.now()
        report = compute_kpis(workspace, last_complete_month(as_of), as_of)
    except NexusError as exc:
        return CheckResult(name=name, passed=False, detail=f"KPIs cannot be computed: {exc}")
    measured = [r.key for r in report.results if r.status != "no_data"]
    missing = [r.key for r in report.results if r.status == "no_data"]
    if not measured:
        return CheckResult(
            name=name, passed=False, detail=f"no KPI has data for {report.period} (all {len(missing)} empty)"
        )
    detail = f"{len(measured)} of {len(report.results)} KPIs measured for {report.period}"
    if missing:
        detail += "; no data: " + ", ".join(missing)
    return CheckResult(name=name, passed=True, detail=detail)


def evaluate(root: Path, now: datetime | None = None) -> list[CheckResult]:
    """Run the four checks on the workspace folder ``root``."""
    return [_gate(root), _package(root), _cadences(root), _baseline(root, now)]


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
