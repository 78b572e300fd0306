"""The versioned JSON report of an eval run, baseline comparison and console table.

A case is *regressed* against the baseline when its status got worse (passed >
failed > error) or its score dropped by more than ``tolerance``; *improved* for the
reverse. Cases whose ``version`` changed are listed as ``rebased`` (not comparable).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nexus_agents.evals.results import CaseResult
from nexus_agents.evals.target import RunMode
from nexus_agents.exceptions import SpecError

if TYPE_CHECKING:
    from rich.console import Console

REPORT_VERSION = 1
_RANK = {"error": 0, "failed": 1, "passed": 2}


class RunHeader(BaseModel):
    model_config = ConfigDict(extra="forbid")

    git_sha: str | None = None
    framework_version: str
    model_ids: list[str] = Field(default_factory=list)
    mode: RunMode
    started_at: datetime
    finished_at: datetime | None = None


class TagSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cases: int
    pass_rate: float
    mean_score: float


class Summary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cases: int = 0
    passed: int = 0
    failed: int = 0
    error: int = 0
    pass_rate: float = 0.0
    mean_score: float = 0.0
    by_tag: dict[str, TagSummary] = Field(default_factory=dict)


class CaseChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    before_status: str | None = None
    after_status: str | None = None
    before_score: float | None = None
    after_score: float | None = None


class BaselineDiff(BaseModel):
    model_config = ConfigDict(extra="forbid")

    baseline_started_at: datetime | None = None
    baseline_git_sha: str | None = None
    improved: list[CaseChange] = Field(default_factory=list)
    regressed: list[CaseChange] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    rebased: list[str] = Field(default_factory=list)
    new: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)


class EvalReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    report_version: Literal[1] = REPORT_VERSION
    run: RunHeader
    cases: list[CaseResult] = Field(default_factory=list)
    summary: Summary = Field(default_factory=Summary)
    baseline: BaselineDiff | None = None

    @property
    def all_gates_pass(self) -> bool:
        return all(c.status == "passed" for c in self.cases)


def summarize(cases: Sequence[CaseResult]) -> Summary:
    def rates(group: Sequence[CaseResult]) -> tuple[float, float]:
        if not group:
            return 0.0, 0.0
        passed = sum(c.status == "passed" for c in group)
        return passed / len(group), sum(c.score for c in group) / len(group)

    by_tag: dict[str, TagSummary] = {}
    for tag in sorted({t for c in cases for t in c.tags}):
        group = [c for c in cases if tag in c.tags]
        pass_rate, mean = rates(group)
        by_tag[tag] = TagSummary(cases=len(group), pass_rate=pass_rate, mean_score=mean)
    pass_rate, mean = rates(cases)
    return Summary(
        cases=len(cases),
        passed=sum(c.status == "passed" for c in cases),
        failed=sum(c.status == "failed" for c in cases),
        error=sum(c.status == "error" for c in cases),
        pass_rate=pass_rate,
        mean_score=mean,
        by_tag=by_tag,
    )


def diff_reports(
    current: EvalReport, baseline: EvalReport, *, tolerance: float = 1e-9
) -> BaselineDiff:
    before = {c.id: c for c in baseline.cases}
    after = {c.id: c for c in current.cases}
    diff = BaselineDiff(
        baseline_started_at=baseline.run.started_at, baseline_git_sha=baseline.run.git_sha
    )
    for case_id, now in after.items():
        old = before.get(case_id)
        if old is None:
            diff.new.append(case_id)
            continue
        if old.version != now.version:
            diff.rebased.append(case_id)
            continue
        change = CaseChange(
            id=case_id,
            before_status=old.status,
            after_status=now.status,
            before_score=old.score,
            after_score=now.score,
        )
        rank_delta = _RANK[now.status] - _RANK[old.status]
        if rank_delta < 0 or (rank_delta == 0 and now.score < old.score - tolerance):
            diff.regressed.append(change)
        elif rank_delta > 0 or now.score > old.score + tolerance:
            diff.improved.append(change)
        else:
            diff.unchanged.append(case_id)
    diff.missing = sorted(set(before) - set(after))
    return diff


def exit_code(report: EvalReport) -> int:
    """0 when every case passed its gates and nothing regressed against the baseline."""
    if not report.all_gates_pass:
        return 1
    if report.baseline is not None and report.baseline.regressed:
        return 1
    return 0


def git_sha(cwd: str | Path | None = None) -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = done.stdout.strip()
    return sha if done.returncode == 0 and sha else None


def save_report(report: EvalReport, path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = report.model_dump_json(indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def load_report(path: str | Path) -> EvalReport:
    file = Path(path)
    try:
        data: Any = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(str(file), "report not found") from None
    except (OSError, ValueError) as exc:
        raise SpecError(str(file), f"not a readable JSON report: {exc}") from None
    version = data.get("report_version") if isinstance(data, dict) else None
    if version != REPORT_VERSION:
        raise SpecError(
            str(file), f"report_version {version!r} is not supported (expected {REPORT_VERSION})"
        )
    try:
        return EvalReport.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise SpecError(str(file), f"field {field!r}: {err['msg']}") from None


_STYLE = {"passed": "green", "failed": "red", "error": "magenta"}


def render_table(report: EvalReport, console: Console | None = None) -> None:
    """Print one row per case, then the totals and the baseline changes."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"eval run ({report.run.mode})")
    for column, justify in (
        ("case", "left"),
        ("status", "left"),
        ("score", "right"),
        ("tokens", "right"),
        ("cost $", "right"),
        ("time s", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for case in report.cases:
        style = _STYLE[case.status]
        table.add_row(
            case.id,
            f"[{style}]{case.status}[/{style}]",
            f"{case.score:.2f}",
            str(case.usage.total_tokens),
            f"{case.usage.cost_usd:.4f}",
            f"{case.wall_seconds:.2f}",
        )
    console.print(table)
    s = report.summary
    console.print(
        f"{s.passed}/{s.cases} passed, {s.failed} failed, {s.error} error; "
        f"pass rate {s.pass_rate:.0%}, mean score {s.mean_score:.2f}"
    )
    for case in report.cases:
        if case.status == "passed":
            continue
        problems = [f"{c.kind} {c.name}: {c.reason}" for c in case.failed_gates]
        if case.error:
            problems.append(f"error: {case.error}")
        for problem in problems[:5]:
            console.print(f"  {case.id}: {problem}", markup=False, highlight=False)
    if report.baseline is not None:
        b = report.baseline
        console.print(
            f"vs baseline: {len(b.improved)} improved, {len(b.regressed)} regressed, "
            f"{len(b.new)} new, {len(b.missing)} missing, {len(b.rebased)} rebased"
        )
        for change in b.regressed:
            console.print(
                f"  regressed {change.id}: {change.before_status} {change.before_score:.2f} -> "
                f"{change.after_status} {change.after_score:.2f}",
                markup=False,
                highlight=False,
            )
