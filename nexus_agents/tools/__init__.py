"""Deterministic tools; importing this package registers every built-in tool."""

from nexus_agents.tools import kpis  # noqa: F401
