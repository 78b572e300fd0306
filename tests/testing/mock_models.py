"""Nested pydantic models whose JSON schemas the mock server must satisfy."""

from __future__ import annotations

import datetime as dt
from enum import Enum, StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


class Status(Enum):
    INVESTIGATING = "investigating"
    MITIGATING = "mitigating"
    RESOLVED = "resolved"


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: str = Field(min_length=3, max_length=40)
    owner: str
    deadline: dt.date
    done: bool = False


class Rollback(BaseModel):
    kind: Literal["rollback"]
    version: str = Field(min_length=1)


class Restart(BaseModel):
    kind: Literal["restart"]
    replicas: int = Field(ge=1, le=12)


class Incident(BaseModel):
    model_config = ConfigDict(extra="forbid")

    severity: Severity
    status: Status
    detected_at: dt.datetime
    title: str = Field(min_length=5, max_length=80)
    error_rate: float = Field(ge=0.0, le=1.0)
    affected_users: int = Field(ge=0)
    latency_factor: float = Field(gt=1.0, lt=10.0)
    workaround: str | None = None
    eta_minutes: int | None = Field(default=None, gt=0, le=240)
    actions: list[Action] = Field(min_length=1, max_length=4)
    tags: set[str] = Field(default_factory=set, max_length=3)
    mitigation: Annotated[Rollback | Restart, Field(discriminator="kind")]
    counts: dict[str, int] = Field(default_factory=dict)
    window: tuple[int, str]


class Thread(BaseModel):
    """Self-referencing: the generator must find a way out of the recursion."""

    text: str
    replies: list[Thread] = Field(default_factory=list)
    parent: Thread | None = None
