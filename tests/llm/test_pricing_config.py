"""Price table, retry waits, the factory and import weight."""

from __future__ import annotations

import subprocess
import sys

import pytest
import respx
from llm_http import BASE_URL, body_of, completion, ok

from nexus_agents.config import ModelPrice, load_config
from nexus_agents.exceptions import ConfigError
from nexus_agents.llm import ChatMessage, ChatRequest, PriceTable, build_chat_model, cost_of
from nexus_agents.llm.openai_model import OpenAIChatModel
from nexus_agents.llm.retry import RetryPolicy, TransientError, parse_retry_after


def test_known_models_and_dated_snapshots_are_priced() -> None:
    assert cost_of("gpt-4o", 1_000_000, 0) == pytest.approx(2.50)
    assert cost_of("gpt-4o-mini-2024-07-18", 0, 1_000_000) == pytest.approx(0.60)
    assert cost_of("openai/gpt-4.1-mini", 500_000, 500_000) == pytest.approx(0.20 + 0.80)


def test_unknown_model_costs_nothing_and_is_flagged() -> None:
    cost = PriceTable().cost("my-local-llama", 1000, 1000)
    assert cost.usd == 0 and cost.priced is False


def test_configured_prices_override_and_extend() -> None:
    table = PriceTable(
        {"gpt-4o": ModelPrice(input=1, output=1), "llama": ModelPrice(input=0.1, output=0.2)}
    )
    assert table.cost("gpt-4o", 1_000_000, 1_000_000).usd == pytest.approx(2.0)
    assert table.cost("llama", 1_000_000, 1_000_000).usd == pytest.approx(0.3)


def test_exponential_backoff_is_bounded() -> None:
    policy = RetryPolicy(backoff_base_s=1.0, backoff_max_s=5.0, jitter=0.5, rng=lambda: 1.0)
    assert [policy.wait_before(n, None) for n in (1, 2, 3, 4)] == [1.5, 3.0, 5.0, 5.0]
    assert policy.wait_before(1, TransientError("x", retry_after_s=2)) == 2.0


def test_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert parse_retry_after({}) is None


def test_factory_needs_an_endpoint(tmp_path) -> None:
    with pytest.raises(ConfigError) as info:
        build_chat_model(load_config(tmp_path, env={}))
    assert "NEXUS_LLM_BASE_URL" in str(info.value) and "OPENAI_API_KEY" in str(info.value)


async def test_factory_local_server_without_key(tmp_path) -> None:
    config = load_config(tmp_path, env={"NEXUS_LLM_BASE_URL": BASE_URL, "NEXUS_MODEL": "qwen3"})
    model = build_chat_model(config)
    assert type(OpenAIChatModel.from_config(config)) is type(model)
    assert model.default_model == "qwen3"
    assert model.retry.max_attempts == config.llm.max_attempts
    assert model.limiter.limit == config.llm.max_concurrency
    with respx.mock(base_url=BASE_URL) as mock:
        route = mock.post("/chat/completions").mock(return_value=ok(completion("hi")))
        await model.complete(ChatRequest(messages=[ChatMessage(role="user", content="x")]))
    assert body_of(route.calls[0])["model"] == "qwen3"
    assert route.calls[0].request.headers["authorization"] == "Bearer not-needed"


def test_package_import_stays_light() -> None:
    code = "import sys, nexus_agents.llm; print('openai' in sys.modules, 'httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
