"""``nexus eval run`` exit codes with a fake target, and the missing-target error."""

from __future__ import annotations

import json
import sys

import pytest
from eval_helpers import interaction, write_case
from typer.testing import CliRunner

from nexus_agents.cli.main import app
from nexus_agents.exceptions import NexusError

SEVERITY = {"path": "$.artifacts.analyst.severity", "op": "equals", "value": "P1"}


def invoke(*args: str):
    return CliRunner().invoke(app, ["eval", "run", *args])


def test_exit_0_when_all_gates_pass_and_1_on_failure(tmp_path) -> None:
    write_case(
        tmp_path,
        "good",
        tags=["daily"],
        interactions=[interaction("analyst", "signups=120", {"severity": "P1"})],
        expectations={"assertions": [SEVERITY]},
    )
    write_case(
        tmp_path,
        "bad",
        tags=["incident"],
        interactions=[interaction("analyst", "signups=120", {"severity": "P3"})],
        expectations={"assertions": [SEVERITY]},
    )
    common = ["--cases-dir", str(tmp_path / "cases"), "--target", "eval_helpers:make_target"]

    ok = invoke(*common, "--tag", "daily", "--report", str(tmp_path / "r.json"))
    assert ok.exit_code == 0, ok.output
    assert "good" in ok.output and "passed" in ok.output
    assert json.loads((tmp_path / "r.json").read_text())["cases"][0]["id"] == "good"

    failed = invoke(*common, "--case", "bad")
    assert failed.exit_code == 1
    assert 'expected "P1", got "P3"' in failed.output


def test_regression_against_baseline_exits_1(tmp_path) -> None:
    write_case(
        tmp_path,
        "a",
        interactions=[interaction("analyst", "signups=120", {"severity": "P1"})],
        expectations={"assertions": [{**SEVERITY, "gate": False}]},
    )
    common = ["--cases-dir", str(tmp_path / "cases"), "--target", "eval_helpers:make_target"]
    assert invoke(*common, "--report", str(tmp_path / "base.json")).exit_code == 0
    write_case(
        tmp_path,
        "a",
        interactions=[interaction("analyst", "signups=120", {"severity": "P2"})],
        expectations={"assertions": [{**SEVERITY, "gate": False}]},
    )
    result = invoke(*common, "--baseline", str(tmp_path / "base.json"))
    assert result.exit_code == 1  # no gate failed, but the score dropped
    assert "1 regressed" in result.output


def test_missing_default_target_is_a_clear_error(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_case(tmp_path, "a", interactions=[])
    monkeypatch.setitem(sys.modules, "nexus_agents.evals.targets", None)  # import fails
    result = invoke("--cases-dir", str(tmp_path / "cases"))
    assert isinstance(result.exception, NexusError)
    assert "nexus_agents.evals.targets" in str(result.exception)


def test_unknown_case_id_is_reported(tmp_path) -> None:
    write_case(tmp_path, "a", interactions=[])
    result = invoke(
        "--cases-dir",
        str(tmp_path / "cases"),
        "--case",
        "nope",
        "--target",
        "eval_helpers:make_target",
    )
    assert "unknown eval case 'nope'" in str(result.exception)
