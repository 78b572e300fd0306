"""cadences.yaml covers the playbook; workspace overrides and bad input are handled."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from nexus_agents.config import NexusConfig, load_config
from nexus_agents.exceptions import ConfigError, SpecError
from nexus_agents.paths import shipped_dir
from nexus_agents.schedule.calendar import cadences_path, load_calendar, parse_cadences
from nexus_agents.schedule.jobs import Cadence
from nexus_agents.schedule.planner import due

PLAYBOOK = Path("/work/shared/seed/phase-6-operate.md")


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _playbook_rows() -> set[tuple[str, str]]:
    """(cadence, agent slug) for every row of the playbook's cadence tables."""
    rows: set[tuple[str, str]] = set()
    section = None
    names = {
        "Continuous": "continuous",
        "Daily": "daily",
        "Weekly": "weekly",
        "Bi-Weekly": "biweekly",
        "Monthly": "monthly",
        "Quarterly": "quarterly",
    }
    for line in PLAYBOOK.read_text(encoding="utf-8").splitlines():
        if line.startswith("### "):
            title = line[4:].split(" (")[0].strip()
            section = names.get(title)
        elif line.startswith("## ") and section:
            section = None
        elif section and line.startswith("| **"):
            agent = line.split("**")[1]
            rows.add((section, _snake(agent)))
    return rows


@pytest.mark.skipif(not PLAYBOOK.is_file(), reason="playbook not available in this checkout")
def test_every_playbook_cadence_row_is_a_job() -> None:
    calendar = load_calendar(NexusConfig())
    have = {(job.cadence.value, job.agent) for job in calendar.jobs}
    expected = _playbook_rows()
    assert len(expected) == 23
    assert expected <= have


def test_shipped_jobs_name_known_agents_and_sensible_outputs() -> None:
    calendar = load_calendar(NexusConfig())
    prompts = {p.stem for p in shipped_dir("prompts").glob("*.md")}
    for job in calendar.jobs:
        assert job.agent in prompts, job.id
        if job.cadence is not Cadence.CONTINUOUS:
            assert job.output, job.id
            assert job.catch_up.value in {"latest", "all"}
    monthly_fin = calendar.job("monthly-financial-report")
    assert (monthly_fin.graph, monthly_fin.output) == (
        "financial_review",
        "monthly_financial_report",
    )
    assert calendar.job("weekly-sprint-plan").output == "sprint_plan"


def _workspace(tmp_path: Path, toml: str) -> NexusConfig:
    (tmp_path / "nexus.toml").write_text(toml, encoding="utf-8")
    return load_config(tmp_path, env={})


def test_workspace_overrides_cron_timezone_and_switches_jobs_off(tmp_path: Path) -> None:
    config = _workspace(
        tmp_path,
        """
[product]
timezone = "America/New_York"

[schedule]
timezone = "Asia/Tokyo"
concurrency = 5

[schedule.jobs.daily-metrics-snapshot]
cron = "30 4 * * *"

[schedule.jobs.monthly-brand-health-report]
enabled = false
""",
    )
    calendar = load_calendar(config)
    assert calendar.timezone == "Asia/Tokyo"
    assert calendar.concurrency == 5
    assert calendar.job("daily-metrics-snapshot").cron == "30 4 * * *"
    assert not calendar.job("monthly-brand-health-report").enabled
    tokyo = ZoneInfo("Asia/Tokyo")
    ran = due(
        calendar.jobs,
        calendar.timezone,
        datetime(2026, 11, 1, tzinfo=tokyo),
        datetime(2026, 12, 1, tzinfo=tokyo),
    )
    ids = {d.job_id for d in ran}
    assert "monthly-brand-health-report" not in ids
    snap = next(d for d in ran if d.job_id == "daily-metrics-snapshot")
    assert snap.fired_at == datetime(2026, 11, 1, 4, 30, tzinfo=tokyo)


def test_product_timezone_is_the_default(tmp_path: Path) -> None:
    config = _workspace(tmp_path, '[product]\ntimezone = "Europe/Berlin"\n')
    assert load_calendar(config).timezone == "Europe/Berlin"


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ("[schedule.jobs.no-such-job]\nenabled = false\n", "no-such-job"),
        (
            '[schedule.jobs.daily-metrics-snapshot]\ncron = "61 * * * *"\n',
            "schedule.jobs.daily-metrics-snapshot.cron",
        ),
        ('[schedule]\ntimezone = "Mars/Olympus"\n', "Mars/Olympus"),
        ('[schedule.jobs.daily-metrics-snapshot]\ncolour = "red"\n', "colour"),
    ],
)
def test_bad_overrides_name_nexus_toml_and_the_field(
    tmp_path: Path, toml: str, needle: str
) -> None:
    config = _workspace(tmp_path, toml)
    with pytest.raises(ConfigError) as err:
        load_calendar(config)
    assert "nexus.toml" in str(err.value)
    assert needle in str(err.value)


def test_workspace_file_shadows_the_shipped_calendar(tmp_path: Path) -> None:
    (tmp_path / "graphs").mkdir()
    own = tmp_path / "graphs" / "cadences.yaml"
    own.write_text(
        "jobs:\n  - {id: nightly-kpis, cadence: daily, agent: analytics_reporter,"
        " output: daily_metrics_snapshot, cron: '0 2 * * *'}\n",
        encoding="utf-8",
    )
    config = load_config(tmp_path, env={})
    assert cadences_path(tmp_path) == own
    calendar = load_calendar(config)
    assert [j.id for j in calendar.jobs] == ["nightly-kpis"]
    assert calendar.jobs[0].reports_on.value == "day"


@pytest.mark.parametrize(
    ("yaml_text", "item", "needle"),
    [
        (
            "jobs:\n  - {id: a-job, cadence: daily, agent: x, output: y, cron: '0 6 * *'}\n",
            "a-job",
            "five fields",
        ),
        (
            "jobs:\n  - {id: a-job, cadence: hourly, agent: x, output: y, cron: '0 6 * * *'}\n",
            "a-job",
            "cadence",
        ),
        (
            "jobs:\n  - {id: a-job, cadence: daily, output: y, cron: '0 6 * * *'}\n",
            "a-job",
            "needs an agent",
        ),
        (
            "jobs:\n  - {id: a-job, cadence: continuous, agent: x, cron: '*/5 * * * *'}\n",
            "a-job",
            "check",
        ),
        (
            "jobs:\n  - {id: a-job, cadence: daily, agent: x, output: y, cron: '0 6 * * *', catch_up: sometimes}\n",
            "a-job",
            "catch_up",
        ),
        (
            "jobs:\n  - {id: Bad_Id, cadence: daily, agent: x, output: y, cron: '0 6 * * *'}\n",
            "Bad_Id",
            "id",
        ),
        (
            "jobs:\n  - {id: a-job, cadence: daily, agent: x, output: y, cron: '0 6 * * *'}\n"
            "  - {id: a-job, cadence: daily, agent: x, output: y, cron: '0 7 * * *'}\n",
            "a-job",
            "duplicate",
        ),
    ],
)
def test_bad_cadence_rows_name_file_job_and_field(yaml_text: str, item: str, needle: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_cadences(yaml_text, "graphs/cadences.yaml")
    assert err.value.file == "graphs/cadences.yaml"
    assert err.value.item == item
    assert needle in str(err.value)


def test_invalid_yaml_reports_the_line() -> None:
    with pytest.raises(SpecError, match=r"^cadences.yaml: not valid YAML \(line 3\)"):
        parse_cadences("jobs:\n  - id: a\n  oops: [\n", "cadences.yaml")
