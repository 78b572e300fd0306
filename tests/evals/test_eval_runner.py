"""End to end: cases run through a target under replay, scored, reported, compared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eval_helpers import echo_target, interaction, write_case

from nexus_agents.evals.case import load_cases
from nexus_agents.evals.report import (
    REPORT_VERSION,
    diff_reports,
    exit_code,
    load_report,
    save_report,
)
from nexus_agents.evals.runner import RunOptions, run_evals
from nexus_agents.evals.target import RunEnv, TargetOutput
from nexus_agents.exceptions import ConfigError, SpecError

SEVERITY = {"path": "$.artifacts.analyst.severity", "op": "equals", "value": "P1"}


async def run_dir(root: Path, target: Any = echo_target, **options: Any):
    cases = load_cases(root / "cases")
    return await run_evals(cases, target, RunOptions(evals_dir=root, **options))


async def test_passing_case_under_replay(tmp_path) -> None:
    write_case(
        tmp_path,
        "triage",
        interactions=[interaction("analyst", "signups=120", {"severity": "P1"})],
        expectations={
            "assertions": [
                SEVERITY,
                {"path": "$.state.now", "op": "matches", "value": "^2025-04-07T09:00"},
            ],
            "trajectory": {"agents": ["analyst"]},
            "budgets": {"max_tokens": 500, "max_model_calls": 1},
            "rubrics": [
                {"name": "tone", "judge_model": "gpt-4o", "threshold": 0.7, "criteria": "calm"}
            ],
        },
    )
    report = await run_dir(tmp_path)
    [case] = report.cases
    assert case.status == "passed" and case.score == 1.0, case.checks
    assert case.usage.total_tokens == 120
    [rubric] = [c for c in case.checks if c.kind == "rubric"]
    assert rubric.status == "skipped" and "live runs only" in rubric.reason
    assert report.report_version == REPORT_VERSION
    assert report.run.mode == "replay" and report.run.model_ids == ["gpt-4o-mini"]
    assert exit_code(report) == 0
    # The run worked on a copy: the fixture is untouched.
    assert (tmp_path / "fixtures" / "ws-triage" / "data.txt").read_text() == "signups=120"


async def test_unexpected_request_fails_the_case_and_names_it(tmp_path) -> None:
    write_case(
        tmp_path,
        "drifted",
        data="signups=999",  # the prompt changed since the recording
        interactions=[interaction("analyst", "signups=120", {"severity": "P1"})],
        expectations={"assertions": [SEVERITY]},
    )
    report = await run_dir(tmp_path)
    [case] = report.cases
    assert case.status == "failed"
    assert case.error is not None  # the run broke too, but the cause reported is the replay miss
    [replay] = [c for c in case.checks if c.kind == "replay"]
    assert "call #1 of agent 'analyst'" in replay.reason
    assert case.unexpected and "signups=999" in case.unexpected[0]
    assert case.unplayed and "interaction 1" in case.unplayed[0]
    assert exit_code(report) == 1


async def test_unplayed_interaction_fails_unless_allowed(tmp_path) -> None:
    tape = [
        interaction("analyst", "signups=120", {"severity": "P1"}),
        interaction("writer", "x", {}),
    ]
    write_case(tmp_path, "extra", interactions=tape, expectations={"assertions": [SEVERITY]})
    write_case(tmp_path, "extra-ok", interactions=tape, allow_unplayed=True)
    report = await run_dir(tmp_path)
    by_id = {c.id: c for c in report.cases}
    assert by_id["extra"].status == "failed"
    assert "interaction 2 (agent 'writer') was never requested" in by_id["extra"].unplayed[0]
    assert by_id["extra-ok"].status == "passed" and by_id["extra-ok"].unplayed


async def test_target_error_is_an_error_not_a_failure(tmp_path) -> None:
    async def broken(case: Any, env: RunEnv) -> TargetOutput:
        raise RuntimeError(f"graph crashed while using key {env.api_key.get_secret_value()}")

    write_case(tmp_path, "boom", interactions=[], expectations={"assertions": [SEVERITY]})
    report = await run_dir(tmp_path, broken)
    [case] = report.cases
    assert case.status == "error" and case.score == 0.0
    assert case.error is not None and case.error.startswith("RuntimeError: graph crashed")
    assert [c.status for c in case.checks] == ["skipped"]


async def test_missing_fixture_or_cassette_is_a_readable_case_error(tmp_path) -> None:
    path = write_case(tmp_path, "nofix", interactions=[])
    write_case(tmp_path, "notape")  # no cassette written
    (tmp_path / "fixtures" / "ws-nofix" / "data.txt").unlink()
    (tmp_path / "fixtures" / "ws-nofix").rmdir()
    report = await run_dir(tmp_path)
    by_id = {c.id: c for c in report.cases}
    assert by_id["nofix"].status == "error"
    assert str(path) in (by_id["nofix"].error or "") and "inputs.workspace" in (
        by_id["nofix"].error or ""
    )
    assert "cassette not found" in (by_id["notape"].error or "")


async def test_gating_and_non_gating_failures_and_budgets(tmp_path) -> None:
    write_case(
        tmp_path,
        "soft",
        interactions=[interaction("analyst", "signups=120", {"severity": "P2"})],
        expectations={
            "assertions": [
                {**SEVERITY, "gate": False, "weight": 1},
                {"path": "$.artifacts.analyst", "op": "exists", "weight": 3},
            ]
        },
    )
    write_case(
        tmp_path,
        "over-budget",
        interactions=[interaction("analyst", "signups=120", {"severity": "P1"}, prompt_tokens=900)],
        expectations={"assertions": [SEVERITY], "budgets": {"max_tokens": 500}},
    )
    report = await run_dir(tmp_path)
    by_id = {c.id: c for c in report.cases}
    assert by_id["soft"].status == "passed" and by_id["soft"].score == pytest.approx(0.75)
    assert by_id["over-budget"].status == "failed"
    assert by_id["over-budget"].score == pytest.approx(0.5)
    assert report.summary.pass_rate == pytest.approx(0.5)
    assert report.summary.by_tag["smoke"].mean_score == pytest.approx(0.625)


async def test_baseline_diff_and_report_round_trip(tmp_path) -> None:
    write_case(
        tmp_path,
        "a",
        interactions=[interaction("analyst", "signups=120", {"severity": "P1"})],
        expectations={"assertions": [SEVERITY]},
    )
    write_case(
        tmp_path,
        "b",
        interactions=[interaction("analyst", "signups=120", {"severity": "P2"})],
        expectations={"assertions": [SEVERITY]},
    )
    first = await run_dir(tmp_path)
    saved = save_report(first, tmp_path / "baseline.json")
    baseline = load_report(saved)
    assert json.loads(saved.read_text())["report_version"] == REPORT_VERSION

    # Now "a" breaks, "b" gets fixed, "c" is new; compare against the saved baseline.
    write_case(
        tmp_path,
        "a",
        interactions=[interaction("analyst", "signups=120", {"severity": "P3"})],
        expectations={"assertions": [SEVERITY]},
    )
    write_case(
        tmp_path,
        "b",
        interactions=[interaction("analyst", "signups=120", {"severity": "P1"})],
        expectations={"assertions": [SEVERITY]},
    )
    write_case(
        tmp_path, "c", interactions=[interaction("analyst", "signups=120", {"severity": "P1"})]
    )
    second = await run_dir(tmp_path, baseline=baseline)
    diff = second.baseline
    assert diff is not None
    assert [c.id for c in diff.regressed] == ["a"] and [c.id for c in diff.improved] == ["b"]
    assert diff.new == ["c"] and diff.missing == []
    assert exit_code(second) == 1

    # Without the regression (only improvements) the run exits 0.
    write_case(
        tmp_path,
        "a",
        interactions=[interaction("analyst", "signups=120", {"severity": "P1"})],
        expectations={"assertions": [SEVERITY]},
    )
    third = await run_dir(tmp_path, baseline=baseline)
    assert third.baseline is not None and not third.baseline.regressed
    assert exit_code(third) == 0
    assert diff_reports(third, third).unchanged == ["a", "b", "c"]


def test_report_with_unknown_version_is_rejected(tmp_path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"report_version": 99}), encoding="utf-8")
    with pytest.raises(SpecError, match="report_version 99 is not supported"):
        load_report(path)


async def test_cases_run_concurrently_up_to_the_limit(tmp_path) -> None:
    import asyncio

    running = 0
    peak = 0
    gate = asyncio.Event()

    async def slow(case: Any, env: RunEnv) -> TargetOutput:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        if peak == 2:
            gate.set()
        await asyncio.wait_for(gate.wait(), 5)
        running -= 1
        return TargetOutput()

    for name in ("c1", "c2", "c3"):
        write_case(tmp_path, name, interactions=[])
    report = await run_dir(tmp_path, slow, concurrency=2)
    assert peak == 2
    assert [c.status for c in report.cases] == ["passed"] * 3


def test_live_mode_needs_an_api_key() -> None:
    with pytest.raises(ConfigError, match="NEXUS_LLM_API_KEY"):
        RunOptions(mode="live")
