"""The base of every artifact an agent produces.

An artifact keeps two parts apart:

* ``facts``: numbers and lists computed by deterministic tools (never by the model);
* ``narrative``: the model's judgement and prose, validated against a schema.

The model only ever sees (and returns) the JSON schema of the ``narrative`` model,
narrowed for one call by ``answer_contract(facts)``; the runtime builds the artifact with
``ArtifactClass.compose(facts, narrative)``. So a number in an artifact can only come from
code. A rule a schema-valid answer can still break is checked in ``compose`` (and
repaired); ``safe_default`` says what to record when the repairs do not help.

``Artifact`` is generic over the types of its two parts; a concrete artifact names them
as type arguments and declares ``kind`` (a slug) and ``title`` (the playbook's name)::

    class SprintPlan(Artifact[SprintPlanFacts, SprintPlanNarrative]):
        kind = "sprint_plan"
        title = "Sprint Plan"

so ``plan.facts`` is a ``SprintPlanFacts`` to pydantic and to a type checker alike.
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, Self, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field

from nexus_agents.artifacts.contract import AnswerContract


class Facts(BaseModel):
    """Numbers computed by code. Subclasses declare the fields."""

    model_config = ConfigDict(extra="forbid")


class Narrative(BaseModel):
    """What the model writes; its JSON schema is the model's output schema."""

    model_config = ConfigDict(extra="forbid")


class ArtifactMeta(BaseModel):
    """Where an artifact came from (filled by the runtime, not by the model)."""

    model_config = ConfigDict(extra="forbid")

    agent: str | None = None
    period: str | None = None
    run_id: str | None = None
    step: str | None = None
    created_at: str | None = None
    defaulted: str | None = Field(
        default=None,
        description="the safe default code recorded instead of an answer that broke a rule",
    )


F = TypeVar("F", bound=Facts)
N = TypeVar("N", bound=Narrative)


class Artifact(BaseModel, Generic[F, N]):
    """A typed output of an agent or a workflow step."""

    model_config = ConfigDict(extra="forbid")

    kind: ClassVar[str]
    title: ClassVar[str]

    facts: F
    narrative: N
    meta: ArtifactMeta = Field(default_factory=ArtifactMeta)

    @classmethod
    def facts_model(cls) -> type[F]:
        """The facts class (the first type argument, as pydantic resolved it)."""
        return cast("type[F]", cls.model_fields["facts"].annotation)

    @classmethod
    def narrative_model(cls) -> type[N]:
        """The narrative class (the second type argument)."""
        return cast("type[N]", cls.model_fields["narrative"].annotation)

    @classmethod
    def answer_contract(cls, facts: F) -> AnswerContract:
        """The rules of one call that depend on its ``facts`` (allowed ids, item bounds,
        fields code owns). They are written into the schema the model is sent and checked
        on its answer; override where the facts narrow what a valid narrative is."""
        return AnswerContract()

    @classmethod
    def safe_default(
        cls, facts: F, narrative: N, problems: list[str]
    ) -> tuple[N, str] | None:
        """A safe narrative to record instead of one that still breaks a rule after the
        repair rounds, and why; ``None`` where no safe default exists (the step fails)."""
        return None

    @classmethod
    def compose(
        cls,
        facts: F | dict[str, Any] | None,
        narrative: N | dict[str, Any],
        meta: ArtifactMeta | dict[str, Any] | None = None,
    ) -> Self:
        """Build the artifact from code-computed facts and the model's narrative.

        A number the narrative states for a fact must agree with it (``ValueError``
        naming the fact, the stated and the true value; see ``artifacts.numbers``).
        """
        from nexus_agents.artifacts.numbers import check_narrative_numbers

        artifact = cls.model_validate(
            {
                "facts": facts if facts is not None else {},
                "narrative": narrative,
                "meta": meta if meta is not None else {},
            }
        )
        check_narrative_numbers(artifact.facts, artifact.narrative)
        return artifact

    def to_markdown(self) -> str:
        """Render as Markdown; subclasses override for a richer layout."""
        from nexus_agents.artifacts.render import render_markdown

        return render_markdown(self)


AnyArtifact = Artifact[Any, Any]
"""Any artifact, whatever its facts and narrative types (for registries and renderers)."""
