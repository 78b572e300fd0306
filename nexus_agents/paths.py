"""Where shipped resources (prompts, graph specs, demo recordings) live.

In a wheel they sit in ``nexus_agents/_shipped``; in a source checkout (editable
install) they are the top-level ``prompts/`` and ``graphs/`` folders.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def shipped_dir(name: str) -> Path:
    """Return the shipped folder ``name`` (``prompts`` or ``graphs``)."""
    packaged = _PACKAGE_DIR / "_shipped" / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE_DIR.parent / name


def package_data(*parts: str) -> Path:
    """A data file that lives inside the package itself (always shipped)."""
    return _PACKAGE_DIR.joinpath(*parts)
