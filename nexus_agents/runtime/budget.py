"""Per-run budgets on model calls, tokens and cost, enforced around every model call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pydantic import BaseModel

from nexus_agents.config import RunLimits
from nexus_agents.exceptions import BudgetExceededError
from nexus_agents.llm.interface import ChatModel, ChatRequest, ChatResponse, Usage


class BudgetState(BaseModel):
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float = 0.0


class RunBudget:
    """Counts what a run has spent and refuses a call that would start past a limit.

    The check happens before a call (so a run stops cleanly between calls) and the
    spend is added after it; a call already in flight is allowed to finish.
    """

    def __init__(self, limits: RunLimits | None = None, spent: BudgetState | None = None) -> None:
        self.limits = limits or RunLimits()
        self.spent = spent or BudgetState()

    def check(self, agent: str | None = None) -> None:
        lim, s = self.limits, self.spent
        who = f" (next call by {agent})" if agent else ""
        if lim.max_model_calls is not None and s.calls >= lim.max_model_calls:
            raise BudgetExceededError(
                f"run budget exhausted: {s.calls} model calls made, limit is {lim.max_model_calls}{who}"
            )
        if lim.max_tokens is not None and s.total_tokens >= lim.max_tokens:
            raise BudgetExceededError(
                f"run budget exhausted: {s.total_tokens} tokens used, limit is {lim.max_tokens}{who}"
            )
        if lim.max_cost_usd is not None and s.cost_usd >= lim.max_cost_usd:
            raise BudgetExceededError(
                f"run budget exhausted: ${s.cost_usd:.4f} spent, limit is ${lim.max_cost_usd:.2f}{who}"
            )

    def add(self, usage: Usage) -> None:
        s = self.spent
        s.calls += max(usage.calls, 1)
        s.prompt_tokens += usage.prompt_tokens
        s.completion_tokens += usage.completion_tokens
        s.total_tokens += usage.total_tokens
        s.cost_usd += usage.cost_usd


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
        self.budget.check(request.agent)
        try:
            response = await self.inner.complete(request)
        except BaseException as exc:
            for listener in self.listeners:
                await listener(request, None, exc)
            raise
        self.budget.add(response.usage)
        for listener in self.listeners:
            await listener(request, response, None)
        return response
