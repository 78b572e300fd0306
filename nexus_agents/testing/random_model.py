"""``RandomSchemaModel``: an in-process model double that is not the author.

Every call is answered with a random instance of the JSON schema sent with that call,
what a server with guided JSON decoding (llama.cpp grammars, vLLM guided JSON) returns
for a model that knows nothing about the task. It has no knowledge of any rule the
schema does not express, so a graph that passes against it keeps every rule a model
must follow in the schema (or in code). Answers are deterministic: call ``n`` of a model
seeded ``s`` always gets the same answer for the same schema (``answer_seed(s, n)``), and
consecutive calls get different ones, so a repair round is a fresh draw.
"""

from __future__ import annotations

import json

from nexus_agents.llm.interface import ChatMessage, ChatRequest, ChatResponse, Usage
from nexus_agents.testing.schema_faker import fake_instance

__all__ = ["RandomSchemaModel", "answer_seed"]

_STRIDE = 1_000_003  # a prime, so (seed, call) pairs do not collide for practical counts


def answer_seed(seed: int, call: int) -> int:
    """The faker seed of call number ``call`` (1-based) of a model seeded ``seed``."""
    return seed * _STRIDE + call


class RandomSchemaModel:
    """Answers every call with a random, schema-valid JSON object; records requests."""

    def __init__(self, seed: int = 0, default_model: str = "random-schema") -> None:
        self.seed = seed
        self.default_model_name = default_model
        self.requests: list[ChatRequest] = []

    @property
    def default_model(self) -> str:
        return self.default_model_name

    @property
    def calls(self) -> int:
        return len(self.requests)

    async def complete(self, request: ChatRequest) -> ChatResponse:
        self.requests.append(request)
        fmt = request.response_format
        if fmt is None:
            content = "Random answer."
        else:
            value = fake_instance(fmt.json_schema, seed=answer_seed(self.seed, self.calls))
            content = json.dumps(value)
        prompt = sum(len(m.content or "") for m in request.messages) // 4
        completion = max(1, len(content) // 4)
        return ChatResponse(
            message=ChatMessage(role="assistant", content=content),
            model=request.model or self.default_model_name,
            usage=Usage(
                calls=1,
                prompt_tokens=prompt,
                completion_tokens=completion,
                total_tokens=prompt + completion,
            ),
        )
