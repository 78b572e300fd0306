"""Generic Markdown rendering of any artifact.

Layout: a title heading, a provenance line, a "Facts" section (scalars as bullets, lists
of records as tables) and one section per narrative field. Artifacts with derived values
pass them as ``derived`` so they show up in a "Decision" section.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from nexus_agents.artifacts.base import AnyArtifact


def label(name: str) -> str:
    """``first_response_hours`` -> ``First response hours``."""
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def fmt(value: Any) -> str:
    """A scalar as short text (floats without noise, booleans as yes/no, None as n/a)."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:,.4g}" if abs(value) >= 1e4 else f"{value:.4g}"
    if isinstance(value, BaseModel):
        return "; ".join(f"{label(k)}: {fmt(v)}" for k, v in _items(value))
    if isinstance(value, list):
        return ", ".join(fmt(v) for v in value) if value else "none"
    return str(value).replace("\n", " ") if isinstance(value, str) else str(value)


def _items(model: BaseModel) -> list[tuple[str, Any]]:
    return [(name, getattr(model, name)) for name in type(model).model_fields]


def _cell(value: Any) -> str:
    return fmt(value).replace("|", "\\|")


def table(rows: list[BaseModel]) -> str:
    """A Markdown table with one column per field of the first row's model."""
    if not rows:
        return "_none_"
    columns = list(type(rows[0]).model_fields)
    out = [
        "| " + " | ".join(label(c) for c in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    for row in rows:
        out.append("| " + " | ".join(_cell(getattr(row, c, None)) for c in columns) + " |")
    return "\n".join(out)


def _block(value: Any) -> str:
    """A narrative or fact value rendered as a Markdown block."""
    if isinstance(value, list):
        if not value:
            return "_none_"
        if all(isinstance(v, BaseModel) for v in value):
            return table(value)
        return "\n".join(f"- {fmt(v)}" for v in value)
    if isinstance(value, BaseModel):
        return "\n".join(f"- **{label(k)}**: {fmt(v)}" for k, v in _items(value))
    if isinstance(value, str):
        return value if value.strip() else "_none_"
    return f"**{fmt(value)}**"


def render_markdown(artifact: AnyArtifact, *, derived: Mapping[str, Any] | None = None) -> str:
    """Render ``artifact`` as Markdown."""
    parts: list[str] = [f"# {artifact.title}"]
    meta = [f"{label(k)}: {v}" for k, v in _items(artifact.meta) if v is not None]
    if meta:
        parts.append("_" + " · ".join(meta) + "_")

    scalars: list[str] = []
    blocks: list[str] = []
    for name, value in _items(artifact.facts):
        if isinstance(value, list) and value and all(isinstance(v, BaseModel) for v in value):
            blocks.append(f"### {label(name)}\n\n{table(value)}")
        elif isinstance(value, BaseModel):
            blocks.append(f"### {label(name)}\n\n{_block(value)}")
        else:
            scalars.append(f"- **{label(name)}**: {fmt(value)}")
    if scalars or blocks:
        parts.append("## Facts")
        if scalars:
            parts.append("\n".join(scalars))
        parts.extend(blocks)

    if derived:
        parts.append("## Decision")
        parts.append("\n".join(f"- **{k}**: {fmt(v)}" for k, v in derived.items()))

    for name, value in _items(artifact.narrative):
        if value is None:
            continue
        parts.append(f"## {label(name)}\n\n{_block(value)}")
    return "\n\n".join(parts) + "\n"


def render_stored(data: Mapping[str, Any]) -> str | None:
    """Markdown of an artifact stored as JSON (``facts``, ``narrative``, ``meta`` and its
    ``kind``); None when the kind is unknown or the JSON no longer fits its model."""
    from pydantic import ValidationError

    from nexus_agents.artifacts.registry import get_artifact
    from nexus_agents.exceptions import UnknownNameError

    kind = data.get("kind")
    if not isinstance(kind, str):
        return None
    try:
        cls = get_artifact(kind)
        artifact = cls.model_validate({k: data[k] for k in cls.model_fields if k in data})
    except (UnknownNameError, ValidationError):
        return None
    return artifact.to_markdown()
