"""The real eval target: runs a case's graph or agent through ``Nexus``.

``default_target()`` is what ``nexus eval run`` uses. For every case it

- loads the configuration of ``env.workspace`` (the runner's copy of the fixture) with
  the model endpoint of ``env`` and the case's ``config`` overrides, and freezes the
  workspace clock at the case's ``now`` (``data.as_of``);
- builds the model client with an HTTP client from ``env.http_client()``, so replay,
  recording and live runs all go through the real openai client path;
- runs a graph target with ``Nexus.arun`` (giving each decision listed in
  ``inputs.approvals`` when the run waits for it) or an agent target with ``Nexus.aask``;
- returns the artifacts, run state, trajectory (agents, tool calls, executed actions
  from the run store), usage and model ids.

A run that fails is the case's error, unless the case is tagged ``expect-failure``: then
the failure is only reported in ``$.state.status`` / ``$.state.error`` for the case's
assertions to judge (a clean, readable failure is what such a case expects).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from nexus_agents.evals.target import (
    ActionRecord,
    RunEnv,
    TargetOutput,
    TargetRunner,
    Trajectory,
    TrajectoryToolCall,
)
from nexus_agents.exceptions import NexusError
from nexus_agents.llm.interface import Usage

if TYPE_CHECKING:
    from nexus_agents.api import Nexus
    from nexus_agents.config import NexusConfig
    from nexus_agents.evals.case import EvalCase
    from nexus_agents.runs.engine import RunResult
    from nexus_agents.runs.store import RunStore

__all__ = ["EXPECT_FAILURE_TAG", "MAX_APPROVALS", "default_target", "run_case_target"]

EXPECT_FAILURE_TAG = "expect-failure"
MAX_APPROVALS = 10  # a run waiting more often than this is looping on its gates


def default_target() -> TargetRunner:
    """The target ``nexus eval run`` uses by default."""
    return run_case_target


async def run_case_target(case: EvalCase, env: RunEnv) -> TargetOutput:
    """Run ``case`` in ``env`` and collect what it produced."""
    from nexus_agents.api import Nexus
    from nexus_agents.evals.case import GraphTarget
    from nexus_agents.llm.factory import build_chat_model

    config = _config(case, env)
    client = env.http_client()
    try:
        nexus = Nexus(config, model=build_chat_model(config, http_client=client))
        if isinstance(case.target, GraphTarget):
            output = await _run_graph(case, nexus, case.target.graph, env)
        else:
            output = await _run_agent(case, nexus, case.target.agent)
    finally:
        await client.aclose()
    output.state["secrets_in_artifacts"] = _secrets_in(output.artifacts, env)
    if output.error is not None and EXPECT_FAILURE_TAG in case.tags:
        output.state.setdefault("error", output.error)
        output.error = None
    return output


def _config(case: EvalCase, env: RunEnv) -> NexusConfig:
    from nexus_agents.config import load_config

    variables = {
        "NEXUS_LLM_BASE_URL": env.base_url,
        "NEXUS_LLM_API_KEY": env.api_key.get_secret_value(),
    }
    if env.mode != "replay" and os.environ.get("NEXUS_LLM_MODEL"):
        variables["NEXUS_LLM_MODEL"] = os.environ["NEXUS_LLM_MODEL"]
    overrides: dict[str, Any] = {"data.as_of": env.now, **env.config_overrides}
    return load_config(env.workspace, env=variables, overrides=overrides)


def _secrets_in(artifacts: dict[str, Any], env: RunEnv) -> list[str]:
    """Which secrets appear in the artifacts: the endpoint's API key, or text shaped
    like a key or bearer token (the recorder's secret patterns)."""
    import json

    from nexus_agents.evals.record import DEFAULT_SECRET_PATTERNS, Scrubber

    text = json.dumps(artifacts, default=str)
    found = []
    if env.api_key.get_secret_value() in text:
        found.append("api key of the endpoint")
    found += [p for p in DEFAULT_SECRET_PATTERNS if Scrubber(patterns=[p]).leaks(text)]
    return found


# --------------------------------------------------------------------------- graphs


async def _run_graph(case: EvalCase, nexus: Nexus, graph: str, env: RunEnv) -> TargetOutput:
    inputs: dict[str, Any] = dict(case.inputs.extra)
    if case.inputs.alert is not None:
        inputs["alert"] = dict(case.inputs.alert)
    spec = nexus.specs.get(graph)
    if spec is not None and "now" in spec.inputs and "now" not in inputs:
        inputs["now"] = env.now.isoformat()
    period = case.inputs.period  # None: Nexus picks the graph's default period

    given: dict[str, str] = {}
    result = await nexus.arun(
        graph,
        inputs,
        period=period,
        thread_id=f"eval-{case.id}",
        unattended=case.inputs.unattended,
    )
    for _ in range(MAX_APPROVALS):
        if result.status != "waiting_approval" or result.pending is None:
            break
        gate = result.pending.approval_id
        decision = case.inputs.approvals.get(gate)
        if decision is None or gate in given:
            break  # no (further) decision in the case: the run stays waiting
        given[gate] = decision
        result = await nexus.aresume(result.run_id, decision, "eval case", decided_by="eval")
    return await _graph_output(nexus, graph, result)


async def _graph_output(nexus: Nexus, graph: str, result: RunResult) -> TargetOutput:
    from nexus_agents.graphs.spec import ActionStep, iter_steps
    from nexus_agents.runs.engine import Engine

    async with await Engine.open(
        specs=nexus.specs,
        executor=None,
        workspace=nexus.config.workspace,
        db_path=nexus.db_path,
        config=nexus.config,
    ) as engine:
        snapshot = await engine.graph(graph).aget_state(
            {"configurable": {"thread_id": result.run_id}}
        )
        state = dict(snapshot.values or {})
        trajectory, usage, models = await _trajectory(engine.store, result.run_id, state)

    approvals = dict(state.get("approvals") or {})
    gates = {
        s.id: s.requires_approval
        for s in iter_steps(nexus.specs[graph].steps)
        if isinstance(s, ActionStep)
    }
    for action in trajectory.actions:
        gate = gates.get(str(action.args.get("step")))
        action.approved = gate is not None and gate in approvals

    run_state: dict[str, Any] = {
        "status": result.status,
        "values": result.values,
        "approvals": {k: v.get("decision") for k, v in approvals.items() if isinstance(v, dict)},
        "pending": result.pending.approval_id if result.pending else None,
        "error": result.error,
    }
    return TargetOutput(
        artifacts=result.artifacts,
        state=run_state,
        trajectory=trajectory,
        usage=usage,
        models=models,
        error=result.error if result.status == "failed" else None,
    )


async def _trajectory(
    store: RunStore, run_id: str, state: dict[str, Any]
) -> tuple[Trajectory, Usage, list[str]]:
    records = await store.usage_for(run_id)
    agent_of_step: dict[str, str] = {}
    for record in records:
        if record.agent:
            agent_of_step.setdefault(record.step, record.agent)
    agents: list[str] = []
    for event in await store.events_for(run_id):
        if event.event == "started" and event.agent:
            agents.append(agent_of_step.get(event.step, event.agent))

    tool_calls = [
        TrajectoryToolCall(
            tool=str(e.get("name")),
            agent=e.get("agent"),
            args=e["arguments"] if isinstance(e.get("arguments"), dict) else {},
        )
        for e in state.get("events") or []
        if isinstance(e, dict) and e.get("event") == "tool_call"
    ]
    actions = [
        ActionRecord(action=a.kind, args={"step": a.step, "from": a.payload.get("from")})
        for a in await store.actions_for(run_id)
    ]
    usage = Usage(
        calls=len(records),
        prompt_tokens=sum(r.prompt_tokens for r in records),
        completion_tokens=sum(r.completion_tokens for r in records),
        total_tokens=sum(r.total_tokens for r in records),
        latency_ms=sum(r.latency_ms for r in records),
        cost_usd=sum(r.cost_usd for r in records),
    )
    models = list(dict.fromkeys(r.model for r in records if r.model))
    return Trajectory(agents=agents, tool_calls=tool_calls, actions=actions), usage, models


# --------------------------------------------------------------------------- agents


async def _run_agent(case: EvalCase, nexus: Nexus, agent: str) -> TargetOutput:
    from nexus_agents.runtime.executor import artifact_json

    spec = nexus.roster.get(agent)
    try:
        outcome = await nexus.aask(
            spec.slug, period=case.inputs.period, inputs=dict(case.inputs.extra)
        )
    except NexusError as exc:
        return TargetOutput(
            state={"status": "failed", "error": str(exc)},
            trajectory=Trajectory(agents=[spec.slug]),
            error=str(exc),
        )
    artifact = artifact_json(outcome.artifact)
    usage = outcome.usage.model_copy(update={"calls": outcome.calls})
    return TargetOutput(
        artifacts={str(artifact["kind"]): artifact},
        state={"status": "succeeded", "error": None},
        trajectory=Trajectory(
            agents=[spec.slug],
            tool_calls=[
                TrajectoryToolCall(
                    tool=tc.name,
                    agent=spec.slug,
                    args=tc.arguments if isinstance(tc.arguments, dict) else {},
                )
                for tc in outcome.tool_calls
            ],
        ),
        usage=usage,
        models=[nexus.config.llm.model] if nexus.config.llm.model else [],
    )
