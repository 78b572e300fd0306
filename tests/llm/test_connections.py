"""Concurrent model calls reuse their HTTP connections instead of reconnecting."""

from __future__ import annotations

import asyncio

from nexus_agents.llm.interface import ChatMessage, ChatRequest
from nexus_agents.llm.limiter import ConcurrencyLimiter
from nexus_agents.llm.openai_model import OpenAIChatModel
from nexus_agents.testing import MockLLMServer


async def test_as_many_connections_as_calls_run_at_once_and_no_more() -> None:
    with MockLLMServer(latency_s=0.05) as server:
        model = OpenAIChatModel(
            model="mock-model",
            base_url=server.base_url,
            api_key="sk-test",
            limiter=ConcurrencyLimiter(32),
        )
        request = ChatRequest(messages=[ChatMessage(role="user", content="hello")])
        try:
            for _ in range(3):  # three waves of 32 calls at once
                await asyncio.gather(*(model.complete(request) for _ in range(32)))
        finally:
            await model.aclose()
        stats = server.stats
    assert stats.requests == 96
    assert stats.peak_concurrency == 32
    assert stats.connections <= 32  # every wave found its connections kept alive
