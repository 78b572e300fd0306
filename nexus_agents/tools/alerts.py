"""An alert received from outside (run input, scheduler trigger, uptime checks), checked at
the boundary.

Only the fields of :class:`~nexus_agents.tools.severity.Alert` plus ``id``,
``detected_at``, ``source``, ``summary`` and ``severity`` (P0-P3, the source's own rating:
it can raise the floor, never lower it) are read; a scheduler trigger's ``details``
(uptime checks) are turned into those fields: every checked service failing is
``service_down``, any failing is ``checks_failing`` (P1). Any other key is kept only as untrusted
context text for the prompt: it never reaches run state, an artifact's structure or the
facts. ``detected_at`` must lie within ``MAX_AGE`` before and ``MAX_AHEAD`` after the
moment the run looks from, and an alert must carry something to act on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nexus_agents.artifacts.facts import SEVERITY_ORDER
from nexus_agents.exceptions import DataError
from nexus_agents.tools.severity import Alert
from nexus_agents.untrusted_text import safe_id

__all__ = ["MAX_AGE", "MAX_AHEAD", "ReceivedAlert", "receive_alert"]

FILE = "inputs.alert"
MAX_AGE = timedelta(days=31)
MAX_AHEAD = timedelta(hours=1)
_OWN_KEYS = frozenset({"id", "detected_at", "source", "summary", "details", "severity"})
# a scheduler trigger (``Trigger``) carries this; it is read through ``details``
_TRIGGER_KEYS = frozenset({"kind"})
_EXTRA_TEXT_MAX = 8000


class ReceivedAlert(BaseModel):
    """A checked alert: what code may use (``alert``, ``id``, ``detected_at``) and what
    only the prompt sees, fenced as data (``summary`` and ``unrecognised``)."""

    model_config = ConfigDict(extra="forbid")

    alert: Alert
    id: str | None = Field(default=None, description="a short identifier, or None")
    detected_at: datetime | None = None
    source: str = "alert"
    summary: str = ""
    unrecognised: str = Field(default="", description="unknown keys, as untrusted text")

    def as_input(self) -> dict[str, Any]:
        """The checked alert as a plain mapping (only known keys), for the run state."""
        data = self.alert.model_dump(mode="json", exclude_defaults=True)
        data.update({"source": self.source})
        if self.id:
            data["id"] = self.id
        if self.detected_at is not None:
            data["detected_at"] = self.detected_at.isoformat()
        if self.summary:
            data["summary"] = self.summary
        return data



def _flatten(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A scheduler trigger's ``details`` as alert fields (the trigger's own keys win)."""
    data = dict(raw)
    details = data.pop("details", None)
    if not isinstance(details, Mapping):
        return data
    down, checked = details.get("services_down"), details.get("services_checked")
    if down and checked and sorted(map(str, down)) == sorted(map(str, checked)):
        data.setdefault("service_down", True)
    if down:
        data.setdefault("checks_failing", [str(s) for s in down])
    if down and not data.get("service"):
        data["service"] = ",".join(str(s) for s in down)
    if details.get("first_failure_seen") and not data.get("detected_at"):
        data["detected_at"] = details["first_failure_seen"]
    if details.get("source") and not data.get("source"):
        data["source"] = details["source"]
    return data


def _unrecognised(raw: Mapping[str, Any], known: set[str]) -> str:
    parts = []
    for key, value in raw.items():
        if str(key) in known:
            continue
        shown = value if isinstance(value, str) else json.dumps(value, default=str)
        parts.append(f"{str(key)[:40]}: {shown}")
    text = "; ".join(parts)
    if len(text) > _EXTRA_TEXT_MAX:
        text = f"{text[:_EXTRA_TEXT_MAX]} [cut {len(text) - _EXTRA_TEXT_MAX} chars]"
    return text


def _when(value: Any, *, now: Sequence[datetime], tz: tzinfo) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        raise DataError(FILE, f"not an ISO 8601 time: {str(value)[:40]!r}", column="detected_at") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    moments = [m if m.tzinfo else m.replace(tzinfo=tz) for m in now]
    if not any(m - MAX_AGE <= moment <= m + MAX_AHEAD for m in moments):
        first = moments[0]
        raise DataError(
            FILE,
            f"{moment.isoformat()} is outside the accepted window "
            f"({(first - MAX_AGE).isoformat()} .. {(first + MAX_AHEAD).isoformat()}): an alert is "
            f"at most {MAX_AGE.days} days old and at most {int(MAX_AHEAD.total_seconds() // 60)} "
            "minutes ahead of the clock",
            column="detected_at",
        )
    return moment


def _severity(value: Any) -> str | None:
    """The source's rating given as ``severity``: P0..P3 (any case), or None when absent."""
    if value is None or value == "":
        return None
    text = str(value).strip().upper()
    if text not in SEVERITY_ORDER:
        raise DataError(
            FILE,
            f"must be one of {', '.join(SEVERITY_ORDER)} (the source's own rating), "
            f"got {str(value)[:40]!r}",
            column="severity",
        )
    return text


def _actionable(alert: Alert, summary: str) -> bool:
    flags = (
        alert.service_down,
        alert.data_loss,
        alert.security_breach,
        alert.user_data_affected,
        alert.major_feature_broken,
        alert.revenue_impact,
        bool(alert.checks_failing),
        alert.source_severity is not None,
    )
    measured = (alert.error_rate, alert.latency_ms, alert.users_affected)
    described = (alert.service, alert.title, alert.description, summary)
    return any(flags) or any(m is not None for m in measured) or any(t.strip() for t in described)


def receive_alert(
    raw: Any, *, now: datetime | Sequence[datetime], tz: tzinfo
) -> ReceivedAlert:
    """Check an alert given to a run; a ``DataError`` on ``inputs.alert`` names the field.

    ``now`` is the moment the run looks from, or several (the run's clock and the moment
    a report is written as of): a time near any of them is accepted. ``tz`` localises
    naive times.
    """
    if not isinstance(raw, Mapping):
        raise DataError(FILE, f"an alert must be a mapping of fields, got {type(raw).__name__}")
    data = _flatten(raw)
    known = set(Alert.model_fields) | _OWN_KEYS
    if "details" in raw or raw.get("kind") == "incident":
        known |= _TRIGGER_KEYS
    rating = _severity(data.get("severity"))
    if rating is not None:
        data.setdefault("source_severity", rating)
    try:
        alert = Alert.model_validate({k: v for k, v in data.items() if k in Alert.model_fields})
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        column = ".".join(str(p) for p in err["loc"]) or None
        raise DataError(FILE, str(err["msg"]), column=column) from None
    summary = data.get("summary")
    summary = summary if isinstance(summary, str) else ""
    if not _actionable(alert, summary):
        raise DataError(
            FILE,
            "the alert has nothing to act on: give a service, a flag (service_down, data_loss, "
            "security_breach, major_feature_broken ...), a measurement (error_rate, latency_ms, "
            "users_affected) or a description",
        )
    return ReceivedAlert(
        alert=alert,
        id=safe_id(data.get("id")),
        detected_at=_when(
            data.get("detected_at"), now=[now] if isinstance(now, datetime) else list(now), tz=tz
        ),
        source=safe_id(data.get("source")) or "alert",
        summary=summary,
        unrecognised=_unrecognised(data, known),
    )
