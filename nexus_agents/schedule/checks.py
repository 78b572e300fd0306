"""Continuous checks: cheap functions that say whether anything is wrong right now.

A check is named ``package.module:function`` in ``cadences.yaml``. It receives a
``CheckContext`` and returns ``None`` (all fine), a ``Trigger`` or a dict shaped like one;
it may be sync or async. Only a trigger starts the job's graph.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from nexus_agents._refs import RefError, resolve_ref
from nexus_agents.exceptions import CheckError
from nexus_agents.periods import Period
from nexus_agents.schedule.jobs import CadenceJob, Trigger


class CheckContext(BaseModel):
    """What a check is told about the moment it runs in."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    job: CadenceJob
    period: Period
    workspace: Path
    now: datetime


CheckFn = Callable[[CheckContext], "Trigger | Mapping[str, Any] | Awaitable[Any] | None"]


def resolve_check(ref: str, overrides: Mapping[str, CheckFn] | None = None) -> CheckFn:
    """The function named ``module:function`` (``overrides`` win, for tests and embedders)."""
    if overrides and ref in overrides:
        return overrides[ref]
    try:
        return resolve_ref(ref)
    except RefError as exc:
        cause = exc.import_error
        if isinstance(cause, ModuleNotFoundError):
            raise CheckError(f"check {ref!r}: module {cause.name!r} not found") from None
        if cause is not None:
            raise cause from None  # the module exists but fails to import: its own error
        if exc.problem == "form":
            raise CheckError(f"check {ref!r}: not of the form package.module:function") from None
        raise CheckError(f"check {ref!r}: {exc.module} has no function {exc.attr!r}") from None


async def run_check(fn: CheckFn, context: CheckContext) -> Trigger | None:
    """Call ``fn`` and validate what it returned."""
    result = fn(context)
    if inspect.isawaitable(result):
        result = await result
    if result is None or isinstance(result, Trigger):
        return result
    if isinstance(result, Mapping):
        try:
            return Trigger.model_validate(dict(result))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            raise CheckError(
                f"check for job {context.job.id!r} returned a bad trigger: field {field!r}: {err['msg']}"
            ) from None
    raise CheckError(
        f"check for job {context.job.id!r} returned {type(result).__name__}; expected None or a Trigger"
    )
