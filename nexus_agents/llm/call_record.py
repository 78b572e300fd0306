"""One record per model call, handed to an ``on_call`` hook (the run store keeps them)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from nexus_agents.llm.interface import Usage


class CallRecord(BaseModel):
    """What happened in one ``ChatModel.complete`` call, retries included."""

    model_config = ConfigDict(extra="forbid")

    agent: str | None
    model: str
    status: Literal["ok", "error"]
    usage: Usage = Field(default_factory=Usage)
    latency_ms: float = 0.0
    attempts: int = 1
    http_status: int | None = None
    error: str | None = Field(default=None, description="readable reason; never holds secrets")
    priced: bool = True
    response_format: Literal["json_schema", "json_object", "none"] = "none"


class UsageRecord(BaseModel):
    """One model call as the run store keeps it: the run and step it belongs to, and its cost."""

    run_id: str
    step: str
    agent: str | None = None
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    status: str = "ok"
    at: str = ""

    @classmethod
    def of_call(cls, call: BaseModel, *, run_id: str, step: str, agent: str | None) -> UsageRecord:
        """The stored form of one call of a step (a ``ModelCall``); ``agent`` when it names none."""
        fields = call.model_dump(exclude={"agent"})
        return cls(run_id=run_id, step=step, **fields, agent=getattr(call, "agent", None) or agent)
