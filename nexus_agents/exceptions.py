"""Every error nexus_agents raises on purpose derives from ``NexusError``.

Each one carries enough context (file, row, field, agent, step) to be read by a person
without a traceback. Two families keep apart what the user has to fix (then retries)
from what went wrong while a run was executing::

    NexusError
    ├── UserError                  the user's input is wrong; fix it and try again
    │   ├── ConfigError            a setting or environment variable
    │   ├── DataError              a workspace data file (file, line, column)
    │   ├── SpecError              a prompt file, graph spec or eval case (file, item)
    │   ├── UnknownNameError       an agent, tool, artifact, graph or job name (also KeyError)
    │   ├── InputError             an argument of a command or API call (also ValueError)
    │   └── CheckError             a continuous check (schedule.checks)
    ├── RunError                   a run could not go on
    │   ├── ModelError             a model call failed after its retries
    │   │   └── StructuredOutputError  the answer still broke the schema or a rule
    │   ├── BudgetExceededError    a run limit (calls, tokens, cost) was hit
    │   ├── RunBusyError           another process holds the run's lease
    │   ├── ApprovalError          a decision the pending approval does not take (also ValueError)
    │   ├── StepFailedError        a step raised (names the step and the cause)
    │   └── PromptTooLargeError    a step's prompt exceeds its limit
    └── ScriptError                a test's ScriptedModel was misused (also AssertionError)

A bare ``ValueError`` stays only where pydantic or the repair loop catches it: in
validators and in the artifact rule checks, where it becomes a validation problem.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nexus_agents.llm.interface import Usage


class NexusError(Exception):
    """Base of all errors raised by nexus_agents."""


class UserError(NexusError):
    """Something the user gave (settings, files, names, arguments) is wrong."""


class RunError(NexusError):
    """A run (or one of its steps) could not go on."""


class ConfigError(UserError):
    """Configuration is missing or invalid (names the setting or variable to fix)."""


class DataError(UserError):
    """A workspace data file is malformed.

    ``line`` is 1-based and counts the header line of a CSV file; ``column`` is the
    column name (or the JSON key for JSON Lines files).
    """

    def __init__(
        self,
        file: str,
        message: str,
        *,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.reason = message
        where = file
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")


class SpecError(UserError):
    """A prompt file, graph spec or eval case is invalid (names file, item and field)."""

    def __init__(self, file: str, message: str, *, item: str | None = None) -> None:
        self.file = file
        self.item = item
        self.reason = message
        where = file if item is None else f"{file} [{item}]"
        super().__init__(f"{where}: {message}")


class UnknownNameError(UserError, KeyError):
    """A name (agent, tool, artifact, graph, job) did not resolve."""

    def __init__(self, kind: str, name: str, known: list[str] | None = None) -> None:
        self.kind = kind
        self.name = name
        hint = ""
        if known:
            hint = "; known: " + ", ".join(sorted(known))
        super().__init__(f"unknown {kind} {name!r}{hint}")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class InputError(UserError, ValueError):
    """An argument of a command or API call is invalid (a period label, a cron
    expression, a number out of range). A ``ValueError`` too, so pydantic validators that
    call the same parsers keep reporting it as a validation error."""


class CheckError(UserError):
    """A check could not be loaded or did not return None / a trigger."""


class ModelError(RunError):
    """A model call failed in a way retries could not fix.

    ``usage`` and ``calls`` are what the failed exchange spent before it gave up (set by
    the structured-output loop), so the calls of a failed step are still counted.
    """

    def __init__(
        self,
        message: str,
        *,
        agent: str | None = None,
        status: int | None = None,
        usage: Usage | None = None,
        calls: int = 0,
    ) -> None:
        self.agent = agent
        self.status = status
        self.usage = usage
        self.calls = calls
        prefix = f"agent {agent}: " if agent else ""
        super().__init__(prefix + message)


class StructuredOutputError(ModelError):
    """The model's output still had problems after the repair rounds.

    ``errors`` lists every problem; ``rule_errors`` those that broke a rule the answer
    had to follow (a schema-valid answer can break one), ``schema_errors`` the rest (not
    JSON, a missing field, a wrong type). The message says which kind it was.
    """

    def __init__(
        self,
        agent: str | None,
        errors: list[str],
        raw: str | None = None,
        *,
        rule_errors: list[str] | None = None,
        usage: Usage | None = None,
        calls: int = 0,
    ) -> None:
        self.errors = errors
        self.raw = raw
        self.rule_errors = [e for e in rule_errors or [] if e in errors]
        self.schema_errors = [e for e in errors if e not in self.rule_errors]
        parts: list[str] = []
        if self.schema_errors:
            parts.append("output did not match the schema: " + listed(self.schema_errors))
        if self.rule_errors:
            lead = "and it broke a rule: " if parts else "output broke a rule: "
            parts.append(lead + listed([e.removeprefix("rule: ") for e in self.rule_errors]))
        super().__init__(
            "; ".join(parts) or "output was invalid", agent=agent, usage=usage, calls=calls
        )


def listed(errors: list[str], limit: int = 5) -> str:
    """The first ``limit`` problems joined by '; ', with how many more there are."""
    more = f" (+{len(errors) - limit} more)" if len(errors) > limit else ""
    return "; ".join(errors[:limit]) + more


class BudgetExceededError(RunError):
    """A run hit one of its limits (model calls, tokens, cost)."""


class RunBusyError(RunError):
    """A run is being executed by another process or task (it holds the run's lease)."""

    def __init__(
        self, run_id: str, *, host: str, pid: int, since: str, expires_at: str
    ) -> None:
        self.run_id = run_id
        self.host = host
        self.pid = pid
        self.since = since
        self.expires_at = expires_at
        super().__init__(
            f"run {run_id!r} is already being executed by pid {pid} on host {host!r} since"
            f" {since}; not started a second time. If that process is gone, its lease is"
            f" taken over at once on the same host, or after {expires_at} from another host."
        )


class ApprovalError(RunError, ValueError):
    """A decision that the pending approval does not accept (or no approval is pending)."""


class StepFailedError(RunError):
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


class PromptTooLargeError(RunError):
    """The user message would exceed ``PromptLimits.prompt_chars``."""


class ScriptError(NexusError, AssertionError):
    """A ScriptedModel got a call it did not expect, or was left with unplayed responses."""
