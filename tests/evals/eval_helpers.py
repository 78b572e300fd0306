"""A tiny eval target that calls a model through the real openai client, and builders for
self-contained eval folders (cases, fixtures, cassettes) in a temporary directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import yaml

from nexus_agents.evals.target import RunEnv, TargetOutput, Trajectory, TrajectoryToolCall
from nexus_agents.llm.interface import Usage
from nexus_agents.llm.openai_model import AGENT_HEADER

MODEL = "gpt-4o-mini"


def request_body(agent: str, data: str) -> dict[str, Any]:
    """What ``echo_target`` sends for ``agent`` when the workspace's data.txt holds ``data``."""
    return {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": f"You are {agent}. Answer in JSON."},
            {"role": "user", "content": f"Data:\n{data}"},
        ],
        "response_format": {"type": "json_object"},
    }


def completion(
    content: Any, *, prompt_tokens: int = 100, completion_tokens: int = 20
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": json.dumps(content)},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def interaction(agent: str, data: str, answer: Any, **usage: int) -> dict[str, Any]:
    return {
        "agent": agent,
        "request": {
            "method": "POST",
            "path": "/chat/completions",
            "body": request_body(agent, data),
        },
        "response": {
            "status": 200,
            "headers": {"content-type": "application/json"},
            "body": completion(answer, **usage),
        },
    }


async def ask(base_url: str, api_key: str, http: httpx.AsyncClient, agent: str, data: str) -> Any:
    import openai

    client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, http_client=http, max_retries=0)
    body = request_body(agent, data)
    return await client.chat.completions.create(
        model=body["model"],
        messages=body["messages"],
        response_format=body["response_format"],
        extra_headers={AGENT_HEADER: agent},
    )


async def echo_target(case: Any, env: RunEnv) -> TargetOutput:
    """Runs the agents listed in ``config.agents``; each answer becomes an artifact.

    ``config.tool_calls`` / ``config.actions`` are copied into the trajectory, so tests
    can describe what the run "did" without a real graph.
    """
    agents: list[str] = case.config.get("agents", ["analyst"])
    data = (env.workspace / "data.txt").read_text(encoding="utf-8")
    (env.workspace / "data.txt").write_text("changed by the run", encoding="utf-8")
    artifacts: dict[str, Any] = {}
    usage = Usage()
    async with env.http_client() as http:
        for agent in agents:
            done = await ask(env.base_url, env.api_key.get_secret_value(), http, agent, data)
            artifacts[agent] = json.loads(done.choices[0].message.content or "null")
            u = done.usage
            usage = usage + Usage(
                calls=1,
                prompt_tokens=u.prompt_tokens if u else 0,
                completion_tokens=u.completion_tokens if u else 0,
                total_tokens=u.total_tokens if u else 0,
                cost_usd=0.001,
            )
    return TargetOutput(
        artifacts=artifacts,
        state={"now": env.now.isoformat(), "mode": env.mode},
        trajectory=Trajectory(
            agents=agents,
            tool_calls=[TrajectoryToolCall(**c) for c in case.config.get("tool_calls", [])],
            actions=case.config.get("actions", []),
        ),
        usage=usage,
        models=[MODEL],
    )


def make_target() -> Any:
    """Factory used by the CLI tests (``--target eval_helpers:make_target``)."""
    return echo_target


def write_case(
    root: Path,
    case_id: str,
    *,
    interactions: list[dict[str, Any]] | None = None,
    data: str = "signups=120",
    **fields: Any,
) -> Path:
    """Write a case, its fixture workspace and its cassette under ``root`` (an evals dir)."""
    workspace = root / "fixtures" / f"ws-{case_id}"
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "data.txt").write_text(data, encoding="utf-8")
    if interactions is not None:
        cassette = root / "cassettes" / f"{case_id}.yaml"
        cassette.parent.mkdir(parents=True, exist_ok=True)
        cassette.write_text(
            yaml.safe_dump({"version": 1, "interactions": interactions}), encoding="utf-8"
        )
    case: dict[str, Any] = {
        "id": case_id,
        "version": 1,
        "title": f"case {case_id}",
        "tags": ["smoke"],
        "target": {"graph": "daily"},
        "now": "2025-04-07T09:00:00Z",
        "inputs": {"workspace": f"ws-{case_id}"},
        "cassette": f"{case_id}.yaml",
    }
    case.update(fields)
    path = root / "cases" / f"{case_id}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(case, sort_keys=False), encoding="utf-8")
    return path
