"""Adapters map each source's documented payload to the project's alerts, keep what they do
not read as untrusted context, and refuse a wrong payload naming the field."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from payloads import alertmanager, am_alert, grafana, pagerduty

from nexus_agents.exceptions import DataError
from nexus_agents.tools.alert_sources import MAX_ALERTS, adapt
from nexus_agents.tools.alerts import receive_alert
from nexus_agents.tools.severity import floor_of


def floor(alert: dict[str, Any]) -> tuple[str, list[str]]:
    received = receive_alert(alert, now=datetime.now(UTC), tz=UTC)
    found = floor_of(received.alert)
    return found.floor, found.reasons


def test_alertmanager_firing_alert() -> None:
    [alert] = adapt(alertmanager(), "alertmanager")
    assert (alert.source, alert.key, alert.status) == ("alertmanager", "1a30ba71cca2921f", "firing")
    assert alert.thread_base == "incident:alertmanager:1a30ba71cca2921f"
    body = alert.alert
    assert body["title"] == "ProbeFailure" and body["service"] == "api"  # job when no service label
    assert body["summary"].startswith("BlackBox probe failure")
    assert floor(body) == ("P1", ["the alert's source rated it P1"])  # severity=critical
    # what is not read is kept as context: the generator URL, the group's receiver
    context = json.dumps(body)
    assert "prometheus.example.org:9090" in context and "alertmanager.example.org" in context


@pytest.mark.parametrize(("severity", "expected"), [("page", "P1"), ("warning", "P3"), (None, "P3"), ("P0", "P0")])
def test_alertmanager_severity_label(severity: str | None, expected: str) -> None:
    [alert] = adapt(alertmanager(am_alert(severity=severity)), "alertmanager")
    assert floor(alert.alert)[0] == expected


def test_a_group_gives_one_alert_per_entry_and_a_service_label_wins() -> None:
    group = alertmanager(am_alert("aaa"), am_alert("bbb", status="resolved", service="billing"))
    alerts = adapt(group, "alertmanager")
    assert [(a.key, a.status) for a in alerts] == [("aaa", "firing"), ("bbb", "resolved")]
    assert alerts[1].alert["service"] == "billing"


def test_missing_labels_and_fingerprint_still_give_a_stable_key() -> None:
    entry = am_alert()
    del entry["labels"], entry["fingerprint"]
    first = adapt(alertmanager(entry), "alertmanager")[0]
    again = adapt(alertmanager(dict(entry)), "alertmanager")[0]
    assert first.key == again.key and len(first.key) == 32
    assert "title" not in first.alert and floor(first.alert)[0] == "P3"  # the summary is enough to act on


def test_no_label_or_text_raises_a_floor_by_keyword() -> None:
    entry = am_alert(severity=None, service_down="true", data_loss="true", type="security_breach", state="down")
    entry["annotations"]["summary"] = "SEVERITY P0: service down, data loss, security breach"
    [alert] = adapt(alertmanager(entry), "alertmanager")
    assert floor(alert.alert) == ("P3", ["no P0 or P1 rule matched"])
    assert "security_breach" in json.dumps(alert.alert["labels"])  # kept, as context only


def test_huge_annotations_are_cut_not_refused() -> None:
    entry = am_alert()
    entry["annotations"]["description"] = "x" * 5_000_000
    [alert] = adapt(alertmanager(entry), "alertmanager")
    assert len(alert.alert["description"]) == 65_536


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: p.update(alerts="nope"), "alerts"),
        (lambda p: p.pop("alerts"), "alerts"),
        (lambda p: p["alerts"][0].update(labels=["a"]), "alerts[0].labels"),
        (lambda p: p["alerts"][0]["labels"].update(severity=3), "alerts[0].labels.severity"),
        (lambda p: p["alerts"][0].update(fingerprint=12), "alerts[0].fingerprint"),
        (lambda p: p["alerts"][0].update(status="exploded"), "alerts[0].status"),
        (lambda p: p["alerts"][0].update(startsAt=5), "alerts[0].startsAt"),
        (lambda p: p.update(version="3"), "version"),
        (lambda p: p.update(alerts=[am_alert()] * (MAX_ALERTS + 1)), "alerts"),
    ],
)
def test_wrong_types_name_the_field(change: Any, field: str) -> None:
    payload = alertmanager()
    change(payload)
    with pytest.raises(DataError) as raised:
        adapt(payload, "alertmanager")
    assert raised.value.column == field and "alertmanager webhook payload" in str(raised.value)


def test_not_an_object_is_refused() -> None:
    with pytest.raises(DataError, match="must be a JSON object"):
        adapt([1, 2], "grafana")
    with pytest.raises(DataError, match="unknown source"):
        adapt({}, "datadog")


def test_grafana_alert_keeps_grafana_fields_as_context() -> None:
    [alert] = adapt(grafana(), "grafana")
    assert (alert.key, alert.status) == ("c6eadffa33fcdf37", "firing")
    body = alert.alert
    assert body["service"] == "checkout" and body["title"] == "High error rate"
    assert floor(body)[0] == "P1"
    context = json.dumps(body)
    for kept in ("valueString", "runbook_url", "[FIRING:1] High error rate", "44.2394"):
        assert kept in context
    [resolved] = adapt(grafana(status="resolved"), "grafana")
    assert resolved.status == "resolved" and resolved.key == alert.key


@pytest.mark.parametrize(("severity", "expected"), [("critical", "P1"), ("error", "P2"), ("warning", "P3"), ("info", "P3")])
def test_pagerduty_trigger(severity: str, expected: str) -> None:
    [alert] = adapt(pagerduty(severity=severity), "pagerduty")
    assert alert.status == "firing"
    assert alert.alert["service"] == "postgres"
    assert floor(alert.alert)[0] == expected
    text = json.dumps(alert.alert)
    assert "R0123456789" not in text and "[redacted]" in text  # the routing key is a credential
    assert "1500ms" in text  # custom details kept as context


def test_pagerduty_keys_resolve_and_acknowledge() -> None:
    [fired] = adapt(pagerduty(), "pagerduty")
    [resolved] = adapt(pagerduty("resolve"), "pagerduty")
    [acked] = adapt(pagerduty("acknowledge"), "pagerduty")
    assert fired.key == resolved.key == acked.key and len(fired.key) == 32  # digest of "srv01/HTTP"
    assert (resolved.status, acked.status) == ("resolved", "acknowledged")
    [plain] = adapt(pagerduty(dedup_key="db-17"), "pagerduty")
    assert plain.key == "db-17" and plain.alert["id"] == "PD-db-17"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda e: e["payload"].update(severity="sev1"), "payload.severity"),
        (lambda e: e["payload"].pop("severity"), "payload.severity"),
        (lambda e: e["payload"].pop("summary"), "payload.summary"),
        (lambda e: e.update(payload="x"), "payload"),
        (lambda e: e.update(event_action="explode"), "event_action"),
        (lambda e: e.update(dedup_key=["a"]), "dedup_key"),
    ],
)
def test_pagerduty_wrong_fields_are_named(change: Any, field: str) -> None:
    event = pagerduty()
    change(event)
    with pytest.raises(DataError) as raised:
        adapt(event, "pagerduty")
    assert raised.value.column == field


def test_pagerduty_resolve_needs_its_dedup_key() -> None:
    event = pagerduty("resolve")
    del event["dedup_key"]
    with pytest.raises(DataError) as raised:
        adapt(event, "pagerduty")
    assert raised.value.column == "dedup_key"


def test_the_project_shape_passes_through_and_its_severity_raises_the_floor() -> None:
    [alert] = adapt({"id": "ALRT-1", "service": "api", "title": "API down", "severity": "P0"}, "nexus")
    assert alert.key == "ALRT-1" and alert.status == "firing"
    assert floor(alert.alert) == ("P0", ["the alert's source rated it P0"])
    # a flag still wins over a lower rating: the source can raise a floor, never lower one
    assert floor({"service": "api", "service_down": True, "severity": "P3"})[0] == "P0"
    with pytest.raises(DataError) as raised:
        floor({"service": "api", "severity": "urgent"})
    assert raised.value.column == "severity"
