"""Every artifact kind an agent produces (its ``output``) has a facts builder."""

from __future__ import annotations

from nexus_agents.agents.roster import load_roster
from nexus_agents.artifacts.registry import get_artifact
from nexus_agents.facts import known_builders


class _AnyTool(frozenset[str]):
    """Tool names are not what this test checks."""

    def __contains__(self, item: object) -> bool:
        return True


def test_every_agent_output_has_a_facts_builder() -> None:
    roster = load_roster(known_tools=_AnyTool())
    kinds = set()
    for spec in roster:
        kinds.add(get_artifact(spec.output).kind)
        for cadence in spec.cadences:
            if cadence.output:
                kinds.add(get_artifact(cadence.output).kind)
    missing = sorted(kinds - set(known_builders()))
    assert missing == []
