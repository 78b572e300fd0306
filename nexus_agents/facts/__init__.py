"""Facts builders: for each artifact kind, the code that gathers its numbers.

A builder receives a ``FactsContext`` (workspace, period, as-of, the run's state) and
returns a ``FactBundle`` whose ``facts`` validate against the artifact's facts model.
Builders call the deterministic tools and data loaders; they never call a model.
``prepare_facts`` is the one way in: an agent step, the lookahead and ``Nexus.ask`` all
build their facts through it.

Register one with ``@facts_builder("sprint_plan")``. Built-in builders live in the
modules of this package, one per area, and are imported by ``builder_for``.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from nexus_agents.exceptions import UnknownNameError
from nexus_agents.facts.bundle import FactBundle
from nexus_agents.periods import Period

if TYPE_CHECKING:
    from nexus_agents.data.workspace import Workspace

__all__ = [
    "FactBundle",
    "FactsContext",
    "LoopBoundStore",
    "builder_for",
    "facts_builder",
    "known_builders",
    "prepare_facts",
]

# Modules of this package holding built-in builders (imported on first lookup).
_BUILTIN_MODULES: tuple[str, ...] = (
    "daily",
    "weekly",
    "biweekly",
    "delivery",
    "monthly",
    "platform",
    "quarterly",
    "incidents",
    "preconditions",
    "support",
)


@dataclass
class FactsContext:
    """What a builder may look at. ``state`` is the graph state (values, artifacts, inputs)."""

    workspace: Workspace
    period: Period
    as_of: datetime
    state: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    attempt: int | None = None
    max_attempts: int | None = None
    store: LoopBoundStore | None = None  # the run store, bound to its event loop
    step_id: str | None = None

    @property
    def values(self) -> dict[str, Any]:
        return dict(self.state.get("values") or {})

    @property
    def inputs(self) -> dict[str, Any]:
        return dict(self.state.get("inputs") or {})

    def artifact(self, step_id: str) -> dict[str, Any] | None:
        """The JSON of the artifact produced by ``step_id`` earlier in this run, if any."""
        found = (self.state.get("artifacts") or {}).get(step_id)
        return dict(found) if found else None


Builder = Callable[[FactsContext], FactBundle]
_BUILDERS: dict[str, Builder] = {}


def facts_builder(kind: str) -> Callable[[Builder], Builder]:
    def register(func: Builder) -> Builder:
        _BUILDERS[kind] = func
        return func

    return register


_loaded = False


def _load_builtins() -> None:
    global _loaded
    if _loaded:  # import_module takes the import lock even for a loaded module
        return
    for name in _BUILTIN_MODULES:
        importlib.import_module(f"nexus_agents.facts.{name}")
    _loaded = True


def builder_for(kind: str) -> Builder:
    _load_builtins()
    try:
        return _BUILDERS[kind]
    except KeyError:
        raise UnknownNameError("facts builder", kind, list(_BUILDERS)) from None


def prepare_facts(
    workspace: Workspace,
    kind: str,
    period: Period,
    as_of: datetime,
    state: Mapping[str, Any],
    *,
    options: Mapping[str, Any] | None = None,
    step_id: str | None = None,
    attempt: int | None = None,
    max_attempts: int | None = None,
    store: Any = None,
) -> FactBundle:
    """The facts of one ``kind`` artifact for ``period`` as of ``as_of``, from the run's
    ``state`` and the step's ``options`` (``store``: the run store, as the builder's
    thread may use it, e.g. a ``LoopBoundStore``)."""
    return builder_for(kind)(
        FactsContext(
            workspace=workspace,
            period=period,
            as_of=as_of,
            state=dict(state),
            options=dict(options or {}),
            attempt=attempt,
            max_attempts=max_attempts,
            store=store,
            step_id=step_id,
        )
    )


def known_builders() -> list[str]:
    _load_builtins()
    return sorted(_BUILDERS)


class LoopBoundStore:
    """A run store as seen by a facts builder running in a worker thread.

    Its coroutines run on the store's own event loop (its connection belongs there); the
    builder's thread waits for the result. On that loop's thread it hands back the
    coroutine itself, for the caller to await.
    """

    def __init__(self, store: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._store = store
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        member = getattr(self._store, name)
        if not asyncio.iscoroutinefunction(member):
            return member

        def call(*args: Any, **kwargs: Any) -> Any:
            coro = member(*args, **kwargs)
            try:
                on_loop = asyncio.get_running_loop() is self._loop
            except RuntimeError:
                on_loop = False
            if on_loop:
                return coro
            return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

        return call
