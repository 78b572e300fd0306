"""Errors raised while a compiled graph runs."""

from __future__ import annotations

from nexus_agents.exceptions import NexusError

__all__ = ["ApprovalError", "StepFailedError"]


class StepFailedError(NexusError):
    """A step raised; the message names the step and the cause."""

    def __init__(self, step: str, cause: BaseException | str) -> None:
        self.step = step
        if isinstance(cause, BaseException):
            reason = str(cause) or type(cause).__name__
            if not isinstance(cause, NexusError):
                reason = f"{type(cause).__name__}: {reason}"
        else:
            reason = cause
        self.reason = reason
        super().__init__(f"step {step!r} failed: {reason}")


class ApprovalError(NexusError, ValueError):
    """A decision that the pending approval does not accept (or no approval is pending)."""
