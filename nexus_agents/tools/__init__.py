"""Deterministic tools; importing this package registers every built-in tool."""

from nexus_agents.tools import (
    finance,  # noqa: F401
    funnel,  # noqa: F401
    kpis,  # noqa: F401
    retention,  # noqa: F401
    rice,  # noqa: F401
    severity,  # noqa: F401
    sla,  # noqa: F401
    stats,  # noqa: F401
    themes,  # noqa: F401
)
