"""Continuous checks return a Trigger only when something is wrong."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from nexus_agents.checks.deploys import pipeline_health
from nexus_agents.checks.support import first_response_sla
from nexus_agents.checks.uptime import detect_incident
from nexus_agents.exceptions import DataError
from nexus_agents.periods import parse_period
from nexus_agents.schedule.checks import CheckContext, resolve_check, run_check
from nexus_agents.schedule.jobs import CadenceJob

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def ctx(workspace: Path, check: str = "nexus_agents.checks.uptime:detect_incident") -> CheckContext:
    job = CadenceJob(id="watch", cadence="continuous", agent="infrastructure_maintainer",
                     cron="*/5 * * * *", check=check)
    return CheckContext(job=job, period=parse_period("2026-11-27"), workspace=workspace, now=NOW)


def write(workspace: Path, name: str, text: str) -> None:
    (workspace / "data" / name).write_text(text, encoding="utf-8")


def test_uptime(workspace: Path) -> None:
    assert detect_incident(ctx(workspace)) is None  # no data, nothing to say
    write(workspace, "uptime_checks.csv",
          "checked_at,service,ok\n2026-11-27T11:50:00,api,0\n2026-11-27T11:55:00,api,1\n"
          "2026-11-27T11:55:00,web,1\n2026-11-27T10:00:00,web,0\n")
    assert detect_incident(ctx(workspace)) is None  # api recovered; web failed long ago
    write(workspace, "uptime_checks.csv",
          "checked_at,service,ok\n2026-11-27T11:55:00,api,0\n2026-11-27T11:55:00,web,1\n")
    partial = detect_incident(ctx(workspace))
    # one service down is a major feature broken: P1 (issue 18; it used to set no severity)
    assert partial is not None and partial.kind == "incident" and partial.severity == "P1"
    assert partial.details["services_down"] == ["api"]
    write(workspace, "uptime_checks.csv",
          "checked_at,service,ok\n2026-11-27T11:55:00,api,0\n2026-11-27T11:58:00,web,0\n")
    down = detect_incident(ctx(workspace))
    assert down is not None and down.severity == "P0"


def test_support_first_response_sla(workspace: Path) -> None:
    header = "id,created_at,first_response_at,resolved_at,priority,channel,subject\n"
    write(workspace, "tickets.csv", header
          + "T1,2026-11-27T06:00:00,2026-11-27T07:00:00,,,,\n"   # answered
          + "T2,2026-11-27T09:00:00,,,,,\n"                      # 3 h waiting: within SLA
          + "T3,2026-11-27T05:00:00,,2026-11-27T06:00:00,,,\n")  # resolved
    assert first_response_sla(ctx(workspace)) is None
    write(workspace, "tickets.csv", header + "T4,2026-11-27T07:00:00,,,,,\nT5,2026-11-27T07:30:00,,,,,\n")
    breach = first_response_sla(ctx(workspace))
    assert breach is not None and breach.kind == "sla_breach"
    assert breach.details["tickets"] == ["T4", "T5"] and breach.details["oldest_hours"] == 5.0


def test_deploy_pipeline(workspace: Path) -> None:
    header = "deployed_at,service,version,status,lead_time_hours\n"
    write(workspace, "deployments.csv", header
          + "2026-11-27T09:00:00,api,1.4,failed,\n2026-11-27T10:00:00,api,1.5,success,\n"
          + "2026-11-27T08:00:00,web,2.0,rolled_back,\n2026-11-25T08:00:00,jobs,0.9,failed,\n")
    assert pipeline_health(ctx(workspace)) is None
    write(workspace, "deployments.csv", header + "2026-11-27T11:00:00,api,1.6,failed,\n")
    found = pipeline_health(ctx(workspace))
    assert found is not None and found.kind == "deploy_failure" and "api 1.6" in found.summary


async def test_checks_resolve_by_their_cadence_names(workspace: Path) -> None:
    for ref in ("nexus_agents.checks.uptime:detect_incident", "nexus_agents.checks.support:first_response_sla",
                "nexus_agents.checks.deploys:pipeline_health"):
        assert await run_check(resolve_check(ref), ctx(workspace, ref)) is None


def test_bad_data_is_a_named_error(workspace: Path) -> None:
    write(workspace, "tickets.csv", "id,created_at,first_response_at,resolved_at,priority,channel,subject\nT1,yesterday,,,,,\n")
    with pytest.raises(DataError, match=r"tickets\.csv"):
        first_response_sla(ctx(workspace))
