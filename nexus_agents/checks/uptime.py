"""Incident detection from synthetic uptime checks (Infrastructure Maintainer, continuous).

A service is failing when its most recent check in the look-back window failed. Every
checked service failing means the product is down (P0 by the severity table); any one
failing is a major feature broken (P1). Triage may raise either, never lower it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from nexus_agents.checks._window import fmt, local_now, open_workspace
from nexus_agents.schedule.jobs import Trigger

if TYPE_CHECKING:
    from nexus_agents.data.workspace import Workspace
    from nexus_agents.schedule.checks import CheckContext

__all__ = ["LOOKBACK", "detect_incident", "find_incident"]

LOOKBACK = timedelta(minutes=15)


def find_incident(workspace: Workspace, now: datetime) -> Trigger | None:
    """A trigger when a service's latest uptime check (within ``LOOKBACK``) failed."""
    from nexus_agents.data.rows import UptimeCheckRow, read_rows

    if not workspace.has("uptime_checks"):
        return None
    end = local_now(workspace, now)
    start = end - LOOKBACK
    rows = read_rows(
        workspace, "uptime_checks", where="checked_at > ? AND checked_at <= ?", params=[start, end]
    )
    latest: dict[str, UptimeCheckRow] = {}
    failures: dict[str, int] = {}
    for row in rows:
        assert isinstance(row, UptimeCheckRow)
        if row.service not in latest or row.checked_at >= latest[row.service].checked_at:
            latest[row.service] = row
        if not row.ok:
            failures[row.service] = failures.get(row.service, 0) + 1
    down = sorted(s for s, row in latest.items() if not row.ok)
    if not down:
        return None
    everything = len(down) == len(latest)
    since = min(latest[s].checked_at for s in down)
    summary = (
        f"all {len(latest)} checked service(s) failing" if everything else f"failing: {', '.join(down)}"
    )
    return Trigger(
        kind="incident",
        summary=f"{summary} (uptime checks since {fmt(since)})",
        severity="P0" if everything else "P1",
        details={
            "source": "uptime_checks",
            "services_down": down,
            "services_checked": sorted(latest),
            "failed_checks": {s: failures[s] for s in down},
            "first_failure_seen": since.isoformat(),
            "window_minutes": int(LOOKBACK.total_seconds() // 60),
        },
    )


def detect_incident(ctx: CheckContext) -> Trigger | None:
    """The ``incident-detection`` job's check."""
    return find_incident(open_workspace(ctx), ctx.now)
