"""Run history as people read it: short run ids, a step timeline, approvals, Markdown.

Everything here is computed from the run store's records (events, usage, artifacts) and
the run's checkpointed ``approvals``; nothing comes from model text except the artifacts'
own Markdown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from nexus_agents.exceptions import NexusError, UnknownNameError
from nexus_agents.untrusted_text import cut, normalise, shown

if TYPE_CHECKING:
    from nexus_agents.runs.store import (
        ArtifactRecord,
        EventRecord,
        RunRecord,
        RunStore,
        UsageRecord,
    )

SHORT_ID = 8
MARKDOWN_SHOWN = 100_000  # characters of one artifact's Markdown a run document carries
_GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


def short_id(run_id: str) -> str:
    """A generated (hex) run id cut to its first 8 characters; a ``JOB:PERIOD`` id as is."""
    return run_id[:SHORT_ID] if _GENERATED_ID.match(run_id) else run_id


async def resolve_run_id(store: RunStore, given: str) -> str:
    """The run id ``given`` names: the id itself or a unique prefix of one."""
    if await store.get_run(given) is not None:
        return given
    rows = await store.db.fetchall(
        "SELECT run_id FROM runs WHERE substr(run_id, 1, ?) = ? LIMIT 6", (len(given), given)
    )
    ids = [str(r["run_id"]) for r in rows]
    if not ids:
        raise UnknownNameError("run", given)
    if len(ids) > 1:
        raise NexusError(
            f"run id {given!r} is ambiguous ({', '.join(ids[:5])}...): give more characters"
        )
    return ids[0]


def _parse(moment: str | None) -> datetime | None:
    if not moment:
        return None
    try:
        return datetime.fromisoformat(moment)
    except ValueError:
        return None


def clock(moment: str | None) -> str:
    """``2026-12-04 15:37:09`` (UTC as stored) or ``-``."""
    parsed = _parse(moment)
    return parsed.strftime("%Y-%m-%d %H:%M:%S") if parsed else "-"


def seconds_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def run_seconds(record: RunRecord) -> float | None:
    """How long a run took (finished) or has taken until its last update."""
    start = _parse(record.started_at)
    end = _parse(record.finished_at or record.updated_at)
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


@dataclass
class StepRow:
    """One step of the timeline."""

    step: str
    agent: str | None = None
    started_at: str | None = None
    seconds: float | None = None
    calls: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    outcome: str = "running"
    error: str | None = None


@dataclass
class RunHistory:
    """What ``nexus runs show`` prints."""

    record: RunRecord
    steps: list[StepRow] = field(default_factory=list)
    approvals: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[ArtifactRecord] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return sum(s.calls for s in self.steps)

    @property
    def tokens(self) -> int:
        return sum(s.tokens for s in self.steps)

    @property
    def cost_usd(self) -> float:
        return sum(s.cost_usd for s in self.steps)


def timeline(
    events: list[EventRecord], usage: list[UsageRecord], status: str = "running"
) -> list[StepRow]:
    """One row per step execution, in the order steps started (a re-run step gets a row
    per run); model calls are counted against the step's latest row. Steps still open
    take the run's ``status`` (waiting_approval, interrupted, failed ...)."""
    rows: list[StepRow] = []
    open_rows: dict[str, StepRow] = {}
    for event in events:
        if event.event == "started":
            earlier = open_rows.get(event.step)
            if earlier is not None:  # started again without finishing: it paused or stopped
                earlier.outcome = "stopped"
            row = StepRow(step=event.step, agent=event.agent, started_at=event.at)
            rows.append(row)
            open_rows[event.step] = row
        elif event.event in ("finished", "failed"):
            row = open_rows.pop(event.step, None)
            if row is None:  # a step recorded without a start (joins, resumed steps)
                row = StepRow(step=event.step, agent=event.agent, started_at=event.at)
                rows.append(row)
            row.outcome = event.event
            if event.duration_ms is not None:
                row.seconds = event.duration_ms / 1000
            elif row.started_at:
                start, end = _parse(row.started_at), _parse(event.at)
                if start and end:
                    row.seconds = (end - start).total_seconds()
            if event.detail and event.detail.get("error"):
                row.error = str(event.detail["error"])
    for row in open_rows.values():
        row.outcome = "running" if status == "running" else status
    latest = {row.step: row for row in rows}
    for call in usage:
        row = latest.get(call.step)
        if row is None:
            row = latest[call.step] = StepRow(step=call.step, agent=call.agent, outcome="-")
            rows.append(row)
        row.calls += 1
        row.tokens += call.total_tokens
        row.cost_usd += call.cost_usd
    return rows


def approval_rows(approvals: dict[str, Any]) -> list[dict[str, Any]]:
    """The decisions taken in a run, oldest first."""
    rows = [{"approval": key, **dict(value or {})} for key, value in approvals.items()]
    return sorted(rows, key=lambda r: str(r.get("decided_at") or ""))


def to_markdown(history: RunHistory) -> str:
    """The run as a Markdown document: summary, timeline, approvals, then each artifact."""
    r = history.record
    out = [f"# Run {r.run_id}", ""]
    out += [
        f"- graph: `{r.graph}`",
        f"- period: {r.period or '-'}",
        f"- job: {r.job or '-'}",
        f"- status: **{r.status}**",
        f"- started: {clock(r.started_at)} UTC",
        f"- finished: {clock(r.finished_at)}{' UTC' if r.finished_at else ''}",
        f"- duration: {seconds_text(run_seconds(r))}",
        f"- model calls: {history.calls}, tokens: {history.tokens}, cost: ${history.cost_usd:.4f}",
    ]
    if r.error:
        out.append(f"- error: {_cell(r.error)}")
    out += ["", "## Timeline", ""]
    out += [
        "| Step | Agent | Started | Duration | Calls | Tokens | Cost | Outcome |",
        "|---|---|---|---|---:|---:|---:|---|",
    ]
    for s in history.steps:
        outcome = s.outcome + (f": {s.error}" if s.error else "")
        out.append(
            f"| {_cell(s.step)} | {_cell(s.agent or '-')} | {clock(s.started_at)} | "
            f"{seconds_text(s.seconds)} | {s.calls} | {s.tokens} | ${s.cost_usd:.4f} | "
            f"{_cell(outcome)} |"
        )
    out += ["", "## Approvals", ""]
    if history.approvals:
        out += ["| Approval | Decision | By | At | Note |", "|---|---|---|---|---|"]
        for a in history.approvals:
            out.append(
                f"| {_cell(a['approval'])} | {_cell(str(a.get('decision') or '-'))} | "
                f"{_cell(str(a.get('decided_by') or '-'))} | {clock(a.get('decided_at'))} | "
                f"{_cell(str(a.get('note') or ''))} |"
            )
    else:
        out.append("none")
    if r.pending:
        out += [
            "",
            f"**Waiting for {_cell(r.pending.get('decider'))}:** "
            f"{_cell(r.pending.get('question'))} "
            f"(options: {_cell(', '.join(r.pending.get('options') or []))})",
        ]
    for artifact in history.artifacts:
        out += ["", "---", "", f"<!-- artifact of step {artifact.step} ({artifact.kind}) -->", ""]
        text = readable(artifact.markdown).strip()
        out.append(text or f"(artifact {artifact.kind}: no Markdown)")
    return "\n".join(out) + "\n"


def _cell(text: object) -> str:
    """Text safe inside a Markdown table cell (one line, no column breaks)."""
    return shown(text, 500).replace("|", "\\|")


def readable(text: object) -> str:
    """Stored model or data text for the terminal or a run document: at most
    ``MARKDOWN_SHOWN`` characters, control characters dropped."""
    return "" if text is None else normalise(cut(str(text), MARKDOWN_SHOWN))
