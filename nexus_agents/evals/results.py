"""Result records of one eval run (the body of the JSON report)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from nexus_agents.evals.target import Trajectory
from nexus_agents.llm.interface import Usage

CheckKind = Literal["assertion", "trajectory", "budget", "replay", "rubric"]
CheckStatus = Literal["passed", "failed", "skipped"]
CaseStatus = Literal["passed", "failed", "error"]


class EvalCheckResult(BaseModel):
    """One scored check. ``reason`` says why it failed or was skipped."""

    model_config = ConfigDict(extra="forbid")

    kind: CheckKind
    name: str
    status: CheckStatus
    weight: float = 1.0
    gate: bool = True
    reason: str = ""
    actual: Any = None

    @property
    def passed(self) -> bool:
        return self.status == "passed"


class CaseResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    version: int
    title: str
    tags: list[str] = Field(default_factory=list)
    file: str | None = None
    target: str
    status: CaseStatus
    score: float = Field(ge=0, le=1)
    checks: list[EvalCheckResult] = Field(default_factory=list)
    trajectory: Trajectory = Field(default_factory=Trajectory)
    usage: Usage = Field(default_factory=Usage)
    wall_seconds: float = 0.0
    unplayed: list[str] = Field(default_factory=list)
    unexpected: list[str] = Field(default_factory=list)
    error: str | None = None
    cassette_written: str | None = None

    @property
    def failed_gates(self) -> list[EvalCheckResult]:
        return [c for c in self.checks if c.gate and c.status == "failed"]
