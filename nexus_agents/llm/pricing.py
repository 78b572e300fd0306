"""What a model call costs: USD per one million input / output tokens.

A few well-known OpenAI models are priced by default; ``config.llm.prices`` adds or
overrides entries. Dated snapshots (``gpt-4o-2024-08-06``) and provider prefixes
(``openai/gpt-4o``) are priced as their base model. An unknown model costs 0 and is
reported as unpriced, so a missing price is visible rather than silently wrong.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from nexus_agents.config import ModelPrice

log = logging.getLogger(__name__)

DEFAULT_PRICES: dict[str, ModelPrice] = {
    "gpt-4o": ModelPrice(input=2.50, output=10.00),
    "gpt-4o-mini": ModelPrice(input=0.15, output=0.60),
    "gpt-4.1": ModelPrice(input=2.00, output=8.00),
    "gpt-4.1-mini": ModelPrice(input=0.40, output=1.60),
    "gpt-4.1-nano": ModelPrice(input=0.10, output=0.40),
    "o3": ModelPrice(input=2.00, output=8.00),
    "o4-mini": ModelPrice(input=1.10, output=4.40),
}

_DATE_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")


class Cost(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    usd: float
    priced: bool


class PriceTable:
    """Default prices overlaid with configured ones."""

    def __init__(self, overrides: Mapping[str, ModelPrice] | None = None) -> None:
        self._prices: dict[str, ModelPrice] = dict(DEFAULT_PRICES)
        self._prices.update(overrides or {})
        self._warned: set[str] = set()

    def lookup(self, model: str) -> ModelPrice | None:
        for candidate in _candidates(model):
            price = self._prices.get(candidate)
            if price is not None:
                return price
        return None

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> Cost:
        price = self.lookup(model)
        if price is None:
            if model not in self._warned:
                self._warned.add(model)
                log.warning("no price known for model %r; its calls are counted as $0", model)
            return Cost(usd=0.0, priced=False)
        usd = (prompt_tokens * price.input + completion_tokens * price.output) / 1_000_000
        return Cost(usd=usd, priced=True)


def _candidates(model: str) -> list[str]:
    names = [model]
    if "/" in model:
        names.append(model.rsplit("/", 1)[1])
    for name in list(names):
        stripped = _DATE_SUFFIX.sub("", name)
        if stripped != name:
            names.append(stripped)
    return names


def cost_of(
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    prices: Mapping[str, ModelPrice] | None = None,
) -> float:
    """USD cost of one call; 0 for a model with no known price."""
    return PriceTable(prices).cost(model, prompt_tokens, completion_tokens).usd
