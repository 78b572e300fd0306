"""One exception tree: what a user must fix apart from what went wrong in a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_agents import exceptions as ex
from nexus_agents.cli.main import run as console_main
from nexus_agents.graphs.errors import ApprovalError, StepFailedError
from nexus_agents.periods import parse_period
from nexus_agents.runtime.prompting import PromptTooLargeError
from nexus_agents.schedule.checks import CheckError
from nexus_agents.schedule.cron import validate_cron


@pytest.mark.parametrize(
    ("error", "family"),
    [
        (ex.ConfigError, ex.UserError),
        (ex.DataError, ex.UserError),
        (ex.SpecError, ex.UserError),
        (ex.UnknownNameError, ex.UserError),
        (ex.InputError, ex.UserError),
        (CheckError, ex.UserError),
        (ex.ModelError, ex.RunError),
        (ex.StructuredOutputError, ex.RunError),
        (ex.BudgetExceededError, ex.RunError),
        (ex.RunBusyError, ex.RunError),
        (ApprovalError, ex.RunError),
        (StepFailedError, ex.RunError),
        (PromptTooLargeError, ex.RunError),
    ],
)
def test_every_error_is_either_the_users_to_fix_or_a_runs(error: type, family: type) -> None:
    other = ex.RunError if family is ex.UserError else ex.UserError
    assert issubclass(error, family) and not issubclass(error, other)
    assert issubclass(error, ex.NexusError)


def test_a_bad_period_is_an_input_error_that_still_is_a_value_error() -> None:
    with pytest.raises(ex.InputError, match="invalid period '2026-13'") as err:
        parse_period("2026-13")
    assert isinstance(err.value, ValueError)  # pydantic validators and old callers rely on it
    with pytest.raises(ex.InputError, match="five fields"):
        validate_cron("* * *")


def test_a_bad_period_on_the_command_line_is_one_readable_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "nexus.toml").write_text("", encoding="utf-8")  # a workspace, so the period is judged
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", ["nexus", "run", "improvement_loop", "--period", "2026-13"])
    with pytest.raises(SystemExit) as exit_info:
        console_main()
    assert exit_info.value.code in (1, 2)
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].endswith("invalid period '2026-13': month must be in 1..12")
    assert lines[1:] == ["usage: see 'nexus run --help'"]
    assert "unexpected" not in lines[0] and "ValueError" not in lines[0]
