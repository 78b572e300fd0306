"""Evals: recorded cases replayed at the HTTP level, scored, and compared to a baseline.

The pieces, one concept per module: ``case`` (the case file), ``cassette`` (recorded
interactions), ``replay`` / ``record`` (respx replay, scrubbed recording), ``target``
(what a run must return), ``checks`` / ``scoring`` (expectations to a score),
``runner`` and ``report``. respx and openai are imported only when a run starts.
"""

from __future__ import annotations

from nexus_agents.evals.case import (
    Assertion,
    Budgets,
    EvalCase,
    Expectations,
    Rubric,
    TrajectoryExpectation,
    case_json_schema,
    load_case,
    load_cases,
    write_case_schema,
)
from nexus_agents.evals.cassette import (
    Cassette,
    Interaction,
    load_cassette,
    save_cassette,
)
from nexus_agents.evals.record import Recorder
from nexus_agents.evals.replay import Replayer
from nexus_agents.evals.report import EvalReport, diff_reports, exit_code, load_report, save_report
from nexus_agents.evals.results import CaseResult, EvalCheckResult
from nexus_agents.evals.runner import RunOptions, run_evals, run_evals_sync
from nexus_agents.evals.target import (
    ActionRecord,
    RunEnv,
    TargetOutput,
    TargetRunner,
    Trajectory,
    TrajectoryToolCall,
)
from nexus_agents.llm.openai_model import AGENT_HEADER

__all__ = [
    "AGENT_HEADER",
    "ActionRecord",
    "Assertion",
    "Budgets",
    "CaseResult",
    "Cassette",
    "EvalCase",
    "EvalCheckResult",
    "EvalReport",
    "Expectations",
    "Interaction",
    "Recorder",
    "Replayer",
    "Rubric",
    "RunEnv",
    "RunOptions",
    "TargetOutput",
    "TargetRunner",
    "Trajectory",
    "TrajectoryExpectation",
    "TrajectoryToolCall",
    "case_json_schema",
    "diff_reports",
    "exit_code",
    "load_case",
    "load_cases",
    "load_cassette",
    "load_report",
    "run_evals",
    "run_evals_sync",
    "save_cassette",
    "save_report",
    "write_case_schema",
]
