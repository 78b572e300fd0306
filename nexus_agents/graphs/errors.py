"""Errors raised while a compiled graph runs (defined with the others in ``exceptions``)."""

from __future__ import annotations

from nexus_agents.exceptions import ApprovalError, StepFailedError

__all__ = ["ApprovalError", "StepFailedError"]
