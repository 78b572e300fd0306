"""Find artifact classes by kind (``sprint_plan``) or title (``Sprint Plan``).

Lookup is case-insensitive and ignores punctuation, so ``"bi-weekly insights report"``,
``"Bi-Weekly Insights Report"`` and ``"bi_weekly_insights_report"`` all resolve.
"""

from __future__ import annotations

import importlib
import re

from nexus_agents.artifacts.base import AnyArtifact, Artifact
from nexus_agents.exceptions import SpecError, UnknownNameError

__all__ = ["all_artifacts", "get_artifact", "normalize_name", "register_artifact"]

_BUILTIN_MODULES = (
    "reports_daily",
    "reports_weekly",
    "reports_biweekly",
    "reports_monthly",
    "reports_quarterly",
    "handoffs",
    "incidents",
    "delivery",
    "support",
)

_BY_KIND: dict[str, type[AnyArtifact]] = {}
_BY_KEY: dict[str, type[AnyArtifact]] = {}
_loaded = False


def normalize_name(name: str) -> str:
    """Lower-case, with every run of non-alphanumerics turned into one underscore."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def register_artifact(cls: type[AnyArtifact]) -> type[AnyArtifact]:
    """Add an artifact class (usable as a decorator for user-defined artifacts)."""
    kind = cls.__dict__.get("kind")
    title = cls.__dict__.get("title")
    if not isinstance(kind, str) or not isinstance(title, str):
        raise SpecError(cls.__qualname__, "an artifact class needs 'kind' and 'title'")
    if kind != normalize_name(kind):
        raise SpecError(cls.__qualname__, f"kind {kind!r} must be a snake_case slug")
    for key in {kind, normalize_name(title)}:
        other = _BY_KEY.get(key)
        if other is not None and other is not cls:
            raise SpecError(cls.__qualname__, f"{key!r} is already used by {other.__qualname__}")
    _BY_KIND[kind] = cls
    _BY_KEY[kind] = cls
    _BY_KEY[normalize_name(title)] = cls
    return cls


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name in _BUILTIN_MODULES:
        module = importlib.import_module(f"nexus_agents.artifacts.{name}")
        for attr in getattr(module, "__all__", ()):
            obj = getattr(module, attr)
            if isinstance(obj, type) and issubclass(obj, Artifact) and "kind" in obj.__dict__:
                register_artifact(obj)


def get_artifact(kind_or_title: str) -> type[AnyArtifact]:
    """The artifact class with this kind or title (case-insensitive)."""
    _load_builtins()
    try:
        return _BY_KEY[normalize_name(kind_or_title)]
    except KeyError:
        raise UnknownNameError("artifact", kind_or_title, list(_BY_KIND)) from None


def all_artifacts() -> dict[str, type[AnyArtifact]]:
    """Every known artifact class by kind."""
    _load_builtins()
    return dict(_BY_KIND)
