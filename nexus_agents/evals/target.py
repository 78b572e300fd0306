"""What an eval runs: the protocol between the runner and the thing under test.

A ``TargetRunner`` receives the case and a ``RunEnv`` and returns a ``TargetOutput``.
It must send every model request to ``env.base_url`` with ``env.api_key`` through an
HTTP client from ``env.http_client()``, setting the ``X-Nexus-Agent`` header to the
calling agent's slug, and work on the copy of the fixture in ``env.workspace``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from nexus_agents.llm.interface import Usage

if TYPE_CHECKING:
    import httpx

    from nexus_agents.evals.case import EvalCase

RunMode = Literal["replay", "live", "record"]


class TrajectoryToolCall(BaseModel):
    """A tool call in the trajectory of a run: which agent called which tool with what."""

    model_config = ConfigDict(extra="forbid")

    tool: str
    agent: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)


class ActionRecord(BaseModel):
    """A side effect the run executed (deploy, rollback, page, ...)."""

    model_config = ConfigDict(extra="forbid")

    action: str
    agent: str | None = None
    approved: bool = Field(default=False, description="a human approval was recorded for it")
    args: dict[str, Any] = Field(default_factory=dict)


class Trajectory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agents: list[str] = Field(default_factory=list, description="agents in the order they ran")
    tool_calls: list[TrajectoryToolCall] = Field(default_factory=list)
    actions: list[ActionRecord] = Field(default_factory=list)


class TargetOutput(BaseModel):
    """Everything the run produced. ``error`` is a readable failure of the run itself."""

    model_config = ConfigDict(extra="forbid")

    artifacts: dict[str, Any] = Field(default_factory=dict)
    state: dict[str, Any] = Field(default_factory=dict)
    trajectory: Trajectory = Field(default_factory=Trajectory)
    usage: Usage = Field(default_factory=Usage)
    models: list[str] = Field(default_factory=list, description="model ids actually used")
    error: str | None = None


def _plain_client() -> httpx.AsyncClient:
    import httpx

    return httpx.AsyncClient()


@dataclass(frozen=True)
class RunEnv:
    """Where and how the target runs one case."""

    mode: RunMode
    base_url: str
    api_key: SecretStr
    workspace: Path
    now: datetime
    config_overrides: dict[str, Any] = field(default_factory=dict)
    case_file: Path | None = None
    http_client_factory: Callable[[], httpx.AsyncClient] = _plain_client

    def http_client(self) -> httpx.AsyncClient:
        """A new HTTP client for the model client (recording or replayed as needed)."""
        return self.http_client_factory()


TargetRunner = Callable[["EvalCase", RunEnv], Awaitable[TargetOutput]]
