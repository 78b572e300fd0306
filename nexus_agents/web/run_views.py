"""What the Runs, run and Approvals pages show, read from the run store.

Numbers (durations, calls, tokens, cost) come from the store's records; artifact fields
are model or data text and are only cut here (the templates escape them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nexus_agents.cli.history import clock, readable, run_seconds, seconds_text, short_id
from nexus_agents.untrusted_text import shown

if TYPE_CHECKING:
    from nexus_agents.api import Nexus
    from nexus_agents.runs.store import ArtifactRecord, RunRecord

__all__ = [
    "ArtifactView",
    "RunRow",
    "WaitingRun",
    "artifact_view",
    "data_view",
    "run_rows",
    "waiting_runs",
]

STATUSES = ("running", "waiting_approval", "succeeded", "failed", "interrupted", "cancelled")
FIELD_CHARS = 300
MARKDOWN_CHARS = 20_000


@dataclass
class RunRow:
    run_id: str
    short: str
    graph: str
    period: str
    job: str
    status: str
    started: str
    duration: str
    calls: int
    cost: str


@dataclass
class ArtifactView:
    step: str
    kind: str
    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    narrative: list[tuple[str, str]] = field(default_factory=list)
    markdown: str = ""


@dataclass
class WaitingRun:
    run_id: str
    short: str
    graph: str
    period: str
    approval_id: str
    decider: str
    question: str
    options: list[str]
    asked: str
    deadline: str
    on_timeout: str
    evidence: ArtifactView | None
    proposals: list[tuple[str, ArtifactView]] = field(default_factory=list)


def _text(value: Any) -> str:
    if isinstance(value, str | int | float | bool) or value is None:
        return shown(value, FIELD_CHARS)
    return shown(json.dumps(value, ensure_ascii=False, default=str), FIELD_CHARS)


def _fields(part: Any) -> list[tuple[str, str]]:
    if not isinstance(part, dict):
        return []
    return [(shown(k, 80), _text(v)) for k, v in list(part.items())[:40]]


def artifact_view(record: ArtifactRecord) -> ArtifactView:
    return data_view(record.step, record.data or {}, record.kind, record.markdown)


def data_view(step: str, data: dict[str, Any], kind: str | None = None, markdown: str | None = None) -> ArtifactView:
    kind = kind or str(data.get("kind") or "")
    return ArtifactView(
        step=step,
        kind=kind,
        title=shown(data.get("title") or kind or step, 200),
        facts=_fields(data.get("facts")),
        narrative=_fields(data.get("narrative")),
        markdown=readable(markdown)[:MARKDOWN_CHARS],
    )


async def _proposals(engine: Any, record: RunRecord, approval_id: str) -> list[tuple[str, ArtifactView]]:
    """What the gate lets happen: each action that requires it, with the artifact it acts on
    (from the run's checkpointed state)."""
    from nexus_agents.graphs.spec import ActionStep, iter_steps

    spec = engine.specs.get(record.graph)
    if spec is None:
        return []
    gated = [
        s for s in iter_steps(spec.steps)
        if isinstance(s, ActionStep) and s.requires_approval == approval_id
    ]
    if not gated:
        return []
    snapshot = await engine.graph(record.graph).aget_state(engine._config(record.run_id))
    artifacts = dict((snapshot.values or {}).get("artifacts") or {})
    out = []
    for action in gated:
        data = artifacts.get(action.source or "")
        if isinstance(data, dict):
            out.append((f"{action.action} ({action.id}) of", data_view(action.source or "", data)))
    return out


async def run_rows(
    nexus: Nexus,
    *,
    graph: str | None = None,
    status: str | None = None,
    period: str | None = None,
    job: str | None = None,
    limit: int = 100,
) -> list[RunRow]:
    async with nexus._using_engine() as engine:
        store = engine.store
        fetch = limit if not period else 5000
        records: list[RunRecord] = await store.list_runs(
            graph=graph or None, status=status or None, job=job or None, limit=fetch  # type: ignore[arg-type]
        )
        if period:
            records = [r for r in records if (r.period or "") == period][:limit]
        rows = []
        totals = await store.usage_totals_for([r.run_id for r in records])
        for r in records:
            usage = totals[r.run_id]
            rows.append(
                RunRow(
                    run_id=r.run_id,
                    short=short_id(r.run_id),
                    graph=r.graph,
                    period=r.period or "-",
                    job=r.job or "-",
                    status=r.status,
                    started=clock(r.started_at),
                    duration=seconds_text(run_seconds(r)),
                    calls=int(usage.get("calls", 0)),
                    cost=f"${float(usage.get('cost_usd', 0.0)):.4f}",
                )
            )
    return rows


async def waiting_runs(nexus: Nexus) -> list[WaitingRun]:
    """Every run waiting for a decision, with the artifact written just before its gate."""
    out = []
    async with nexus._using_engine() as engine:
        store = engine.store
        for r in await store.list_runs(status="waiting_approval", limit=500):
            pending = r.pending or {}
            artifacts = await store.artifacts_for(r.run_id)
            proposals = await _proposals(engine, r, str(pending.get("approval_id") or ""))
            out.append(
                WaitingRun(
                    run_id=r.run_id,
                    short=short_id(r.run_id),
                    graph=r.graph,
                    period=r.period or "-",
                    approval_id=str(pending.get("approval_id") or ""),
                    decider=shown(pending.get("decider"), 80),
                    question=shown(pending.get("question"), 500),
                    options=[str(o) for o in pending.get("options") or []],
                    asked=clock(pending.get("asked_at")),
                    deadline=clock(pending.get("deadline")),
                    on_timeout=str(pending.get("on_timeout") or ""),
                    evidence=artifact_view(artifacts[-1]) if artifacts else None,
                    proposals=proposals,
                )
            )
    return out
