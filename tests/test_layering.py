"""The package layering is one-way: a package imports only packages on its own layer or below.

Imports under ``if TYPE_CHECKING:`` do not count (they cost nothing at run time and make no
cycle). The back edges that exist today are listed in ``KNOWN_BACK_EDGES``; the list may only
shrink: a new back edge fails, and so does an entry that no longer exists (remove it).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import nexus_agents

PACKAGE_DIR = Path(nexus_agents.__file__).resolve().parent


def _layers_from_docstring() -> list[set[str]]:
    """The ``- name: a, b`` lines of the package docstring, bottom first."""
    doc = nexus_agents.__doc__ or ""
    body = doc[doc.index("Layers, bottom first."):]
    layers: list[set[str]] = []
    for line in body.splitlines():
        if line.startswith("- "):
            layers.append(set())
            line = line.split(":", 1)[1]
        elif not (line.startswith("  ") and layers):
            continue
        layers[-1].update(n.strip() for n in line.split(",") if n.strip())
    return layers


LAYERS: list[set[str]] = _layers_from_docstring()

# (importer, imported): today's back edges, to be removed one by one.
KNOWN_BACK_EDGES: set[tuple[str, str]] = set()


def _layer_of() -> dict[str, int]:
    return {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _top_package(path: Path) -> str:
    return path.relative_to(PACKAGE_DIR).parts[0].removesuffix(".py")


def _runtime_imports(tree: ast.AST) -> set[str]:
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(sub) for sub in ast.walk(node))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m.split(".")[1] for m in found if m.startswith("nexus_agents.")}


def package_edges() -> dict[tuple[str, str], list[str]]:
    """(importer, imported) -> the files that make the edge."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if "_shipped" in path.parts:
            continue
        source = _top_package(path)
        for target in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if target != source:
                edges[(source, target)].append(str(path.relative_to(PACKAGE_DIR)))
    return edges


def test_every_package_has_a_layer() -> None:
    layer = _layer_of()
    packages = {_top_package(p) for p in PACKAGE_DIR.rglob("*.py") if "_shipped" not in p.parts}
    assert sorted(packages - set(layer)) == []


def test_no_new_import_goes_up_the_layers() -> None:
    layer = _layer_of()
    back = {
        edge: files
        for edge, files in package_edges().items()
        if layer.get(edge[1], -1) > layer.get(edge[0], -1)
    }
    new = {f"{a} -> {b} ({', '.join(files)})" for (a, b), files in back.items()
           if (a, b) not in KNOWN_BACK_EDGES}
    assert sorted(new) == [], "imports that go up the layers; inject the higher piece instead"
    gone = KNOWN_BACK_EDGES - set(back)
    assert sorted(gone) == [], "these back edges are gone: remove them from KNOWN_BACK_EDGES"


def test_graphs_only_builds_running_belongs_to_runs() -> None:
    """The graph builder takes its nodes from a factory; executing them (store writes,
    actions, approvals, usage) is the run side's, so graphs imports neither."""
    edges = package_edges()
    assert ("graphs", "runs") not in edges
    # the spec names the action kinds (a Literal type from actions); nothing in graphs runs one
    assert edges.get(("graphs", "actions"), []) in ([], ["graphs/spec.py"])
