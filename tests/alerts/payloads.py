"""Webhook payloads written from each source's published documentation (Prometheus
Alertmanager webhook_config version 4, Grafana's webhook notifier, PagerDuty Events API v2),
with times near the clock so they pass the alert time window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def recent(minutes: int = 5) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


def am_alert(
    fingerprint: str = "1a30ba71cca2921f",
    *,
    status: str = "firing",
    severity: str | None = "critical",
    **labels: str,
) -> dict[str, Any]:
    all_labels = {"alertname": "ProbeFailure", "instance": "https://api.example.org", "job": "api", **labels}
    if severity is not None:
        all_labels["severity"] = severity
    return {
        "status": status,
        "labels": all_labels,
        "annotations": {
            "summary": "BlackBox probe failure: https://api.example.org",
            "description": "Instance https://api.example.org has been down for over 5m.",
        },
        "startsAt": recent(),
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else recent(1),
        "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0",
        "fingerprint": fingerprint,
    }


def alertmanager(*alerts: dict[str, Any], status: str | None = None) -> dict[str, Any]:
    alerts = alerts or (am_alert(),)
    return {
        "version": "4",
        "groupKey": '{}/{severity="critical"}:{alertname="ProbeFailure"}',
        "truncatedAlerts": 0,
        "status": status or alerts[0]["status"],
        "receiver": "nexus",
        "groupLabels": {"alertname": "ProbeFailure"},
        "commonLabels": {"alertname": "ProbeFailure"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.org:9093",
        "alerts": list(alerts),
    }


def grafana(*, status: str = "firing", severity: str | None = "critical") -> dict[str, Any]:
    labels = {"alertname": "High error rate", "team": "blue", "service": "checkout"}
    if severity is not None:
        labels["severity"] = severity
    return {
        "receiver": "nexus",
        "status": status,
        "orgId": 1,
        "alerts": [
            {
                "status": status,
                "labels": labels,
                "annotations": {
                    "description": "checkout returns 500 for most requests",
                    "runbook_url": "https://runbooks.example.org/checkout",
                    "summary": "Error rate above threshold on checkout",
                },
                "startsAt": recent(),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "https://grafana.example.org/alerting/1afz29v7z/edit",
                "fingerprint": "c6eadffa33fcdf37",
                "silenceURL": "https://grafana.example.org/alerting/silence/new",
                "dashboardURL": "",
                "panelURL": "",
                "values": {"B": 44.23943737541908, "C": 1},
                "valueString": "[ var='B' labels={} value=44.2 ]",
            }
        ],
        "groupLabels": {"alertname": "High error rate"},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "https://grafana.example.org/",
        "version": "1",
        "groupKey": '{}:{alertname="High error rate"}',
        "truncatedAlerts": 0,
        "title": "[FIRING:1] High error rate",
        "state": "alerting",
        "message": "**Firing** checkout error rate",
    }


def pagerduty(
    action: str = "trigger", *, severity: str = "critical", dedup_key: str = "srv01/HTTP"
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "routing_key": "R0123456789ABCDEFGHIJKLMNOPQRSTU",
        "event_action": action,
        "dedup_key": dedup_key,
    }
    if action == "trigger":
        event.update(
            payload={
                "summary": "Example alert on host1.example.com",
                "timestamp": recent(),
                "source": "monitoringtool:cloudvendor:central-region-dc-01:852559987",
                "severity": severity,
                "component": "postgres",
                "group": "prod-datapipe",
                "class": "deploy",
                "custom_details": {"ping time": "1500ms", "load avg": 0.75},
            },
            client="Sample Monitoring Service",
            client_url="https://monitoring.example.com",
            links=[{"href": "https://example.com/", "text": "Link text"}],
        )
    return event
