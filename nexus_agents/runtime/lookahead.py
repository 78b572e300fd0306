"""Facts lookahead: when a run starts, build the facts of the graph's agent steps in a
background thread, while the engine opens, earlier steps run and models answer.

Facts builders keep their data work (KPI reports, funnels, cohorts, themes) in the
workspace's memo, so an early build from the state known at that moment leaves those
parts ready; each step still builds its own facts, from the state it really gets, when it
runs. A builder that needs something only a later state has simply fails here, silently.
The lookahead runs once per graph, period, moment and data version: when those match an
earlier one (the same run announced twice, or an equal run), the memo is warm already and
nothing is started.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Hashable
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nexus_agents.agents.roster import Roster
    from nexus_agents.data.workspace import Workspace
    from nexus_agents.graphs.spec import AgentStep
    from nexus_agents.periods import Period

__all__ = ["FactsLookahead"]

logger = logging.getLogger(__name__)
REMEMBERED = 256  # lookahead keys kept to recognise repeats


class FactsLookahead:
    """Starts early facts builds for the agent steps of a run."""

    def __init__(self, workspace: Workspace, roster: Roster) -> None:
        self.workspace = workspace
        self.roster = roster
        self._done: OrderedDict[Hashable, None] = OrderedDict()

    def start(
        self,
        graph: str,
        steps: tuple[AgentStep, ...],
        state: dict[str, Any],
        period: Period,
        as_of: datetime,
    ) -> asyncio.Future[None] | None:
        """Build the facts of ``steps`` in a thread, unless an equal run (same graph,
        period, moment and data) already did; returns the background job (callers need
        not wait for it)."""
        if not steps:
            return None
        key = (graph, period.label, as_of, self.workspace.data_signature())
        if not _remember(self._done, key):
            return None
        loop = asyncio.get_running_loop()
        job = loop.run_in_executor(None, self._build, steps, dict(state), period, as_of)
        job.add_done_callback(_quiet)
        return job

    def _build(
        self, steps: tuple[AgentStep, ...], state: dict[str, Any], period: Period, as_of: datetime
    ) -> None:
        from nexus_agents.data.context import use_workspace
        from nexus_agents.facts import prepare_facts
        from nexus_agents.graphs.agent_from_input import resolve_step

        workspace = self.workspace
        with use_workspace(workspace), workspace.pinned():
            for step in steps:
                try:
                    resolved = resolve_step(step, state)
                    kind = resolved.output or self.roster.get(resolved.agent).output
                    prepare_facts(
                        workspace,
                        kind,
                        period,
                        as_of,
                        state,
                        options=resolved.options,
                        step_id=resolved.id,
                    )
                except Exception as exc:
                    logger.debug("facts lookahead for step %s: %s", step.id, exc)


def _remember(seen: OrderedDict[Any, None], key: Hashable) -> bool:
    """Record ``key``; False when it was there already."""
    if key in seen:
        return False
    seen[key] = None
    while len(seen) > REMEMBERED:
        seen.popitem(last=False)
    return True


def _quiet(job: asyncio.Future[None]) -> None:
    if not job.cancelled():
        job.exception()  # retrieved: a failure here is never the run's failure
