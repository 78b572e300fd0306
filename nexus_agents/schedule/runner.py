"""The job runner seam: what actually produces a period's artifact.

The engine calls a ``JobRunner`` for one (job, period); the default one hands the job to
the graph engine (``Nexus.arun_job``). Tests and embedders inject their own.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Protocol, runtime_checkable

from nexus_agents.exceptions import NexusError
from nexus_agents.periods import Period
from nexus_agents.schedule.jobs import CadenceJob, JobOutcome


@runtime_checkable
class JobRunner(Protocol):
    """Run ``job`` for ``period`` under the idempotent ``thread_id`` (``JOB:PERIOD``)."""

    async def __call__(self, job: CadenceJob, period: Period, thread_id: str) -> JobOutcome: ...


def default_runner(workspace: str | Path) -> JobRunner:
    """The graph engine's runner for ``workspace`` (``Nexus.from_workspace(ws).arun_job``).

    Raises ``NexusError("graph engine not available ...")`` while ``nexus_agents.api`` or
    ``Nexus.arun_job`` does not exist.
    """
    try:
        api = importlib.import_module("nexus_agents.api")
    except ModuleNotFoundError as exc:
        if exc.name != "nexus_agents.api":
            raise
        raise NexusError("graph engine not available: nexus_agents.api is missing") from None
    nexus_cls = getattr(api, "Nexus", None)
    if nexus_cls is None or not hasattr(nexus_cls, "from_workspace"):
        raise NexusError("graph engine not available: nexus_agents.api has no Nexus.from_workspace")
    if not hasattr(nexus_cls, "arun_job"):
        raise NexusError("graph engine not available: Nexus.arun_job is not implemented")
    nexus = nexus_cls.from_workspace(Path(workspace))
    runner: JobRunner = nexus.arun_job
    return runner
