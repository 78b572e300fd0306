"""Facts of the continuous support watch: the tickets breaching the first-response SLA."""

from __future__ import annotations

from nexus_agents.facts import FactsContext, facts_builder
from nexus_agents.facts.bundle import FactBundle, UntrustedText
from nexus_agents.facts.daily import ticket_rows_for, window_end
from nexus_agents.tools.kpis import SLA_FIRST_RESPONSE_HOURS
from nexus_agents.tools.sla import waiting_past_sla

__all__ = ["sla_breach_alert"]

_LISTED = 50  # breaching tickets listed in the facts (all are counted)


@facts_builder("sla_breach_alert")
def sla_breach_alert(ctx: FactsContext) -> FactBundle:
    """Unanswered, unresolved tickets waiting longer than the SLA at the check's moment."""
    as_of = window_end(ctx.period, ctx.as_of)
    rows = [r for r in ticket_rows_for(ctx) if r.created_at <= as_of]
    open_rows = [r for r in rows if r.resolved_at is None or r.resolved_at > as_of]
    breaching = waiting_past_sla(rows, as_of, SLA_FIRST_RESPONSE_HOURS)
    waited = [round((as_of - r.created_at).total_seconds() / 3600, 2) for r in breaching]
    facts = {
        "as_of": as_of.isoformat(timespec="minutes"),
        "sla_hours": SLA_FIRST_RESPONSE_HOURS,
        "open_tickets": len(open_rows),
        "breaching_count": len(breaching),
        "oldest_waited_hours": waited[0] if waited else None,
        "breaching": [
            {
                "id": r.id,
                "created_at": r.created_at.isoformat(timespec="minutes"),
                "waited_hours": hours,
                "priority": r.priority,
                "channel": r.channel,
            }
            for r, hours in list(zip(breaching, waited, strict=True))[:_LISTED]
        ],
    }
    context = {
        "sla_rule": f"first response within {SLA_FIRST_RESPONSE_HOURS:g} h; a ticket neither "
        "answered nor resolved after that is breaching",
    }
    untrusted = [
        UntrustedText(source="ticket", id=r.id, text=r.subject or "")
        for r in breaching[:_LISTED]
        if r.subject
    ]
    guidance = [
        "Answer the oldest and highest-priority breaching tickets first; name an owner.",
        "No breaching tickets: say so and propose nothing.",
    ]
    return FactBundle(facts=facts, context=context, guidance=guidance, untrusted=untrusted)
