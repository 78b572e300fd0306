"""The shipped eval suite (evals/) replays green through the same path as `nexus eval run`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from nexus_agents.evals.case import load_cases
from nexus_agents.evals.runner import RunOptions, run_evals_sync
from nexus_agents.evals.targets import default_target

EVALS = Path(__file__).resolve().parents[2] / "evals"


@pytest.mark.slow  # replays every shipped eval case end to end
def test_every_shipped_case_passes_in_replay() -> None:
    cases = load_cases(EVALS / "cases")
    assert len(cases) >= 15
    report = run_evals_sync(cases, default_target(), RunOptions(evals_dir=EVALS, concurrency=4))
    problems = {
        c.id: c.error or [f"{k.name}: {k.reason}" for k in c.checks if k.status == "failed"]
        for c in report.cases
        if c.status != "passed"
    }
    assert problems == {}
    assert report.summary.passed == len(cases)
    by_id = {c.id: c for c in report.cases}
    # The triage agents' trajectories come from the run store, not from the case file.
    assert by_id["incident-p3-cosmetic"].trajectory.agents == ["agents_orchestrator"]
    assert [a.action for a in by_id["loop-qa-pass-first"].trajectory.actions] == ["deploy"]


def _copy_suite(tmp_path: Path, case_id: str) -> Path:
    evals = tmp_path / "evals"
    (evals / "cases").mkdir(parents=True)
    shutil.copytree(EVALS / "fixtures", evals / "fixtures")
    shutil.copytree(EVALS / "cassettes", evals / "cassettes")
    shutil.copy(EVALS / "cases" / f"{case_id}.yaml", evals / "cases")
    return evals


def _rewrite(evals: Path, case_id: str, edit: dict[str, object]) -> None:
    file = evals / "cases" / f"{case_id}.yaml"
    data = yaml.safe_load(file.read_text())
    for assertion in data["expectations"]["assertions"]:
        if assertion["path"] == edit["path"]:
            assertion.update(edit)
    file.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.parametrize(
    ("case_id", "edit", "failed_check"),
    [
        # The rule floor is P1; a case that wanted the model's P3 must fail.
        (
            "incident-floor-holds",
            {"path": "$.artifacts.triage.derived.severity", "value": "P3"},
            "$.artifacts.triage.derived.severity equals",
        ),
        # A KPI value off by 1 point from the tool's figure must fail.
        (
            "daily-snapshot-kpis",
            {
                "path": "$.artifacts.daily_metrics_snapshot.facts.kpis[3].value",
                "min": 74.5,
                "max": 75.5,
            },
            "$.artifacts.daily_metrics_snapshot.facts.kpis[3].value range",
        ),
    ],
)
def test_a_wrong_expectation_fails_its_case(
    tmp_path: Path, case_id: str, edit: dict[str, object], failed_check: str
) -> None:
    evals = _copy_suite(tmp_path, case_id)
    _rewrite(evals, case_id, edit)
    report = run_evals_sync(
        load_cases(evals / "cases"), default_target(), RunOptions(evals_dir=evals)
    )
    (case,) = report.cases
    assert case.status == "failed"
    assert [k.name for k in case.checks if k.status == "failed"] == [failed_check]
