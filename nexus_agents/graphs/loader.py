"""Find and load graph specs: shipped ones, shadowed by a workspace's own ``graphs/`` files."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from nexus_agents._filecache import parsed
from nexus_agents.exceptions import SpecError
from nexus_agents.graphs.spec import GraphSpec, load_yaml, parse_spec, validate_names
from nexus_agents.paths import shipped_dir

__all__ = ["check_subgraphs", "load_graph_specs", "load_spec", "spec_files"]

SUFFIXES = (".yaml", ".yml")
# Files in a graphs/ folder that are not graph specs (the schedule lives beside the graphs).
NOT_SPECS = frozenset({"cadences.yaml", "cadences.yml"})


def load_spec(
    path: str | Path,
    *,
    agents: Iterable[str] | None = None,
    artifacts: Iterable[str] | None = None,
    resolve_functions: bool = True,
) -> GraphSpec:
    """Load one spec file; its ``name`` defaults to (and must equal) the file stem."""
    file = Path(path)
    spec = parsed("graph spec", file, _parse_file)
    validate_names(spec, agents=agents, artifacts=artifacts, resolve_functions=resolve_functions)
    return spec


def _parse_file(file: Path) -> GraphSpec:
    data = load_yaml(file)
    if isinstance(data, dict):
        data.setdefault("name", file.stem)
        if data["name"] != file.stem:
            raise SpecError(
                str(file), f"name {data['name']!r} differs from the file name {file.stem!r}"
            )
    return parse_spec(data, str(file))


def spec_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix in SUFFIXES and p.is_file() and p.name not in NOT_SPECS
    )


def load_graph_specs(
    extra_dirs: Iterable[str | Path] = (),
    *,
    include_shipped: bool = True,
    agents: Iterable[str] | None = None,
    artifacts: Iterable[str] | None = None,
) -> dict[str, GraphSpec]:
    """All specs by name. A later folder's file shadows an earlier one of the same name."""
    folders = [shipped_dir("graphs")] if include_shipped else []
    folders += [Path(d) for d in extra_dirs]
    agent_list = list(agents) if agents is not None else None
    artifact_list = list(artifacts) if artifacts is not None else None
    specs: dict[str, GraphSpec] = {}
    for folder in folders:
        seen_here: dict[str, Path] = {}
        for file in spec_files(folder):
            if file.stem in seen_here:
                raise SpecError(str(file), f"graph {file.stem!r} is also defined in {seen_here[file.stem].name}")
            seen_here[file.stem] = file
            specs[file.stem] = load_spec(file, agents=agent_list, artifacts=artifact_list)
    check_subgraphs(specs)
    return specs


def check_subgraphs(specs: dict[str, GraphSpec]) -> None:
    """Every ``subgraph`` names a known graph, and no graph includes itself."""
    from nexus_agents.graphs.spec import SubgraphStep, iter_steps

    for spec in specs.values():
        for step in iter_steps(spec.steps):
            if isinstance(step, SubgraphStep) and step.graph not in specs:
                raise SpecError(spec.source, f"unknown graph {step.graph!r}; known: {', '.join(sorted(specs))}", item=step.id)

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            cycle = " -> ".join([*trail[trail.index(name):], name])
            raise SpecError(specs[trail[0]].source, f"sub-graphs form a cycle: {cycle}")
        for child in sorted(specs[name].subgraph_names()):
            visit(child, [*trail, name])

    for name in specs:
        visit(name, [])
