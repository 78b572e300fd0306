"""Score and status of one case from its checks.

score = sum of the weights of passed checks / sum of the weights of evaluated checks
(skipped checks count in neither; with no weight at all the score is 1 when every
check passed, else 0). A run that failed with an error scores 0.

status: ``failed`` when any gating check failed (a replay mismatch included, even when
it also made the run error out); otherwise ``error`` when the run itself failed;
otherwise ``passed``.
"""

from __future__ import annotations

from collections.abc import Sequence

from nexus_agents.evals.results import CaseStatus, EvalCheckResult


def case_score(checks: Sequence[EvalCheckResult], error: str | None = None) -> float:
    if error is not None:
        return 0.0
    evaluated = [c for c in checks if c.status != "skipped"]
    total = sum(c.weight for c in evaluated)
    if total <= 0:
        return 1.0 if all(c.passed for c in evaluated) else 0.0
    return sum(c.weight for c in evaluated if c.passed) / total


def case_status(checks: Sequence[EvalCheckResult], error: str | None = None) -> CaseStatus:
    if any(c.gate and c.status == "failed" for c in checks):
        return "failed"
    if error is not None:
        return "error"
    return "passed"
