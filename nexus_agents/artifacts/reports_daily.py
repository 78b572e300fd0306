"""Daily outputs: metrics snapshot, support ticket summary, health status report."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nexus_agents.artifacts.base import Artifact, Facts, Narrative
from nexus_agents.artifacts.facts import CountItem, KpiValue
from nexus_agents.artifacts.narrative import Action, Bullets, Line, Text

__all__ = [
    "DailyMetricsSnapshot",
    "DailyMetricsSnapshotFacts",
    "DailyMetricsSnapshotNarrative",
    "HealthStatusFacts",
    "HealthStatusNarrative",
    "HealthStatusReport",
    "SupportTicketSummary",
    "SupportTicketSummaryFacts",
    "SupportTicketSummaryNarrative",
]


class DailyMetricsSnapshotFacts(Facts):
    date: str = Field(description="YYYY-MM-DD")
    kpis: list[KpiValue] = Field(default_factory=list)
    kpis_off_target: int = Field(default=0, ge=0)
    loop_iteration: int | None = Field(
        default=None, description="improvement-loop ledger the KPIs are compared with"
    )
    since_last_iteration: list[KpiValue] = Field(
        default_factory=list, description="each KPI vs its value in that loop ledger"
    )


class DailyMetricsSnapshotNarrative(Narrative):
    headline: Line
    status: Literal["on_track", "watch", "off_track"]
    highlights: Bullets
    concerns: Bullets
    follow_ups: Bullets


class DailyMetricsSnapshot(Artifact[DailyMetricsSnapshotFacts, DailyMetricsSnapshotNarrative]):
    kind = "daily_metrics_snapshot"
    title = "Daily metrics snapshot"


class SupportTicketSummaryFacts(Facts):
    period: str
    tickets_opened: int = Field(ge=0)
    tickets_resolved: int = Field(ge=0)
    open_backlog: int = Field(ge=0)
    median_first_response_hours: float | None = None
    sla_attainment_pct: float | None = Field(default=None, description="first response < 4 h")
    median_resolution_hours: float | None = None
    csat: float | None = None
    sla_breaches: int = Field(default=0, ge=0)
    by_category: list[CountItem] = Field(default_factory=list)


class SupportTicketSummaryNarrative(Narrative):
    summary: Text
    top_issues: Bullets
    escalations: Bullets = Field(description="tickets that point at an incident or a bug")
    actions: list[Action] = Field(max_length=10)


class SupportTicketSummary(Artifact[SupportTicketSummaryFacts, SupportTicketSummaryNarrative]):
    kind = "support_ticket_summary"
    title = "Support ticket summary"


class HealthStatusFacts(Facts):
    date: str
    uptime_pct: float | None = None
    uptime_target_pct: float = 99.9
    mttr_minutes: float | None = None
    mttr_target_minutes: float = 30.0
    open_incidents: int = Field(default=0, ge=0)
    p95_latency_ms: float | None = None
    error_rate_pct: float | None = None
    last_backup_ok: bool | None = None
    capacity: list[KpiValue] = Field(
        default_factory=list, description="utilisation percent per resource"
    )
    uptime_by_service: list[KpiValue] = Field(default_factory=list)
    deploys: int = Field(default=0, ge=0, description="deployments in the period")
    failed_deploys: int = Field(default=0, ge=0, description="failed or rolled back")


class HealthStatusNarrative(Narrative):
    status: Literal["healthy", "degraded", "critical"]
    summary: Text
    risks: Bullets
    actions: list[Action] = Field(max_length=10)


class HealthStatusReport(Artifact[HealthStatusFacts, HealthStatusNarrative]):
    kind = "health_status_report"
    title = "Health status report"
