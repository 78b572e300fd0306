"""Alert adapters: the webhook payload of a monitoring system as the project's alerts.

Each adapter is a pure function from the source's documented payload to a list of
:class:`SourceAlert` (one per alert in the payload): its idempotency ``key``, whether it
is ``firing``, ``resolved`` or ``acknowledged``, and the alert in the project's own shape
(what :func:`nexus_agents.tools.alerts.receive_alert` checks).

What is read, per source:

- Prometheus Alertmanager (webhook version 4) and Grafana unified alerting (the same
  shape plus Grafana's fields): one alert per entry of ``alerts``; ``fingerprint`` is the
  key; ``labels.alertname`` the title; ``labels.service`` (else ``job``) the service;
  ``annotations.summary`` / ``description`` untrusted text; ``startsAt`` the detection
  time; ``labels.severity`` ``critical`` / ``page`` -> P1 floor (``P0``..``P3`` as given).
- PagerDuty Events API v2: ``dedup_key`` is the key; ``event_action`` trigger / resolve /
  acknowledge; ``payload.severity`` critical -> P1, error -> P2, warning / info -> P3;
  ``payload.summary`` untrusted text; ``payload.component`` (else ``group``, else
  ``source``) the service; ``payload.timestamp`` the detection time.
- ``nexus``: the project's own shape, passed through; ``id`` is the key.

Every other field is kept, nested under ``labels`` / ``annotations`` / ``source_fields``,
so it reaches the prompt only as fenced untrusted text: it is never dropped and never
read as a flag, so no label or text can raise a floor by keyword. A PagerDuty
``routing_key`` (a credential) is the one field replaced, by ``[redacted]``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from nexus_agents.exceptions import DataError
from nexus_agents.untrusted_text import INPUT_LIMIT, SAFE_ID

__all__ = [
    "MAX_ALERTS",
    "SOURCES",
    "AlertSource",
    "SourceAlert",
    "adapt",
    "from_alertmanager",
    "from_grafana",
    "from_nexus",
    "from_pagerduty",
]

AlertSource = Literal["alertmanager", "grafana", "pagerduty", "nexus"]
SOURCES: tuple[AlertSource, ...] = ("alertmanager", "grafana", "pagerduty", "nexus")
MAX_ALERTS = 1000
"""Alerts read from one payload; a payload with more is refused, naming the field."""

_LABEL_SEVERITY = {"critical": "P1", "page": "P1", "p0": "P0", "p1": "P1", "p2": "P2", "p3": "P3"}
_PD_SEVERITY = {"critical": "P1", "error": "P2", "warning": "P3", "info": "P3"}
_PD_ACTIONS = {"trigger": "firing", "resolve": "resolved", "acknowledge": "acknowledged"}
_PREFIX = {"alertmanager": "AM", "grafana": "GF", "pagerduty": "PD", "nexus": "ALERT"}
# Alertmanager / Grafana alert entry: fields read by the adapter (the rest is context)
_READ = frozenset({"status", "labels", "annotations", "startsAt", "fingerprint"})
_GROUP_CONTEXT = ("receiver", "groupKey", "externalURL", "groupLabels", "commonLabels")


class SourceAlert(BaseModel):
    """One alert of a source's payload, in the project's shape."""

    model_config = ConfigDict(extra="forbid")

    source: AlertSource
    key: str = Field(description="idempotency key: one open incident run per source and key")
    status: Literal["firing", "resolved", "acknowledged"]
    alert: dict[str, Any] = Field(description="the project's alert shape, for receive_alert")

    @property
    def thread_base(self) -> str:
        """The thread id of the first incident run this alert opens."""
        return f"incident:{self.source}:{self.key}"


def _where(source: str) -> str:
    return f"{source} webhook payload"


def _fail(source: str, field: str, message: str) -> DataError:
    return DataError(_where(source), message, column=field)


def _object(value: Any, source: str, field: str, *, required: bool = False) -> dict[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        got = "nothing" if value is None else type(value).__name__
        raise _fail(source, field, f"must be a JSON object, got {got}")
    return {str(k): v for k, v in value.items()}


def _string(value: Any, source: str, field: str, *, required: bool = False) -> str:
    if value is None or value == "":
        if required:
            raise _fail(source, field, "is required")
        return ""
    if not isinstance(value, str):
        raise _fail(source, field, f"must be a string, got {type(value).__name__}")
    return value[:INPUT_LIMIT]


def _strings(value: Any, source: str, field: str) -> dict[str, str]:
    """A label or annotation set: an object of strings."""
    data = _object(value, source, field)
    for name, item in data.items():
        if not isinstance(item, str):
            raise _fail(source, f"{field}.{name}", f"must be a string, got {type(item).__name__}")
    return {name: item[:INPUT_LIMIT] for name, item in data.items()}


def _key(raw: str, fallback: Any) -> str:
    """A short safe key: the source's own when it is one, else a digest of it (or of
    ``fallback`` when the source gave none)."""
    if raw and SAFE_ID.match(raw):
        return raw
    basis = raw or json.dumps(fallback, sort_keys=True, default=str)
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]


def _alert_id(source: str, key: str) -> str:
    return f"{_PREFIX[source]}-{key}"[:64]


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v not in (None, "", {}, [])}


# --- Alertmanager and Grafana -------------------------------------------------------------


def _grouped(payload: Any, source: AlertSource, extra_group: tuple[str, ...]) -> list[SourceAlert]:
    data = _object(payload, source, "(payload)", required=True)
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        got = "nothing" if alerts is None else type(alerts).__name__
        raise _fail(source, "alerts", f"must be a list of alerts, got {got}")
    if len(alerts) > MAX_ALERTS:
        raise _fail(source, "alerts", f"holds {len(alerts)} alerts; at most {MAX_ALERTS} are read")
    group_status = _string(data.get("status"), source, "status")
    common = _strings(data.get("commonAnnotations"), source, "commonAnnotations")
    group = _compact({k: data.get(k) for k in (*_GROUP_CONTEXT, *extra_group)})
    out = []
    for index, entry in enumerate(alerts):
        out.append(_one_grouped(entry, f"alerts[{index}]", source, group_status, common, group))
    return out


def _one_grouped(
    entry: Any,
    field: str,
    source: AlertSource,
    group_status: str,
    common: dict[str, str],
    group: dict[str, Any],
) -> SourceAlert:
    item = _object(entry, source, field, required=True)
    status = _string(item.get("status"), source, f"{field}.status") or group_status
    if status not in ("firing", "resolved"):
        raise _fail(source, f"{field}.status", f"must be 'firing' or 'resolved', got {status[:40]!r}")
    labels = _strings(item.get("labels"), source, f"{field}.labels")
    annotations = {**common, **_strings(item.get("annotations"), source, f"{field}.annotations")}
    fingerprint = _string(item.get("fingerprint"), source, f"{field}.fingerprint")
    key = _key(fingerprint, sorted(labels.items()))
    rating = _LABEL_SEVERITY.get(labels.get("severity", "").strip().lower())
    service = labels.get("service") or labels.get("job") or ""
    alert = _compact(
        {
            "id": _alert_id(source, key),
            "source": source,
            "title": labels.get("alertname", ""),
            "service": service,
            "summary": annotations.pop("summary", ""),
            "description": annotations.pop("description", ""),
            "severity": rating,
            "detected_at": _string(item.get("startsAt"), source, f"{field}.startsAt") or None,
            # everything else: untrusted context, read by no rule
            "labels": {k: v for k, v in labels.items() if k not in ("alertname",)},
            "annotations": annotations,
            "source_fields": _compact(
                {**{k: v for k, v in item.items() if k not in _READ}, "group": group}
            ),
        }
    )
    return SourceAlert(source=source, key=key, status=status, alert=alert)  # type: ignore[arg-type]


def from_alertmanager(payload: Any) -> list[SourceAlert]:
    """Prometheus Alertmanager webhook (``version`` 4): one alert per entry of ``alerts``."""
    data = _object(payload, "alertmanager", "(payload)", required=True)
    version = data.get("version")
    if version is not None and str(version) != "4":
        raise _fail("alertmanager", "version", f"only webhook version 4 is read, got {str(version)[:20]!r}")
    return _grouped(data, "alertmanager", ("truncatedAlerts",))


def from_grafana(payload: Any) -> list[SourceAlert]:
    """Grafana unified alerting webhook: Alertmanager's shape plus Grafana's own fields
    (``orgId``, ``title``, ``state``, ``message``; per alert ``values``, ``valueString``,
    ``dashboardURL``, ``panelURL``, ``silenceURL``), which are kept as context."""
    return _grouped(
        payload, "grafana", ("orgId", "title", "state", "message", "truncatedAlerts", "version")
    )


# --- PagerDuty -----------------------------------------------------------------------------


def from_pagerduty(payload: Any) -> list[SourceAlert]:
    """PagerDuty Events API v2: one event (trigger, acknowledge or resolve)."""
    src: AlertSource = "pagerduty"
    data = _object(payload, src, "(payload)", required=True)
    action = _string(data.get("event_action"), src, "event_action", required=True)
    if action not in _PD_ACTIONS:
        raise _fail(src, "event_action", f"must be trigger, acknowledge or resolve, got {action[:40]!r}")
    status = _PD_ACTIONS[action]
    dedup = _string(data.get("dedup_key"), src, "dedup_key", required=status != "firing")
    body = _object(data.get("payload"), src, "payload", required=status == "firing")
    rating = None
    if status == "firing":
        level = _string(body.get("severity"), src, "payload.severity", required=True)
        rating = _PD_SEVERITY.get(level)
        if rating is None:
            raise _fail(
                src, "payload.severity", f"must be critical, error, warning or info, got {level[:40]!r}"
            )
        _string(body.get("summary"), src, "payload.summary", required=True)
        _string(body.get("source"), src, "payload.source", required=True)
    key = _key(dedup, {k: body.get(k) for k in ("summary", "source", "component", "group", "class")})
    service = next(
        (_string(body.get(k), src, f"payload.{k}") for k in ("component", "group", "source") if body.get(k)),
        "",
    )
    rest = {k: v for k, v in data.items() if k not in ("event_action", "dedup_key", "payload")}
    if "routing_key" in rest:
        rest["routing_key"] = "[redacted]"  # an integration credential, never stored
    alert = _compact(
        {
            "id": _alert_id(src, key),
            "source": src,
            "title": _string(body.get("class"), src, "payload.class"),
            "service": service,
            "summary": _string(body.get("summary"), src, "payload.summary"),
            "severity": rating,
            "detected_at": _string(body.get("timestamp"), src, "payload.timestamp") or None,
            "source_fields": _compact(
                {
                    **rest,
                    "payload": {
                        k: v for k, v in body.items() if k not in ("summary", "severity", "timestamp")
                    },
                }
            ),
        }
    )
    return [SourceAlert(source=src, key=key, status=status, alert=alert)]  # type: ignore[arg-type]


# --- the project's own shape ----------------------------------------------------------------


def from_nexus(payload: Any) -> list[SourceAlert]:
    """The project's own alert shape, passed through (checked later by ``receive_alert``);
    its ``id`` is the key (a digest of the alert when it has none)."""
    data = _object(payload, "nexus", "(payload)", required=True)
    raw_id = data.get("id")
    key = _key(str(raw_id) if raw_id is not None else "", data)
    return [SourceAlert(source="nexus", key=key, status="firing", alert=data)]


_ADAPTERS: dict[str, Callable[[Any], list[SourceAlert]]] = {
    "alertmanager": from_alertmanager,
    "grafana": from_grafana,
    "pagerduty": from_pagerduty,
    "nexus": from_nexus,
}


def adapt(payload: Any, source: str) -> list[SourceAlert]:
    """The alerts of ``payload`` as sent by ``source`` (one of ``SOURCES``)."""
    adapter = _ADAPTERS.get(source)
    if adapter is None:
        raise DataError("alert source", f"unknown source {source[:40]!r}; use one of {', '.join(SOURCES)}")
    return adapter(payload)
