"""Run one agent once: facts (from code) + one structured model call -> a validated artifact.

The artifact class narrows the call by its facts (``answer_contract``: allowed ids, item
bounds, code-owned fields) and may name a safe default for an answer that still breaks
a rule after the repair rounds (``safe_default``); the artifact then records why in
``meta.defaulted``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nexus_agents.agents.spec import AgentSpec
from nexus_agents.artifacts.base import Artifact, ArtifactMeta
from nexus_agents.artifacts.registry import get_artifact
from nexus_agents.config import LLMConfig
from nexus_agents.exceptions import NexusError, listed
from nexus_agents.facts.bundle import FactBundle
from nexus_agents.llm.interface import ChatModel, Usage
from nexus_agents.llm.structured import ToolCallRecord, run_structured
from nexus_agents.runtime.prompting import PromptParts, build_messages
from nexus_agents.tools.base import get_tool


class AgentOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    artifact: Artifact
    usage: Usage
    calls: int
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)


async def run_agent(
    model: ChatModel,
    spec: AgentSpec,
    *,
    bundle: FactBundle,
    task: str,
    upstream: dict[str, dict[str, Any]] | None = None,
    output: str | None = None,
    llm: LLMConfig | None = None,
    meta: ArtifactMeta | None = None,
) -> AgentOutcome:
    """Ask ``spec``'s agent for its artifact (``output`` kind, default the agent's own)."""
    llm = llm or LLMConfig()
    artifact_cls: type[Artifact] = get_artifact(output or spec.output)
    tools = [get_tool(name) for name in spec.tools]
    try:
        facts = artifact_cls.facts_model().model_validate(bundle.facts)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise NexusError(
            f"facts for {artifact_cls.kind} are invalid ({where}: {first['msg']}); "
            "this is a bug in its facts builder, not the model's"
        ) from None
    messages = build_messages(
        spec.system_prompt,
        PromptParts(
            task=task,
            facts={**bundle.facts, **bundle.context},
            upstream=upstream or {},
            untrusted=bundle.untrusted,
            guidance=bundle.guidance,
        ),
    )
    stamp = meta or ArtifactMeta()
    stamp = stamp.model_copy(
        update={
            "agent": spec.slug,
            "created_at": stamp.created_at or datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    composed: list[Artifact] = []

    def accept(narrative: Any) -> None:
        # Rules that join the model's answer with the facts (capacity, candidates, a
        # "go" on a non-significant test ...) are checked here, inside the repair loop.
        composed.append(artifact_cls.compose(bundle.facts, narrative, stamp))

    def fallback(narrative: Any, problems: list[str]) -> tuple[Any, str] | None:
        # After the repair rounds: a safe default where the artifact has one.
        safe = artifact_cls.safe_default(facts, narrative, problems)
        if safe is None:
            return None
        shown = listed(problems, 3)
        return safe[0], f"{safe[1]} The answer broke a rule after the repair rounds: {shown}"

    result = await run_structured(
        model,
        messages=messages,
        output_type=artifact_cls.narrative_model(),
        agent=spec.slug,
        tools=tools,
        max_tool_rounds=spec.max_tool_rounds
        if spec.max_tool_rounds is not None
        else llm.max_tool_rounds,
        repair_rounds=llm.repair_rounds,
        model_name=spec.model,
        temperature=spec.temperature if spec.temperature is not None else llm.temperature,
        accept=accept,
        contract=artifact_cls.answer_contract(facts),
        fallback=fallback,
    )
    artifact = composed[-1]
    if result.defaulted:
        artifact.meta = artifact.meta.model_copy(update={"defaulted": result.defaulted})
    return AgentOutcome(
        artifact=artifact,
        usage=result.usage,
        calls=result.calls,
        tool_calls=result.tool_calls,
    )
