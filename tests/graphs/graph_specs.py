"""Spec helpers shared by the graph tests (importable, unlike conftest)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml

from nexus_agents.graphs.spec import GraphSpec, parse_spec

SPECS_DIR = Path(__file__).parent / "specs"


def spec_from(text: str, file: str = "test.yaml") -> GraphSpec:
    return parse_spec(yaml.safe_load(textwrap.dedent(text)), file)
