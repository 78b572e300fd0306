"""Run eval cases through a target and build the report.

Folder layout under ``evals_dir``: ``cases/`` (case files), ``fixtures/`` (workspaces,
copied to a temporary folder for every run) and ``cassettes/`` (recordings).

Modes: ``replay`` serves each case's cassette over respx (no network); ``live`` sends
requests to the configured endpoint; ``record`` is live and writes the case's cassette
(scrubbed) when the run finishes without error.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_core import to_jsonable_python

from nexus_agents._version import __version__
from nexus_agents.evals.case import EvalCase
from nexus_agents.evals.checks import (
    check_assertion,
    check_budgets,
    check_trajectory,
    skipped_rubric,
)
from nexus_agents.evals.record import DEFAULT_SECRET_PATTERNS, Recorder, Scrubber
from nexus_agents.evals.report import EvalReport, RunHeader, diff_reports, git_sha, summarize
from nexus_agents.evals.results import CaseResult, EvalCheckResult
from nexus_agents.evals.scoring import case_score, case_status
from nexus_agents.evals.target import RunEnv, RunMode, TargetOutput, TargetRunner, Trajectory
from nexus_agents.exceptions import ConfigError, NexusError
from nexus_agents.llm.interface import Usage

OPENAI_BASE_URL = "https://api.openai.com/v1"
REPLAY_API_KEY = "replay-key-not-a-secret"
_host_numbers = itertools.count(1)


@dataclass
class RunOptions:
    mode: RunMode = "replay"
    evals_dir: Path = Path("evals")
    concurrency: int = 4
    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str | None = None
    secret_patterns: Sequence[str] = ()
    case_timeout_s: float = 900.0
    baseline: EvalReport | None = None
    extra_model_ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, got {self.concurrency}")
        if self.mode != "replay" and self.api_key is None:
            raise ConfigError(
                f"{self.mode} runs need an API key: set NEXUS_LLM_API_KEY or OPENAI_API_KEY"
            )


@dataclass
class _Outcome:
    output: TargetOutput | None = None
    error: str | None = None
    checks: list[EvalCheckResult] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    unplayed: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    models: list[str] = field(default_factory=list)
    cassette_written: str | None = None


async def run_evals(
    cases: Iterable[tuple[EvalCase, Path]], target: TargetRunner, options: RunOptions
) -> EvalReport:
    """Run every case (at most ``options.concurrency`` at once) and report."""
    started = datetime.now(UTC)
    limit = asyncio.Semaphore(options.concurrency)
    models: dict[str, None] = dict.fromkeys(options.extra_model_ids)
    if options.mode != "replay" and options.model:
        models.setdefault(options.model, None)

    async def one(case: EvalCase, file: Path) -> CaseResult:
        async with limit:
            result, used = await run_case(case, file, target, options)
        for m in used:
            models.setdefault(m, None)
        return result

    results = list(await asyncio.gather(*(one(c, f) for c, f in cases)))
    report = EvalReport(
        run=RunHeader(
            git_sha=git_sha(options.evals_dir if options.evals_dir.is_dir() else None),
            framework_version=__version__,
            model_ids=list(models),
            mode=options.mode,
            started_at=started,
            finished_at=datetime.now(UTC),
        ),
        cases=results,
        summary=summarize(results),
    )
    if options.baseline is not None:
        report.baseline = diff_reports(report, options.baseline)
    return report


def run_evals_sync(
    cases: Iterable[tuple[EvalCase, Path]], target: TargetRunner, options: RunOptions
) -> EvalReport:
    return asyncio.run(run_evals(cases, target, options))


async def run_case(
    case: EvalCase, file: Path, target: TargetRunner, options: RunOptions
) -> tuple[CaseResult, list[str]]:
    """Run one case; never raises for problems of the case itself (they become errors)."""
    started = time.perf_counter()
    outcome = _Outcome()
    with tempfile.TemporaryDirectory(prefix=f"nexus-eval-{case.id}-") as tmp:
        try:
            workspace = _copy_fixture(case, file, options.evals_dir, Path(tmp))
            if options.mode == "replay":
                await _run_replay(case, file, target, options, workspace, outcome)
            else:
                await _run_live(case, file, target, options, workspace, outcome)
        except NexusError as exc:
            outcome.error = outcome.error or str(exc)
    wall = time.perf_counter() - started

    output = outcome.output
    if outcome.error is None and output is not None and output.error:
        outcome.error = output.error
    if outcome.error is not None:
        outcome.error = _scrub(outcome.error, options)
    usage = outcome.usage
    if output is not None and output.usage.calls > 0:
        usage = output.usage
    checks = list(outcome.checks)
    expect = case.expectations
    if outcome.error is None and output is not None:
        document = _document(output, usage)
        checks += [check_assertion(a, document) for a in expect.assertions]
        if expect.trajectory is not None:
            checks += check_trajectory(expect.trajectory, output.trajectory)
        if expect.budgets is not None:
            checks += check_budgets(expect.budgets, usage, wall)
        checks += await _rubrics(case, document, options)
    else:
        checks += _not_evaluated(case)
    models = list(outcome.models) + (list(output.models) if output else [])
    result = CaseResult(
        id=case.id,
        version=case.version,
        title=case.title,
        tags=case.tags,
        file=str(file),
        target=case.target_name,
        status=case_status(checks, outcome.error),
        score=case_score(checks, outcome.error),
        checks=checks,
        trajectory=output.trajectory if output else Trajectory(),
        usage=usage,
        wall_seconds=round(wall, 3),
        unplayed=outcome.unplayed,
        unexpected=outcome.unexpected,
        error=outcome.error,
        cassette_written=outcome.cassette_written,
    )
    return result, models


async def _run_replay(
    case: EvalCase,
    file: Path,
    target: TargetRunner,
    options: RunOptions,
    workspace: Path,
    outcome: _Outcome,
) -> None:
    from nexus_agents.evals.cassette import load_cassette
    from nexus_agents.evals.replay import Replayer

    if case.cassette is None:
        raise NexusError(f"{file}: field 'cassette': a replay run needs a cassette")
    cassette = load_cassette(options.evals_dir / "cassettes" / case.cassette)
    base_url = f"https://case-{next(_host_numbers)}.replay.nexus-eval.invalid/v1"
    replayer = Replayer(cassette, case.match, base_url=base_url)
    env = _env(case, file, "replay", base_url, SecretStr(REPLAY_API_KEY), workspace)
    try:
        async with replayer:
            await _call_target(case, env, target, options, outcome)
    finally:
        outcome.unexpected = [str(u) for u in replayer.unexpected]
        outcome.unplayed = [str(u) for u in replayer.unplayed]
        outcome.usage = replayer.usage
        outcome.models = replayer.model_ids
    if outcome.unexpected:
        outcome.checks.append(
            EvalCheckResult(
                kind="replay",
                name="no unexpected requests",
                status="failed",
                weight=0,
                reason=f"{len(outcome.unexpected)} unexpected: {outcome.unexpected[0]}",
            )
        )
    if outcome.unplayed and not case.allow_unplayed and outcome.error is None:
        outcome.checks.append(
            EvalCheckResult(
                kind="replay",
                name="every recorded interaction played",
                status="failed",
                weight=0,
                reason=f"{len(outcome.unplayed)} unplayed: " + "; ".join(outcome.unplayed[:3]),
            )
        )


async def _run_live(
    case: EvalCase,
    file: Path,
    target: TargetRunner,
    options: RunOptions,
    workspace: Path,
    outcome: _Outcome,
) -> None:
    assert options.api_key is not None
    base_url = options.base_url or OPENAI_BASE_URL
    recorder: Recorder | None = None
    if options.mode == "record":
        if case.cassette is None:
            raise NexusError(f"{file}: field 'cassette': a record run needs a cassette path")
        recorder = Recorder(
            base_url, api_key=options.api_key, secret_patterns=options.secret_patterns
        )
    env = _env(case, file, options.mode, base_url, options.api_key, workspace)
    if recorder is not None:
        env = dataclasses.replace(env, http_client_factory=recorder.http_client)
    await _call_target(case, env, target, options, outcome)
    finished = outcome.error is None and outcome.output is not None and not outcome.output.error
    if recorder is not None and finished:
        assert case.cassette is not None
        path = recorder.save(options.evals_dir / "cassettes" / case.cassette)
        outcome.cassette_written = str(path)


async def _call_target(
    case: EvalCase, env: RunEnv, target: TargetRunner, options: RunOptions, outcome: _Outcome
) -> None:
    try:
        async with asyncio.timeout(options.case_timeout_s):
            output = await target(case, env)
        if not isinstance(output, TargetOutput):
            raise TypeError(f"the target returned {type(output).__name__}, not TargetOutput")
        outcome.output = output
    except TimeoutError:
        outcome.error = f"timed out after {options.case_timeout_s:g} s"
    except Exception as exc:
        outcome.error = f"{type(exc).__name__}: {exc}"


def _env(
    case: EvalCase, file: Path, mode: RunMode, base_url: str, key: SecretStr, workspace: Path
) -> RunEnv:
    return RunEnv(
        mode=mode,
        base_url=base_url,
        api_key=key,
        workspace=workspace,
        now=case.now,
        config_overrides=dict(case.config),
        case_file=file,
    )


def _copy_fixture(case: EvalCase, file: Path, evals_dir: Path, tmp: Path) -> Path:
    source = evals_dir / "fixtures" / case.inputs.workspace
    if not source.is_dir():
        raise NexusError(f"{file}: field 'inputs.workspace': fixture folder {source} not found")
    target = tmp / "workspace"
    shutil.copytree(source, target)
    return target


def _document(output: TargetOutput, usage: Usage) -> dict[str, Any]:
    """The JSON document assertion paths address ($.artifacts, $.state, ...)."""
    return {
        "artifacts": to_jsonable_python(output.artifacts, fallback=str),
        "state": to_jsonable_python(output.state, fallback=str),
        "trajectory": output.trajectory.model_dump(mode="json"),
        "usage": usage.model_dump(mode="json"),
    }


async def _rubrics(case: EvalCase, document: Any, options: RunOptions) -> list[EvalCheckResult]:
    rubrics = case.expectations.rubrics
    if not rubrics:
        return []
    if options.mode == "replay":
        return [skipped_rubric(r, "rubrics are judged in live runs only") for r in rubrics]
    from nexus_agents.evals.judge import judge_rubric

    assert options.api_key is not None
    base_url = options.base_url or OPENAI_BASE_URL
    return [
        await judge_rubric(r, document, base_url=base_url, api_key=options.api_key) for r in rubrics
    ]


def _not_evaluated(case: EvalCase) -> list[EvalCheckResult]:
    expect = case.expectations
    reason = "not evaluated: the run did not finish"
    names = [("assertion", a.label, a.weight, a.gate) for a in expect.assertions]
    if expect.trajectory is not None:
        names.append(("trajectory", "trajectory", expect.trajectory.weight, expect.trajectory.gate))
    if expect.budgets is not None:
        names.append(("budget", "budgets", expect.budgets.weight, expect.budgets.gate))
    names += [("rubric", r.name, r.weight, r.gate) for r in expect.rubrics]
    return [
        EvalCheckResult(kind=k, name=n, status="skipped", weight=w, gate=g, reason=reason)  # type: ignore[arg-type]
        for k, n, w, g in names
    ]


def _scrub(text: str, options: RunOptions) -> str:
    key = options.api_key.get_secret_value() if options.api_key else None
    scrubber = Scrubber([key] if key else [], [*DEFAULT_SECRET_PATTERNS, *options.secret_patterns])
    return scrubber.text(text)
