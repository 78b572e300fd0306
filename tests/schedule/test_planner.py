"""The pure planner driven through simulated clock time (no sleeping, no database)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from nexus_agents.config import NexusConfig
from nexus_agents.schedule.calendar import load_calendar
from nexus_agents.schedule.jobs import CadenceJob, CatchUp
from nexus_agents.schedule.planner import due, missed, thread_id

UTC = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def jobs() -> list[CadenceJob]:
    return list(load_calendar(NexusConfig()).jobs)


def _periodic(jobs: list[CadenceJob]) -> list[CadenceJob]:
    return [j for j in jobs if not j.is_check]


def _simulate(
    jobs: list[CadenceJob], tz: str, start: datetime, end: datetime, step: timedelta
) -> list[str]:
    """Advance a fake clock in ``step`` ticks, recording what ran, like a worker would."""
    done: list[str] = []
    t = start
    while t < end:
        t_next = min(t + step, end)
        done.extend(d.thread_id for d in due(jobs, tz, t, t_next, set(done)))
        t = t_next
    return done


def test_a_month_of_november_runs_each_cadence_the_right_number_of_times(
    jobs: list[CadenceJob],
) -> None:
    ran = _simulate(
        _periodic(jobs),
        "Europe/Berlin",
        datetime(2026, 11, 1, tzinfo=BERLIN),
        datetime(2026, 12, 1, tzinfo=BERLIN),
        timedelta(hours=1),
    )
    assert len(ran) == len(set(ran)), "a JOB:PERIOD ran twice"
    count = Counter(t.split(":")[0] for t in ran)
    assert count["daily-metrics-snapshot"] == 30
    assert count["weekly-sprint-plan"] == 5  # Mondays 2, 9, 16, 23, 30
    assert count["biweekly-experiment-results"] == 3
    assert count["monthly-financial-report"] == 1
    assert not any(job.startswith("quarterly-") for job in count)
    # daily reports cover the previous day, monthly the previous month
    assert "daily-metrics-snapshot:2026-10-31" in ran
    assert "daily-metrics-snapshot:2026-11-29" in ran
    assert "daily-metrics-snapshot:2026-11-30" not in ran
    assert "monthly-financial-report:2026-10" in ran
    assert "weekly-analytics-report:2026-W48" in ran  # fired Mon 30 Nov
    assert "weekly-sprint-plan:2026-W49" in ran  # plans the week that starts
    bi = sorted(t for t in ran if t.startswith("biweekly-insights-report:"))
    assert bi == [
        "biweekly-insights-report:2026-BW22",
        "biweekly-insights-report:2026-BW23",
        "biweekly-insights-report:2026-BW24",
    ]


@pytest.mark.slow  # a month of planner ticks every 23 minutes (~1,900 ticks, off every hour boundary)
def test_tick_size_does_not_change_what_runs(jobs: list[CadenceJob]) -> None:
    args = (
        _periodic(jobs),
        "UTC",
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    )
    one_shot = _simulate(*args, timedelta(days=31))
    minutes = _simulate(*args, timedelta(minutes=23))
    assert sorted(one_shot) == sorted(minutes)


def test_quarter_turn_runs_quarterly_jobs_for_the_quarter_that_ended(
    jobs: list[CadenceJob],
) -> None:
    ran = _simulate(
        _periodic(jobs),
        "UTC",
        datetime(2026, 12, 31, tzinfo=UTC),
        datetime(2027, 1, 3, tzinfo=UTC),
        timedelta(hours=6),
    )
    quarterly = sorted(t for t in ran if t.startswith("quarterly-"))
    assert quarterly == [
        "quarterly-optimization-report:2026-Q4",
        "quarterly-performance-report:2026-Q4",
        "quarterly-strategic-review:2026-Q4",
        "quarterly-tech-debt-assessment:2026-Q4",
    ]
    assert "monthly-executive-summary:2026-12" in ran
    assert "daily-metrics-snapshot:2026-12-31" in ran
    # 2026 has 53 ISO weeks; Monday 2027-01-04 is outside the span
    assert not any(t.startswith("weekly-") for t in ran)


def test_continuous_checks_fire_every_five_minutes_on_the_current_slot(
    jobs: list[CadenceJob],
) -> None:
    checks = [j for j in jobs if j.is_check]
    assert {j.id for j in checks} == {
        "incident-detection",
        "support-first-response-sla",
        "deploy-pipeline-health",
    }
    ran = due(
        checks,
        "UTC",
        datetime(2026, 11, 27, 6, 0, tzinfo=UTC),
        datetime(2026, 11, 27, 7, 0, tzinfo=UTC),
    )
    per_job = Counter(d.job_id for d in ran)
    assert per_job == {j.id: 12 for j in checks}
    assert ran[0].period.label == "2026-11-27T06:00"


def test_timezone_decides_which_day_a_fire_reports_on(jobs: list[CadenceJob]) -> None:
    daily = next(j for j in jobs if j.id == "daily-metrics-snapshot")  # 06:00 local
    window = (datetime(2026, 11, 27, 0, 0, tzinfo=UTC), datetime(2026, 11, 27, 12, 0, tzinfo=UTC))
    tokyo = due([daily], "Asia/Tokyo", *window)  # 06:00 JST = 21:00 UTC the day before
    new_york = due([daily], "America/New_York", *window)  # 06:00 EST = 11:00 UTC
    assert [d.thread_id for d in tokyo] == []
    assert [d.thread_id for d in new_york] == ["daily-metrics-snapshot:2026-11-26"]
    assert new_york[0].fired_at == datetime(2026, 11, 27, 11, 0, tzinfo=UTC)


def test_dst_change_keeps_one_run_per_day(jobs: list[CadenceJob]) -> None:
    daily = next(j for j in jobs if j.id == "daily-health-status-report")
    ran = due(
        [daily],
        "Europe/Berlin",
        datetime(2026, 10, 24, tzinfo=BERLIN),
        datetime(2026, 10, 28, tzinfo=BERLIN),  # clocks go back on 25 Oct
    )
    assert [d.period.label for d in ran] == ["2026-10-23", "2026-10-24", "2026-10-25", "2026-10-26"]


def test_disabled_and_done_jobs_are_left_out(jobs: list[CadenceJob]) -> None:
    weekly = next(j for j in jobs if j.id == "weekly-analytics-report")
    window = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    off = weekly.model_copy(update={"enabled": False})
    assert due([off], "UTC", *window) == []
    done = {thread_id(weekly.id, "2026-W45"), thread_id(weekly.id, "2026-W46")}
    left = [d.period.label for d in due([weekly], "UTC", *window, done)]
    assert left == ["2026-W44", "2026-W47", "2026-W48"]


# -- catch-up -------------------------------------------------------------------------


def _job(jobs: list[CadenceJob], job_id: str, **update: object) -> CadenceJob:
    return next(j for j in jobs if j.id == job_id).model_copy(update=update)


OFFLINE_FROM = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)  # last served fire before this
BACK_AT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def test_catch_up_all_runs_every_missed_period_up_to_the_limit(jobs: list[CadenceJob]) -> None:
    weekly = _job(jobs, "weekly-analytics-report", catch_up=CatchUp.ALL, catch_up_limit=12)
    got = [d.period.label for d in missed(weekly, "UTC", OFFLINE_FROM, BACK_AT)]
    assert got == ["2026-W45", "2026-W46", "2026-W47"]  # Mondays 9, 16, 23 Nov
    daily = _job(jobs, "daily-metrics-snapshot", catch_up=CatchUp.ALL, catch_up_limit=5)
    got = [d.period.label for d in missed(daily, "UTC", OFFLINE_FROM, BACK_AT)]
    assert got == ["2026-11-22", "2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26"]


def test_catch_up_latest_runs_only_the_newest_missed_period(jobs: list[CadenceJob]) -> None:
    daily = _job(jobs, "daily-metrics-snapshot", catch_up=CatchUp.LATEST)
    got = missed(daily, "UTC", OFFLINE_FROM, BACK_AT)
    assert [d.thread_id for d in got] == ["daily-metrics-snapshot:2026-11-26"]
    # the newest one already ran: nothing, not an older one
    assert missed(daily, "UTC", OFFLINE_FROM, BACK_AT, {"daily-metrics-snapshot:2026-11-26"}) == []


def test_catch_up_skip_and_continuous_checks_run_nothing(jobs: list[CadenceJob]) -> None:
    daily = _job(jobs, "daily-metrics-snapshot", catch_up=CatchUp.SKIP)
    assert missed(daily, "UTC", OFFLINE_FROM, BACK_AT) == []
    check = _job(jobs, "incident-detection", catch_up=CatchUp.ALL)
    assert missed(check, "UTC", OFFLINE_FROM, BACK_AT) == []


def test_catch_up_is_bounded_after_a_long_outage(jobs: list[CadenceJob]) -> None:
    daily = _job(jobs, "daily-metrics-snapshot", catch_up=CatchUp.ALL, catch_up_limit=3)
    got = missed(daily, "UTC", datetime(2020, 1, 1, tzinfo=UTC), BACK_AT)
    assert [d.period.label for d in got] == ["2026-11-24", "2026-11-25", "2026-11-26"]


def test_catch_up_leaves_out_periods_that_ran_and_fires_before_since(
    jobs: list[CadenceJob],
) -> None:
    weekly = _job(jobs, "weekly-analytics-report", catch_up=CatchUp.ALL)
    got = missed(weekly, "UTC", OFFLINE_FROM, BACK_AT, {"weekly-analytics-report:2026-W46"})
    assert [d.period.label for d in got] == ["2026-W45", "2026-W47"]
    # served up to the Monday 23 Nov fire: nothing missed
    assert missed(weekly, "UTC", datetime(2026, 11, 23, 7, 0, tzinfo=UTC), BACK_AT) == []
