"""Random schema-valid answers: RandomSchemaModel in process, MockLLMServer(random_seed=N)
and ``--random-seed N`` over HTTP. Deterministic per (seed, call), different per call."""

from __future__ import annotations

import json
from typing import Any

import httpx
from pydantic import BaseModel, Field
from test_mock_server_process import cli

from nexus_agents.llm import ChatMessage, ChatRequest, response_format_for
from nexus_agents.testing import MockLLMServer, RandomSchemaModel


class Item(BaseModel):
    name: str
    score: int = Field(ge=0, le=1000)


class Answer(BaseModel):
    verdict: str
    items: list[Item] = Field(max_length=4)
    confidence: float = Field(ge=0, le=1)


REQUEST = ChatRequest(
    messages=[ChatMessage(role="user", content="judge")],
    response_format=response_format_for(Answer),
)
CHAT: dict[str, Any] = {
    "model": "m",
    "messages": [{"role": "user", "content": "judge"}],
    "response_format": {
        "type": "json_schema",
        "json_schema": {"name": "Answer", "schema": Answer.model_json_schema()},
    },
}


async def _answers(model: RandomSchemaModel, count: int) -> list[str]:
    return [(await model.complete(REQUEST)).message.content or "" for _ in range(count)]


async def test_random_model_answers_differ_per_call_and_repeat_per_seed() -> None:
    first = await _answers(RandomSchemaModel(seed=4), 6)
    again = await _answers(RandomSchemaModel(seed=4), 6)
    other = await _answers(RandomSchemaModel(seed=5), 6)
    assert first == again
    assert len(set(first)) == 6
    assert first != other
    for text in first:
        Answer.model_validate_json(text)


def _contents(server: MockLLMServer, count: int) -> list[str]:
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        return [
            http.post("/chat/completions", json=CHAT).json()["choices"][0]["message"]["content"]
            for _ in range(count)
        ]


def test_server_random_seed_draws_a_new_answer_per_request() -> None:
    with MockLLMServer(random_seed=3) as server:
        first = _contents(server, 5)
    with MockLLMServer(random_seed=3) as server:
        again = _contents(server, 5)
    with MockLLMServer() as server:
        fixed = _contents(server, 3)
    assert first == again and len(set(first)) == 5
    assert len(set(fixed)) == 1  # without a seed: one answer per schema
    for text in first:
        Answer.model_validate_json(text)


def test_cli_random_seed() -> None:
    with cli("--random-seed", "3") as base_url:
        replies = [httpx.post(f"{base_url}/chat/completions", json=CHAT, timeout=10) for _ in "ab"]
    contents = [r.json()["choices"][0]["message"]["content"] for r in replies]
    assert contents[0] != contents[1]
    assert all(isinstance(json.loads(c), dict) for c in contents)
