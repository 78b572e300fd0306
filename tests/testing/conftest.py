"""Fixtures for the mock-server tests: the real openai client and raw httpx, 127.0.0.1 only."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import openai
import pytest
from mock_client import API_KEY, ClientFactory

from nexus_agents.testing import MockLLMServer


@pytest.fixture
async def server() -> AsyncIterator[MockLLMServer]:
    async with MockLLMServer() as running:
        yield running


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    """``make_client(server, timeout=...)``: an ``AsyncOpenAI`` on an injected httpx client."""
    opened: list[httpx.AsyncClient] = []

    def factory(server: MockLLMServer, *, timeout: float = 10.0) -> openai.AsyncOpenAI:
        http = httpx.AsyncClient(timeout=timeout)
        opened.append(http)
        return openai.AsyncOpenAI(
            base_url=server.base_url,
            api_key=API_KEY,
            http_client=http,
            max_retries=0,
            timeout=timeout,
        )

    yield factory
    for http in opened:
        await http.aclose()
