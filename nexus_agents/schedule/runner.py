"""The job runner seam: what actually produces a period's artifact.

The engine calls a ``JobRunner`` for one (job, period). The scheduler never reaches up for
one: the top layer passes it in (``nexus_agents.api.default_runner``, the workspace's
``Nexus.arun_job``, for ``nexus worker``); tests and embedders inject their own.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from nexus_agents.periods import Period
from nexus_agents.schedule.jobs import CadenceJob, JobOutcome


@runtime_checkable
class JobRunner(Protocol):
    """Run ``job`` for ``period`` under the idempotent ``thread_id`` (``JOB:PERIOD``)."""

    async def __call__(self, job: CadenceJob, period: Period, thread_id: str) -> JobOutcome: ...

