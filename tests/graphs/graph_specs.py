"""Spec helpers shared by the graph tests (importable, unlike conftest)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml

from nexus_agents.graphs.spec import GraphSpec, parse_spec

SPECS_DIR = Path(__file__).parent / "specs"
# a fix / check loop (at most 2 attempts, until the check's verdict is PASS), as one
# flow-style step: "- FIXING_LOOP" in a spec given to spec_from
FIXING_LOOP = (
    "{loop: {id: fixing, max_attempts: 2, until: {value: verdict, equals: PASS}, body: ["
    "{id: fix, agent: developer}, "
    "{id: check, agent: evidence_collector, set: {verdict: narrative.verdict}}]}}"
)


def spec_from(text: str, file: str = "test.yaml") -> GraphSpec:
    text = textwrap.dedent(text).replace("FIXING_LOOP", FIXING_LOOP)
    return parse_spec(yaml.safe_load(text), file)
