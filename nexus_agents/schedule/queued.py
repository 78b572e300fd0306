"""Runs submitted to the shared queue: what a submission holds and what executing it returns.

``nexus submit`` / ``Nexus.submit`` put a ``QueuedRun`` on the DBOS runs queue; any
``nexus worker`` listening to it executes the run through the same engine path as
``nexus run`` (the top layer passes the executing function in as a ``QueuedRunner``).
The DBOS workflow id is ``run:<thread id>``, so submitting the same thread id twice
queues one run.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

WORKFLOW_PREFIX = "run:"
RUNS_QUEUE = "nexus_runs"
DEFAULT_RUN_CONCURRENCY = 8

QueuedStatus = Literal[
    "queued", "running", "succeeded", "failed", "waiting_approval", "interrupted", "cancelled", "busy"
]


class QueuedRun(BaseModel):
    """One submitted run: which graph, with what, under which thread id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    graph: str = Field(min_length=1, max_length=100)
    thread_id: str = Field(min_length=1, max_length=200)
    period: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    unattended: bool = False

    @property
    def workflow_id(self) -> str:
        return workflow_id(self.thread_id)


class QueuedOutcome(BaseModel):
    """Where a submitted run ended (the DBOS workflow's output)."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    graph: str
    status: QueuedStatus
    error: str | None = None
    attempts: int = 0
    worker: str | None = None  # the executor id of the worker that finished it
    finished_at: datetime | None = None


class Submission(BaseModel):
    """What ``submit`` returns: the run's id and where it stands now."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    graph: str
    period: str
    workflow_id: str
    status: QueuedStatus
    already_submitted: bool = False
    outcome: QueuedOutcome | None = None


@runtime_checkable
class QueuedRunner(Protocol):
    """Execute ``run`` (start it, or resume it where its checkpoint stopped)."""

    async def __call__(self, run: QueuedRun) -> QueuedOutcome: ...


def workflow_id(thread_id: str) -> str:
    return WORKFLOW_PREFIX + thread_id


def derived_thread_id(graph: str, period: str, inputs: dict[str, Any]) -> str:
    """The thread id of a submission that names none: the same graph, period and inputs
    give the same id, so a repeated submission is the same run."""
    canonical = json.dumps(
        {"graph": graph, "period": period, "inputs": inputs},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    return f"{graph}:{period}:{digest}"
