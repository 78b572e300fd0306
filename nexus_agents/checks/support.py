"""First-response SLA watch over open support tickets (Support Responder, continuous).

A ticket breaches when it has waited longer than the SLA (4 hours) for a first response
and is not resolved (``tools.sla.waiting_past_sla``, shared with the alert's facts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nexus_agents.checks._window import local_now, open_workspace
from nexus_agents.schedule.jobs import Trigger
from nexus_agents.tools.kpis import SLA_FIRST_RESPONSE_HOURS
from nexus_agents.tools.sla import waiting_past_sla

if TYPE_CHECKING:
    from nexus_agents.schedule.checks import CheckContext

__all__ = ["first_response_sla"]


def first_response_sla(ctx: CheckContext) -> Trigger | None:
    """A trigger listing the tickets waiting past the first-response SLA."""
    from nexus_agents.data.rows import ticket_rows

    workspace = open_workspace(ctx)
    if not workspace.has("tickets"):
        return None
    now = local_now(workspace, ctx.now)
    waiting = waiting_past_sla(ticket_rows(workspace), now, SLA_FIRST_RESPONSE_HOURS)
    if not waiting:
        return None
    oldest_hours = round((now - waiting[0].created_at).total_seconds() / 3600, 1)
    return Trigger(
        kind="sla_breach",
        summary=(
            f"{len(waiting)} ticket(s) without a first response for more than "
            f"{SLA_FIRST_RESPONSE_HOURS:g} h (oldest {oldest_hours:g} h)"
        ),
        details={
            "sla_hours": SLA_FIRST_RESPONSE_HOURS,
            "tickets": [t.id for t in waiting],
            "oldest_hours": oldest_hours,
        },
    )
