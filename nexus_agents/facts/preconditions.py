"""Facts for the Phase 6 preconditions report: the entry checklist, checked by code.

The checklist is shared with the ``preconditions`` graph's call step
(``nexus_agents.playbook.preconditions``, which writes the report by code):

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

from nexus_agents.artifacts.facts import CheckResult
from nexus_agents.exceptions import NexusError
from nexus_agents.facts import FactsContext, facts_builder
from nexus_agents.facts.bundle import FactBundle

__all__ = ["GATE_FILE", "PACKAGE_FILE", "build_preconditions_report", "evaluate"]

GATE_FILE = "handoff/phase5_quality_gate.md"
PACKAGE_FILE = "handoff/package.md"


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


@facts_builder("preconditions_report")
def build_preconditions_report(ctx: FactsContext) -> FactBundle:
    checks = evaluate(ctx.workspace.path, ctx.as_of)
    failed = [c.name for c in checks if not c.passed]
    guidance = ["Recommend proceed only when every check passed; each failed check is a blocker."]
    return FactBundle(
        facts={"checks": [c.model_dump() for c in checks]},
        context={"failed_checks": failed},
        guidance=guidance,
    )
