"""``package.module:attribute`` references to user code: graph call steps, continuous
checks, eval targets and mock-server responders all name a function this way."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Literal

__all__ = ["RefError", "RefProblem", "resolve_ref"]

RefProblem = Literal["form", "module", "attribute", "callable"]


class RefError(ValueError):
    """A reference that does not resolve; ``problem`` says which part failed and, for
    ``"module"``, ``import_error`` is what the import raised."""

    def __init__(
        self,
        ref: str,
        problem: RefProblem,
        message: str,
        import_error: ImportError | None = None,
    ) -> None:
        super().__init__(message)
        self.ref = ref
        self.problem = problem
        self.import_error = import_error
        self.module, _, self.attr = ref.partition(":")


def resolve_ref(ref: str) -> Callable[..., Any]:
    """Import ``package.module`` and return its callable ``attribute``."""
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise RefError(ref, "form", f"{ref!r} is not of the form package.module:function")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        message = f"cannot import module {module_name!r} ({exc})"
        raise RefError(ref, "module", message, exc) from exc
    value = getattr(module, attr, None)
    if value is None:
        raise RefError(ref, "attribute", f"module {module_name!r} has no attribute {attr!r}")
    if not callable(value):
        raise RefError(ref, "callable", f"{ref} is not callable")
    return value  # type: ignore[no-any-return]
