"""Approval gates: what a paused run asks, and how a decision is checked and recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from nexus_agents.graphs.errors import ApprovalError
from nexus_agents.graphs.spec import ApprovalStep

__all__ = ["ApprovalDecision", "ApprovalRequest", "check_decision", "request_for", "timeout_decision"]

TIMEOUT_DECIDER = "policy:timeout_default"


class ApprovalRequest(BaseModel):
    """The question a paused run is waiting on (the value of the LangGraph interrupt)."""

    model_config = ConfigDict(extra="forbid")

    approval_id: str
    decider: str
    question: str
    options: list[str]
    on_timeout: str
    timeout_minutes: float
    asked_at: str
    deadline: str


class ApprovalDecision(BaseModel):
    """A decision as stored in ``approvals[<id>]`` (``values[<id>]`` holds ``decision``)."""

    model_config = ConfigDict(extra="forbid")

    decision: str
    note: str | None = None
    decided_by: str | None = None
    decided_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())


def request_for(step: ApprovalStep, now: datetime | None = None) -> ApprovalRequest:
    asked = now or datetime.now(UTC)
    return ApprovalRequest(
        approval_id=step.id,
        decider=step.decider,
        question=step.question,
        options=list(step.options),
        on_timeout=step.on_timeout,
        timeout_minutes=step.timeout_minutes,
        asked_at=asked.isoformat(),
        deadline=(asked + timedelta(minutes=step.timeout_minutes)).isoformat(),
    )


def check_decision(options: list[str], approval_id: str, raw: Any) -> ApprovalDecision:
    """Validate a resume value; a plain string is taken as the decision."""
    if isinstance(raw, str):
        raw = {"decision": raw}
    if isinstance(raw, ApprovalDecision):
        decision = raw
    elif isinstance(raw, dict):
        try:
            decision = ApprovalDecision.model_validate(raw)
        except ValueError as exc:
            raise ApprovalError(f"approval {approval_id!r}: malformed decision ({exc})") from None
    else:
        raise ApprovalError(f"approval {approval_id!r}: a decision must be a string, got {raw!r}")
    if decision.decision not in options:
        raise ApprovalError(
            f"approval {approval_id!r}: {decision.decision!r} is not an option; "
            f"choose one of {', '.join(options)}"
        )
    return decision


def timeout_decision(step_or_request: ApprovalStep | ApprovalRequest, why: str) -> ApprovalDecision:
    option = step_or_request.on_timeout
    return ApprovalDecision(decision=option, note=why, decided_by=TIMEOUT_DECIDER)
