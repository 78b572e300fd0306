"""Load the agent roster from ``prompts/*.md`` files.

The shipped prompts load first; each extra folder (usually ``<workspace>/prompts``)
loads after and shadows a shipped prompt with the same slug. Every file is validated:
YAML, required fields, the output artifact and cadence outputs (against the artifact
registry) and tool names (against the tool registry, or ``known_tools`` when given).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from nexus_agents._filecache import parsed
from nexus_agents._yaml import safe_load
from nexus_agents.agents.spec import AgentSpec, Origin
from nexus_agents.exceptions import SpecError, UnknownNameError

__all__ = ["Roster", "load_agent_file", "load_roster", "parse_prompt_file"]

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)(.*)\Z", re.DOTALL)


def _key(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def parse_prompt_file(path: Path) -> tuple[dict[str, Any], str]:
    """Split a prompt file into its front matter (a mapping) and its body."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(file, f"cannot read: {exc}") from None
    match = _FRONT_MATTER.match(text.lstrip("\ufeff"))
    if match is None:
        raise SpecError(file, "missing YAML front matter (a block between '---' lines)")
    try:
        data = safe_load(match.group(1))
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 2}"  # +1 for 1-based, +1 for the opening '---'
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(file, f"front matter is not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise SpecError(file, "front matter must be a mapping of fields")
    return data, match.group(2).strip()


def _field_of(error: Any) -> str:
    return ".".join(str(p) for p in error["loc"]) or "front matter"


def load_agent_file(
    path: str | Path,
    *,
    known_tools: Collection[str] | None = None,
    origin: Origin = "other",
) -> AgentSpec:
    """Load and validate one prompt file."""
    path = Path(path)
    file = str(path)
    data, body = parsed("prompt file", path, parse_prompt_file)
    if "system_prompt" in data:
        raise SpecError(
            file, "the system prompt is the body after the front matter", item="system_prompt"
        )
    try:
        spec = AgentSpec.model_validate(
            {**data, "system_prompt": body, "source": path, "origin": origin}
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        field = _field_of(err)
        message = "missing required field" if err["type"] == "missing" else err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        raise SpecError(file, message, item=field) from None
    _check_artifacts(spec, file)
    _check_tools(spec, file, known_tools)
    return spec


def _check_artifacts(spec: AgentSpec, file: str) -> None:
    from nexus_agents.artifacts.registry import get_artifact

    try:
        get_artifact(spec.output)
    except UnknownNameError as exc:
        raise SpecError(file, str(exc), item="output") from None
    for i, row in enumerate(spec.cadences):
        if row.output is None:
            continue
        try:
            get_artifact(row.output)
        except UnknownNameError as exc:
            raise SpecError(file, str(exc), item=f"cadences.{i}.output") from None


def _check_tools(spec: AgentSpec, file: str, known_tools: Collection[str] | None) -> None:
    if known_tools is None:
        from nexus_agents.tools.base import all_tools

        known_tools = set(all_tools())
    for i, name in enumerate(spec.tools):
        if name not in known_tools:
            known = ", ".join(sorted(known_tools)) or "none registered"
            raise SpecError(file, f"unknown tool {name!r}; known: {known}", item=f"tools.{i}")


class Roster:
    """The agents of a workspace, resolvable by display name, slug or alias."""

    def __init__(self, specs: Iterable[AgentSpec]) -> None:
        self._by_slug: dict[str, AgentSpec] = {}
        for spec in specs:
            self._by_slug[spec.slug] = spec
        self._index: dict[str, str] = {}
        for spec in self._by_slug.values():
            for name in spec.names:
                key = _key(name)
                owner = self._index.get(key)
                if owner is not None and owner != spec.slug:
                    raise SpecError(
                        str(spec.source or spec.slug),
                        f"name {name!r} is already used by agent {owner!r}",
                        item="aliases",
                    )
                self._index[key] = spec.slug

    def get(self, name: str) -> AgentSpec:
        """The agent called ``name`` (case-insensitive; display name, slug or alias)."""
        slug = self._index.get(_key(name))
        if slug is None:
            raise UnknownNameError("agent", name, list(self._by_slug))
        return self._by_slug[slug]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _key(name) in self._index

    def __iter__(self) -> Iterator[AgentSpec]:
        return iter(sorted(self._by_slug.values(), key=lambda s: s.slug))

    def __len__(self) -> int:
        return len(self._by_slug)

    @property
    def slugs(self) -> list[str]:
        return sorted(self._by_slug)


def _prompt_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.md") if p.is_file() and not p.name.startswith("_"))


def load_roster(
    extra_dirs: Sequence[str | Path] = (),
    *,
    known_tools: Collection[str] | None = None,
    include_shipped: bool = True,
) -> Roster:
    """Load shipped prompts, then each folder of ``extra_dirs`` (later folders shadow).

    Folders in ``extra_dirs`` that do not exist are skipped (a workspace without a
    ``prompts/`` folder is normal). Two files with the same slug inside one folder are
    an error.
    """
    from nexus_agents.paths import shipped_dir

    folders: list[tuple[Path, Origin]] = []
    if include_shipped:
        folders.append((shipped_dir("prompts"), "shipped"))
    folders += [(Path(d), "workspace") for d in extra_dirs]

    specs: dict[str, AgentSpec] = {}
    for folder, origin in folders:
        if not folder.is_dir():
            continue
        seen: dict[str, Path] = {}
        for path in _prompt_files(folder):
            spec = load_agent_file(path, known_tools=known_tools, origin=origin)
            if spec.slug in seen:
                raise SpecError(
                    str(path),
                    f"slug {spec.slug!r} is also defined in {seen[spec.slug]}",
                    item="slug",
                )
            seen[spec.slug] = path
            specs[spec.slug] = spec
    return Roster(specs.values())
