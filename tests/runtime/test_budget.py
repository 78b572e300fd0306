"""RunBudget and MeteredModel: reservations per call in flight, caps on max_tokens, and
failed calls counted; a failed structured exchange reports what it spent."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from nexus_agents.config import ModelPrice, RunLimits
from nexus_agents.exceptions import BudgetExceededError, ModelError, StructuredOutputError
from nexus_agents.llm import ChatMessage, ScriptedModel, run_structured
from nexus_agents.llm.interface import ChatRequest, Usage
from nexus_agents.llm.pricing import PriceTable
from nexus_agents.runtime.budget import (
    MIN_COMPLETION_TOKENS,
    BudgetState,
    MeteredModel,
    RunBudget,
    estimate_prompt_tokens,
)

PROMPT = "x" * 4000  # about 1,000 tokens
PRICES = PriceTable({"m": ModelPrice(input=1.0, output=4.0)})  # USD per million tokens
NO_LIMITS = {"max_model_calls": None, "max_tokens": None, "max_cost_usd": None}


def _limits(**given: object) -> RunLimits:
    return RunLimits.model_validate({**NO_LIMITS, **given})


def _request(content: str = PROMPT, **kwargs: object) -> ChatRequest:
    return ChatRequest(
        messages=[ChatMessage(role="user", content=content)], agent="analyst", **kwargs
    )


def test_calls_in_flight_hold_their_reservation() -> None:
    budget = RunBudget(_limits(max_model_calls=3), BudgetState(calls=1), PRICES)
    first = budget.reserve(_request(), "m")
    budget.reserve(_request(), "m")
    with pytest.raises(
        BudgetExceededError, match=r"1 model calls made \(\+2 in flight\), limit is 3 \(by analyst\)"
    ):
        budget.reserve(_request(), "m")
    budget.settle(first, None)  # a failed call is still a call
    assert budget.spent.calls == 2 and budget.in_flight == 1
    with pytest.raises(BudgetExceededError):
        budget.reserve(_request(), "m")


def test_max_tokens_is_capped_by_the_tokens_left_and_shared_with_calls_alongside() -> None:
    prompt = estimate_prompt_tokens(_request())
    budget = RunBudget(_limits(max_tokens=prompt * 3 + 2000), BudgetState(), PRICES)
    first = budget.reserve(_request(), "m")
    assert first.max_tokens == (prompt * 2 + 2000) // 2  # half of the room after its prompt
    second = budget.reserve(_request(), "m")  # a parallel branch still fits
    assert second.max_tokens is not None and second.max_tokens >= MIN_COMPLETION_TOKENS
    assert first.tokens + second.tokens <= prompt * 3 + 2000
    with pytest.raises(BudgetExceededError, match=r"needs about \d+ prompt tokens"):
        budget.reserve(_request(), "m")


def test_a_first_call_that_cannot_fit_is_refused() -> None:
    with pytest.raises(BudgetExceededError, match="0 tokens used, limit is 1000"):
        RunBudget(_limits(max_tokens=1000), prices=PRICES).reserve(_request(), "m")
    # $0.001 buys 1,000 prompt tokens ($0.001) and nothing for the answer
    with pytest.raises(BudgetExceededError, match=r"\$0\.0000 spent, limit is \$0\.0010"):
        RunBudget(_limits(max_cost_usd=0.001), prices=PRICES).reserve(_request(), "m")


def test_max_tokens_is_capped_by_the_cost_left() -> None:
    prompt = estimate_prompt_tokens(_request())
    limit = 0.01
    budget = RunBudget(_limits(max_cost_usd=limit), prices=PRICES)
    reservation = budget.reserve(_request(), "m")
    room = (limit - prompt * 1e-6) / 4e-6
    assert reservation.max_tokens == int(room) // 2
    assert reservation.cost_usd <= limit
    # an unpriced model is not capped by cost (its calls are counted as $0)
    assert RunBudget(_limits(max_cost_usd=limit), prices=PRICES).reserve(_request(), "x").max_tokens is None


class _Echo:
    default_model = "m"

    def __init__(self) -> None:
        self.requests: list[ChatRequest] = []

    async def complete(self, request: ChatRequest) -> object:
        self.requests.append(request)
        raise ModelError("server unreachable", agent=request.agent)


async def test_metered_model_sends_the_cap_and_counts_a_failed_call() -> None:
    inner = _Echo()
    budget = RunBudget(_limits(max_tokens=5000, max_model_calls=5), prices=PRICES)
    metered = MeteredModel(inner, budget)  # type: ignore[arg-type]
    with pytest.raises(ModelError):
        await metered.complete(_request(max_tokens=100))
    with pytest.raises(ModelError):
        await metered.complete(_request())
    assert inner.requests[0].max_tokens == 100  # the caller's own smaller cap is kept
    assert inner.requests[1].max_tokens is not None and inner.requests[1].max_tokens < 5000
    assert budget.spent.calls == 2 and budget.in_flight == 0 and budget.reserved_tokens == 0
    far = RunBudget(prices=PRICES)  # the default limits are far away: nothing is sent
    assert far.reserve(_request(), "m").max_tokens is None


class Verdict(BaseModel):
    ok: bool


async def test_a_failed_structured_exchange_reports_what_it_spent() -> None:
    model = ScriptedModel(["not json", "still not json"])
    with pytest.raises(StructuredOutputError) as failed:
        await run_structured(
            model,
            messages=[ChatMessage(role="user", content="judge")],
            output_type=Verdict,
            agent="qa",
            repair_rounds=1,
        )
    assert failed.value.calls == 2
    assert isinstance(failed.value.usage, Usage) and failed.value.usage.total_tokens > 0
    model = ScriptedModel(["not json", ModelError("timed out", agent="qa")])
    with pytest.raises(ModelError) as broken:
        await run_structured(
            model,
            messages=[ChatMessage(role="user", content="judge")],
            output_type=Verdict,
            agent="qa",
            repair_rounds=1,
        )
    assert broken.value.calls == 2 and broken.value.usage is not None
    assert broken.value.usage.total_tokens > 0
