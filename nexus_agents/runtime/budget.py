"""Per-run budgets on model calls, tokens and cost, enforced around every model call.

Before a call starts, it reserves what it may spend at most: one call, its estimated
prompt tokens plus the completion tokens it is allowed (``max_tokens`` is capped to half
of what the token and cost limits leave), and their cost; a call that does not fit is
refused with ``BudgetExceededError``. Calls running at the same time (parallel branches)
reserve from one shared budget under a lock, so together they cannot overshoot it. When
a call returns, its reservation is replaced by what it really spent; a failed call
counts as a call.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson
from pydantic import BaseModel

from nexus_agents.config import RunLimits
from nexus_agents.exceptions import BudgetExceededError
from nexus_agents.llm.interface import ChatModel, ChatRequest, ChatResponse, Usage
from nexus_agents.llm.pricing import PriceTable

# A call is not started unless its answer may be at least this long: a shorter one would be
# cut off and wasted.
MIN_COMPLETION_TOKENS = 256
# What a call is assumed to answer at most when ``max_tokens`` is not set. ``max_tokens`` is
# only sent when the budget allows less, since some servers reject values above their own
# output limit.
OUTPUT_CEILING_TOKENS = 16_384
_CHARS_PER_TOKEN = 4
_TOKENS_PER_MESSAGE = 4


class BudgetState(BaseModel):
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float = 0.0


@dataclass(frozen=True)
class Reservation:
    """What one call may spend at most, held from before it starts until it returns."""

    tokens: int
    cost_usd: float
    max_tokens: int | None  # the cap to send with the request (None: leave it as it is)


def estimate_prompt_tokens(request: ChatRequest) -> int:
    """About how many prompt tokens ``request`` costs: its messages, tool definitions and
    response schema at four characters per token (the usual rate for English and JSON)."""
    chars = 0
    for message in request.messages:
        chars += len(message.content or "")
        chars += sum(len(call.arguments) + len(call.name) for call in message.tool_calls)
    for tool in request.tools:
        chars += len(tool.name) + len(tool.description) + len(orjson.dumps(tool.parameters, default=str))
    if request.response_format is not None:
        chars += len(orjson.dumps(request.response_format.json_schema, default=str))
    return math.ceil(chars / _CHARS_PER_TOKEN) + _TOKENS_PER_MESSAGE * len(request.messages)


class RunBudget:
    """What a run has spent and what its calls in flight have reserved, against its limits.

    ``spent`` starts from what the run store recorded for the run (earlier attempts and
    failed steps included), so a budget holds across resumes.
    """

    def __init__(
        self,
        limits: RunLimits | None = None,
        spent: BudgetState | None = None,
        prices: PriceTable | None = None,
    ) -> None:
        self.limits = limits or RunLimits()
        self.spent = spent or BudgetState()
        self.prices = prices or PriceTable()
        self.in_flight = 0
        self.reserved_tokens = 0
        self.reserved_cost_usd = 0.0
        self._lock = threading.Lock()

    def reserve(self, request: ChatRequest, model: str) -> Reservation:
        """Reserve what ``request`` to ``model`` may spend, or raise ``BudgetExceededError``."""
        prompt = estimate_prompt_tokens(request)  # reads only the request: no lock needed
        with self._lock:
            self._check_calls(request.agent)
            room = self._token_room(request.agent, prompt)
            price = self.prices.lookup(model)
            if price is not None:
                room = _smaller(room, self._cost_room(request.agent, prompt, model))
            if room is not None:
                # one call may take half of what is left, so calls starting alongside it
                # (parallel branches) still find room
                room = min(room, max(MIN_COMPLETION_TOKENS, room // 2))
            cap = _smaller(room, request.max_tokens)
            completion = OUTPUT_CEILING_TOKENS if cap is None else min(cap, OUTPUT_CEILING_TOKENS)
            cost = self.prices.cost(model, prompt, completion).usd if price is not None else 0.0
            reservation = Reservation(
                tokens=prompt + completion,
                cost_usd=cost,
                max_tokens=cap if cap is not None and cap < OUTPUT_CEILING_TOKENS else None,
            )
            self.in_flight += 1
            self.reserved_tokens += reservation.tokens
            self.reserved_cost_usd += reservation.cost_usd
            return reservation

    def settle(self, reservation: Reservation, usage: Usage | None) -> None:
        """Replace ``reservation`` by what the call spent (``None``: it failed, no usage)."""
        with self._lock:
            self.in_flight -= 1
            self.reserved_tokens -= reservation.tokens
            self.reserved_cost_usd -= reservation.cost_usd
            self._add(usage or Usage())

    # -- under the lock ------------------------------------------------------------

    def _add(self, usage: Usage) -> None:
        s = self.spent
        s.calls += max(usage.calls, 1)
        s.prompt_tokens += usage.prompt_tokens
        s.completion_tokens += usage.completion_tokens
        s.total_tokens += usage.total_tokens
        s.cost_usd += usage.cost_usd

    def _flying(self, reserved: str | None = None) -> str:
        """`` (+what the calls in flight reserved)``, or nothing when none is."""
        if not self.in_flight:
            return ""
        if reserved is None:
            return f" (+{self.in_flight} in flight)"
        calls = "call" if self.in_flight == 1 else "calls"
        return f" (+{reserved} reserved by {self.in_flight} {calls} in flight)"

    def _check_calls(self, agent: str | None) -> None:
        limit = self.limits.max_model_calls
        if limit is not None and self.spent.calls + self.in_flight >= limit:
            raise BudgetExceededError(
                f"run budget exhausted: {self.spent.calls} model calls made"
                f"{self._flying()}, limit is {limit}{_who(agent)}"
            )

    def _token_room(self, agent: str | None, prompt: int) -> int | None:
        """Completion tokens the token limit leaves for a call with ``prompt`` tokens."""
        limit = self.limits.max_tokens
        if limit is None:
            return None
        room = limit - self.spent.total_tokens - self.reserved_tokens - prompt
        if room < MIN_COMPLETION_TOKENS:
            raise BudgetExceededError(
                f"run budget exhausted: {self.spent.total_tokens} tokens used"
                f"{self._flying(str(self.reserved_tokens))}"
                f", limit is {limit}; the next call{_who(agent)} needs about {prompt} prompt"
                f" tokens and at least {MIN_COMPLETION_TOKENS} for its answer"
            )
        return room

    def _cost_room(self, agent: str | None, prompt: int, model: str) -> int | None:
        """Completion tokens the cost limit leaves for a call with ``prompt`` tokens."""
        limit = self.limits.max_cost_usd
        price = self.prices.lookup(model)
        if limit is None or price is None:
            return None
        left = limit - self.spent.cost_usd - self.reserved_cost_usd
        left -= prompt * price.input / 1_000_000
        room = math.floor(left / (price.output / 1_000_000)) if price.output > 0 else None
        if left < 0 or (room is not None and room < MIN_COMPLETION_TOKENS):
            need = self.prices.cost(model, prompt, MIN_COMPLETION_TOKENS).usd
            raise BudgetExceededError(
                f"run budget exhausted: ${self.spent.cost_usd:.4f} spent"
                f"{self._flying(f'${self.reserved_cost_usd:.4f}')}"
                f", limit is ${limit:.4f}; the next call{_who(agent)} would cost about"
                f" ${need:.4f} at least"
            )
        return room


def _who(agent: str | None) -> str:
    return f" (by {agent})" if agent else ""


def _smaller(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


CallListener = Callable[[ChatRequest, ChatResponse | None, BaseException | None], Awaitable[None]]


class MeteredModel:
    """A ChatModel wrapper that enforces a RunBudget and reports every call to listeners."""

    def __init__(
        self,
        inner: ChatModel,
        budget: RunBudget,
        listeners: list[CallListener] | None = None,
    ) -> None:
        self.inner = inner
        self.budget = budget
        self.listeners = list(listeners or [])

    @property
    def default_model(self) -> str:
        return self.inner.default_model

    async def complete(self, request: ChatRequest) -> ChatResponse:
        reservation = self.budget.reserve(request, request.model or self.inner.default_model)
        if reservation.max_tokens is not None:
            request = request.model_copy(update={"max_tokens": reservation.max_tokens})
        try:
            response = await self.inner.complete(request)
        except BaseException as exc:
            self.budget.settle(reservation, None)
            for listener in self.listeners:
                await listener(request, None, exc)
            raise
        self.budget.settle(reservation, response.usage)
        for listener in self.listeners:
            await listener(request, response, None)
        return response
