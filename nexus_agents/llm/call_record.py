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
