"""Every job of the shipped graphs/cadences.yaml runs once on the demo workspace.

The model is the PlaybookAuthor behind the project's mock server (real OpenAI client).
The continuous jobs run their real check on demo data with something wrong added (a
failed health check, a ticket past the first-response SLA, a failed deployment), so
each one starts the run it exists for.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from nexus_agents.api import Nexus
from nexus_agents.config import load_config
from nexus_agents.data.demo import generate_demo
from nexus_agents.schedule.calendar import load_calendar
from nexus_agents.schedule.checks import CheckContext, resolve_check, run_check
from nexus_agents.schedule.jobs import CadenceJob, JobStatus
from nexus_agents.schedule.planner import period_for_fire
from nexus_agents.testing import MockLLMServer
from nexus_agents.testing.playbook_author import PlaybookAuthor

SHIPPED_JOBS = 23


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("every_job") / "ws"
    generate_demo(path, seed=7)
    return path


@pytest.fixture
def server() -> Iterator[MockLLMServer]:
    with MockLLMServer(responder=PlaybookAuthor(), max_lifetime_s=300) as srv:
        yield srv


def _append(ws: Path, name: str, line: str) -> None:
    path = ws / "data" / name
    text = path.read_text(encoding="utf-8")
    path.write_text(text + ("" if text.endswith("\n") else "\n") + line + "\n", encoding="utf-8")


def _something_wrong(ws: Path, now: datetime) -> None:
    stamp = (now - timedelta(minutes=2)).isoformat(timespec="seconds")
    _append(ws, "uptime_checks.csv", f"{stamp},api,0")
    waiting = (now - timedelta(hours=6)).isoformat(timespec="seconds")
    _append(ws, "tickets.csv", f"T-LATE,{waiting},,,high,email,Cannot log in,")
    failed = (now - timedelta(hours=1)).isoformat(timespec="seconds")
    _append(ws, "deployments.csv", f"{failed},api,9.9.9,failed,")


async def _run_all(ws: Path, jobs: list[CadenceJob], timezone: str) -> dict[str, object]:
    nexus = Nexus.from_workspace(ws)
    now = nexus.workspace.now()
    outcomes: dict[str, object] = {}
    try:
        for job in jobs:
            period = period_for_fire(job, now, timezone)
            if job.check is not None:
                context = CheckContext(job=job, period=period, workspace=ws, now=now)
                trigger = await run_check(resolve_check(job.check), context)
                assert trigger is not None, f"{job.id}: the check found nothing wrong"
                job = job.model_copy(update={"trigger": trigger})
            outcomes[job.id] = await nexus.arun_job(job, period, f"{job.id}:{period.label}")
    finally:
        await nexus.aclose()
    return outcomes


def test_every_shipped_cadence_job_runs_once_on_the_demo(
    demo: Path, tmp_path: Path, server: MockLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(demo, ws)
    monkeypatch.setenv("NEXUS_LLM_BASE_URL", server.base_url)
    monkeypatch.setenv("NEXUS_LLM_API_KEY", "sk-every-job")
    calendar = load_calendar(load_config(ws))
    assert len(calendar.jobs) == SHIPPED_JOBS
    _something_wrong(ws, Nexus.from_workspace(ws).workspace.now())

    outcomes = asyncio.run(_run_all(ws, list(calendar.jobs), calendar.timezone))

    failed = {
        job_id: out.error  # type: ignore[attr-defined]
        for job_id, out in outcomes.items()
        if out.status is not JobStatus.SUCCEEDED  # type: ignore[attr-defined]
    }
    assert failed == {}
    alert = Nexus.from_workspace(ws).latest_artifact("sla_breach_alert")
    assert alert is not None
    facts = alert.data["facts"]
    assert [t["id"] for t in facts["breaching"]] == ["T-LATE"]
    assert facts["breaching_count"] == 1 and facts["oldest_waited_hours"] == 6.0
