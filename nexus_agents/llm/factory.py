"""Build the configured chat model."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nexus_agents.config import NexusConfig
from nexus_agents.exceptions import ConfigError
from nexus_agents.llm.limiter import shared_limiter
from nexus_agents.llm.pricing import PriceTable
from nexus_agents.llm.retry import RetryPolicy, SleepFn

if TYPE_CHECKING:
    import httpx

    from nexus_agents.llm.openai_model import OnCall, OpenAIChatModel

LOCAL_SERVER_KEY = "not-needed"
"""Sent as the API key to a server configured with a base URL but no key."""


def build_chat_model(
    config: NexusConfig,
    *,
    on_call: OnCall | None = None,
    http_client: httpx.AsyncClient | None = None,
    sleep: SleepFn | None = None,
) -> OpenAIChatModel:
    """The OpenAI-compatible model described by ``config.llm``."""
    llm = config.llm
    key = llm.api_key.get_secret_value() if llm.api_key is not None else None
    if not llm.base_url and not key:
        raise ConfigError(
            "no model endpoint configured: set NEXUS_LLM_BASE_URL (any OpenAI-compatible "
            "server) and NEXUS_LLM_API_KEY (or OPENAI_API_KEY)"
        )
    from nexus_agents.llm.openai_model import OpenAIChatModel

    retry = RetryPolicy(
        max_attempts=llm.max_attempts,
        backoff_base_s=llm.backoff_base_s,
        backoff_max_s=llm.backoff_max_s,
    )
    if sleep is not None:
        retry.sleep = sleep
    return OpenAIChatModel(
        model=llm.model,
        base_url=llm.base_url,
        api_key=key or LOCAL_SERVER_KEY,
        timeout_s=llm.timeout_s,
        retry=retry,
        limiter=shared_limiter(llm.max_concurrency),
        prices=PriceTable(llm.prices),
        http_client=http_client,
        on_call=on_call,
    )
