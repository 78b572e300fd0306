"""Call steps of the continuous improvement loop (and the feature cycle).

They rely on the step ids of ``graphs/improvement_loop.yaml`` and
``graphs/feature_cycle.yaml``: ``measure`` (the KPI report), ``plan`` (the sprint plan),
``build_validate`` (the Dev<->QA loop), ``deploy_decision``, ``deploy`` (the deploy
action) and ``escalation_decision`` (the Studio Producer's gate).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from nexus_agents.artifacts.base import ArtifactMeta
from nexus_agents.artifacts.delivery import LoopLedger, LoopLedgerFacts
from nexus_agents.artifacts.facts import KpiValue
from nexus_agents.graphs.executor import StepContext
from nexus_agents.playbook._context import artifact, part, publish
from nexus_agents.runtime.executor import artifact_json

__all__ = ["previous_ledger", "record_ledger", "return_item", "select_top_item"]

MEASURE, PLAN, LOOP = "measure", "plan", "build_validate"
DEPLOY_DECISION, DEPLOY, ESCALATION_GATE = "deploy_decision", "deploy", "escalation_decision"
SELECTED = "select_item"

_FOLLOW_UP = {
    "reassign": "Reassign",
    "decompose": "Decompose",
    "revise_scope": "Re-scope",
}


async def previous_ledger(state: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    """Put the latest loop ledger (an earlier run's) in the state; set ``iteration``."""
    store = ctx.run.store
    record = await store.latest_artifact("loop_ledger") if store is not None else None
    if record is None or record.run_id == ctx.run_id:
        return {"values": {"iteration": 1, "has_previous_ledger": False}}
    facts = part(record.data, "facts")
    iteration = int(facts.get("iteration") or 0) + 1
    return {
        "values": {"iteration": iteration, "has_previous_ledger": True},
        "artifacts": {ctx.step_id: record.data},
    }


def _candidates(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = part(plan, "facts").get("candidates")
    return [c for c in found if isinstance(c, dict)] if isinstance(found, list) else []


def select_top_item(state: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    """Pick the item to build: ``inputs.item_id`` if given, else the plan's first pick.

    The first id of the plan's code-computed selection that is among its RICE-scored
    candidates (the same item the developer's facts builder takes). Sets ``item_id`` and
    ``item_selected`` (yes/no).
    """
    plan = artifact(state, PLAN)
    candidates = _candidates(plan)
    by_id = {str(c.get("item_id")): c for c in candidates}
    wanted = (state.get("inputs") or {}).get("item_id")
    chosen: dict[str, Any] | None = None
    if wanted:
        chosen = by_id.get(str(wanted), {"item_id": str(wanted), "title": str(wanted)})
    else:
        selected = part(plan, "facts").get("selected_item_ids") or []
        picks = [by_id[str(i)] for i in selected if str(i) in by_id]
        if picks:
            chosen = picks[0]
    if chosen is None:
        return {"values": {"item_selected": "no", "item_id": None}}
    item = {"kind": "selected_item", "item": chosen}
    return {
        "values": {"item_selected": "yes", "item_id": str(chosen["item_id"])},
        "artifacts": {ctx.step_id: item},
    }


def return_item(state: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    """Backlog entries for an item that is not shipped this iteration.

    ``defer`` (and a NEEDS_WORK release) puts the item itself back (the backlog keeps one
    row per id); reassign / decompose / revise_scope add a follow-up entry for the next
    sprint planning, carrying the decider's note.
    """
    values = state.get("values") or {}
    item = artifact(state, SELECTED).get("item") or {}
    item_id = str(values.get("item_id") or item.get("item_id") or "")
    title = str(item.get("title") or item_id)
    gate = (state.get("approvals") or {}).get(ESCALATION_GATE) or {}
    decision = str(gate.get("decision") or "defer")
    note = str(gate.get("note") or "")
    if values.get(LOOP) != "exhausted":
        decision = "defer"
        note = note or "release readiness was NEEDS_WORK"
    if decision in _FOLLOW_UP:
        entry = {
            "title": f"{_FOLLOW_UP[decision]} {item_id}: {title}",
            "description": f"Escalated after QA attempts ran out; decision {decision}. {note}".strip(),
        }
    else:
        entry = {
            "id": item_id,
            "title": title,
            "description": f"Back to the backlog ({decision}). {note}".strip(),
        }
    out = {"kind": "backlog_return", "decision": decision, "items": [entry]}
    return {"artifacts": {ctx.step_id: out}, "values": {"returned_item": item_id}}


def _kpis(measure: dict[str, Any]) -> list[KpiValue]:
    raw = part(measure, "facts").get("kpis")
    out: list[KpiValue] = []
    for entry in raw if isinstance(raw, list) else []:
        try:
            out.append(KpiValue.model_validate(entry))
        except ValidationError:
            continue
    return out


async def record_ledger(state: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    """Write this iteration's loop ledger from code: iteration, KPIs, what shipped."""
    values = state.get("values") or {}
    item_id = values.get("item_id")
    deployed = [str(item_id)] if item_id and values.get(DEPLOY) == "done" else []
    decision = part(artifact(state, DEPLOY_DECISION), "narrative")
    experiments: list[str] = []
    if deployed and decision.get("strategy") == "feature_flag" and decision.get("flag_name"):
        experiments.append(str(decision["flag_name"]))
    escalations = [str(item_id)] if item_id and values.get(LOOP) == "exhausted" else []
    period = state.get("period") or (state.get("inputs") or {}).get("period") or "unknown"
    ledger = LoopLedger(
        facts=LoopLedgerFacts(
            iteration=int(values.get("iteration") or 1),
            period=str(period),
            kpis=_kpis(artifact(state, MEASURE)),
            deployed=deployed,
            experiments=experiments,
            escalations=escalations,
        ),
        meta=ArtifactMeta(period=str(period), run_id=ctx.run_id, step=ctx.step_id),
    )
    data = artifact_json(ledger)
    await publish(ctx, data, ledger.to_markdown())
    return {"artifacts": {ctx.step_id: data}, "values": {"deployed_count": len(deployed)}}
