"""Row models shared by several tools (field names match the workspace tables)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict


class UserRecord(BaseModel):
    """A signed-up user; extra columns are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    user_id: str
    signup_at: datetime
    activated_at: datetime | None = None
    channel: str | None = None


class ActivityRecord(BaseModel):
    """A day on which a user was active."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    user_id: str
    active_on: date
