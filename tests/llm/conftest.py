"""Fixtures for the model client tests: a real openai client, respx, and no real sleeping."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from llm_http import API_KEY, BASE_URL

from nexus_agents.llm.limiter import ConcurrencyLimiter
from nexus_agents.llm.openai_model import OpenAIChatModel
from nexus_agents.llm.pricing import PriceTable
from nexus_agents.llm.retry import RetryPolicy


class SleepRecorder:
    """Stands in for ``asyncio.sleep``: records the requested waits, returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def make_model(sleeps: SleepRecorder) -> Callable[..., OpenAIChatModel]:
    def make(**overrides: Any) -> OpenAIChatModel:
        options: dict[str, Any] = {
            "model": "gpt-4o",
            "base_url": BASE_URL,
            "api_key": API_KEY,
            "retry": RetryPolicy(
                max_attempts=3, backoff_base_s=0.5, backoff_max_s=10.0, sleep=sleeps
            ),
            "limiter": ConcurrencyLimiter(4),
            "prices": PriceTable(),
            "http_client": httpx.AsyncClient(),
        }
        options.update(overrides)
        return OpenAIChatModel(**options)

    return make
