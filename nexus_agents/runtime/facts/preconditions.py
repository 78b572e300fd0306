"""Facts for the Phase 6 preconditions report: the entry checklist, checked by code.

The checks and the file names they look for (``handoff/phase5_quality_gate.md``, the
handoff package) are those of ``nexus_agents.playbook.preconditions``: the quality gate
record is present and says PASS, the handoff package is present, the cadence calendar
loads with enabled jobs, and baseline KPIs are computable for the last complete month.
"""

from __future__ import annotations

from nexus_agents.runtime.agent_runner import FactBundle
from nexus_agents.runtime.facts import FactsContext, facts_builder

__all__ = ["build_preconditions_report"]


@facts_builder("preconditions_report")
def build_preconditions_report(ctx: FactsContext) -> FactBundle:
    from nexus_agents.playbook.preconditions import evaluate

    checks = evaluate(ctx.workspace.path, ctx.as_of)
    failed = [c.name for c in checks if not c.passed]
    guidance = ["Recommend proceed only when every check passed; each failed check is a blocker."]
    return FactBundle(
        facts={"checks": [c.model_dump() for c in checks]},
        context={"failed_checks": failed},
        guidance=guidance,
    )
