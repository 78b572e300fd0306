"""A small JSON-path subset for eval assertions.

Supported: ``$`` (the root), ``.name``, ``['name']`` / ``["name"]``, ``[0]`` and
negative indexes ``[-1]``, and the wildcards ``[*]`` / ``.*`` (every item of a list,
every value of an object). Filters, slices and recursive descent are not supported.

A path without a wildcard selects at most one value; a path with one selects a list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_INDEX = re.compile(r"\[(-?\d+)\]")
_QUOTED = re.compile(r"\[(?:'([^']*)'|\"([^\"]*)\")\]")


class JsonPathError(ValueError):
    """The path text is not in the supported subset."""


@dataclass(frozen=True, slots=True)
class _Key:
    name: str


@dataclass(frozen=True, slots=True)
class _Index:
    index: int


@dataclass(frozen=True, slots=True)
class _Wildcard:
    pass


_Segment = _Key | _Index | _Wildcard


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A parsed path; ``find`` returns every value it selects (possibly none)."""

    text: str
    segments: tuple[_Segment, ...]

    @property
    def has_wildcard(self) -> bool:
        return any(isinstance(s, _Wildcard) for s in self.segments)

    def find(self, document: Any) -> list[Any]:
        current = [document]
        for segment in self.segments:
            current = [v for node in current for v in _step(node, segment)]
        return current


def parse_path(text: str) -> JsonPath:
    """Parse ``text`` or raise ``JsonPathError`` naming the offending position."""
    if not text.startswith("$"):
        raise JsonPathError(f"path {text!r} must start with '$'")
    segments: list[_Segment] = []
    pos = 1
    while pos < len(text):
        rest = text[pos:]
        if rest.startswith(".*"):
            segments.append(_Wildcard())
            pos += 2
        elif rest.startswith("."):
            match = _IDENT.match(text, pos + 1)
            if match is None:
                raise JsonPathError(f"path {text!r}: expected a name after '.' at {pos}")
            segments.append(_Key(match.group(0)))
            pos = match.end()
        elif rest.startswith("[*]"):
            segments.append(_Wildcard())
            pos += 3
        elif (m := _INDEX.match(text, pos)) is not None:
            segments.append(_Index(int(m.group(1))))
            pos = m.end()
        elif (m := _QUOTED.match(text, pos)) is not None:
            segments.append(_Key(m.group(1) if m.group(1) is not None else m.group(2)))
            pos = m.end()
        else:
            raise JsonPathError(f"path {text!r}: unexpected {rest[:10]!r} at {pos}")
    return JsonPath(text, tuple(segments))


def _step(node: Any, segment: _Segment) -> list[Any]:
    if isinstance(segment, _Key):
        if isinstance(node, dict) and segment.name in node:
            return [node[segment.name]]
        return []
    if isinstance(segment, _Index):
        if isinstance(node, list) and -len(node) <= segment.index < len(node):
            return [node[segment.index]]
        return []
    if isinstance(node, list):
        return list(node)
    if isinstance(node, dict):
        return list(node.values())
    return []
