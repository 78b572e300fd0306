"""``Artifact[F, N]``: a concrete artifact names its facts and narrative types once."""

from __future__ import annotations

import pytest

from nexus_agents.artifacts import Artifact, Facts, Narrative
from nexus_agents.artifacts.registry import all_artifacts
from nexus_agents.artifacts.reports_weekly import SprintPlan, SprintPlanFacts, SprintPlanNarrative

KINDS = sorted(all_artifacts().items())


@pytest.mark.parametrize(("kind", "cls"), KINDS, ids=[k for k, _ in KINDS])
def test_facts_and_narrative_models_are_the_type_arguments(kind: str, cls: type[Artifact]) -> None:
    facts, narrative = cls.facts_model(), cls.narrative_model()
    assert issubclass(facts, Facts) and facts is not Facts, kind
    assert issubclass(narrative, Narrative) and narrative is not Narrative, kind
    schema = cls.model_json_schema()
    assert list(schema["properties"]) == ["facts", "narrative", "meta"]
    assert schema["title"] == cls.__name__


def test_a_parametrised_artifact_validates_its_parts_with_their_own_models() -> None:
    assert SprintPlan.facts_model() is SprintPlanFacts
    assert SprintPlan.narrative_model() is SprintPlanNarrative
    with pytest.raises(ValueError, match="facts"):
        SprintPlan.model_validate({"facts": {"no_such_field": 1}, "narrative": {}})
