"""JSON-path assertions, trajectory and budget checks, scoring and gating."""

from __future__ import annotations

import re
from typing import Any

import pytest

from nexus_agents.evals.case import Assertion, Budgets, TrajectoryExpectation
from nexus_agents.evals.checks import check_assertion, check_budgets, check_trajectory
from nexus_agents.evals.jsonpath import JsonPathError, parse_path
from nexus_agents.evals.results import EvalCheckResult
from nexus_agents.evals.scoring import case_score, case_status
from nexus_agents.evals.target import ActionRecord, Trajectory, TrajectoryToolCall
from nexus_agents.llm.interface import Usage

DOC: dict[str, Any] = {
    "artifacts": {
        "triage": {
            "narrative": {"severity": "P1", "summary": "Checkout errors at 52%"},
            "facts": {"error_rate": 0.52, "services": ["checkout", "payments"], "ok": True},
        },
        "plan": {"items": [{"id": "A", "rice": 12.5}, {"id": "B", "rice": 40}]},
    },
}


def run(**fields: Any) -> EvalCheckResult:
    return check_assertion(Assertion.model_validate(fields), DOC)


@pytest.mark.parametrize(
    ("fields", "passed"),
    [
        ({"path": "$.artifacts.triage.narrative.severity", "op": "equals", "value": "P1"}, True),
        ({"path": "$.artifacts.triage.narrative.severity", "op": "equals", "value": "P2"}, False),
        ({"path": "$.artifacts.triage.facts.ok", "op": "equals", "value": 1}, False),
        (
            {"path": "$.artifacts.triage.narrative.severity", "op": "in", "value": ["P0", "P1"]},
            True,
        ),
        (
            {"path": "$.artifacts.triage.narrative.severity", "op": "in", "value": ["P2", "P3"]},
            False,
        ),
        (
            {"path": "$.artifacts.triage.facts.services", "op": "contains", "value": "payments"},
            True,
        ),
        ({"path": "$.artifacts.triage.facts.services", "op": "contains", "value": "search"}, False),
        ({"path": "$.artifacts.triage.narrative.summary", "op": "contains", "value": "52%"}, True),
        (
            {"path": "$.artifacts.triage.facts.error_rate", "op": "range", "min": 0.5, "max": 1},
            True,
        ),
        ({"path": "$.artifacts.triage.facts.error_rate", "op": "range", "max": 0.5}, False),
        (
            {"path": "$.artifacts.triage.narrative.severity", "op": "matches", "value": "^P[0-3]$"},
            True,
        ),
        (
            {"path": "$.artifacts.triage.narrative.summary", "op": "matches", "value": "^Latency"},
            False,
        ),
        ({"path": "$.artifacts.triage.facts.services[1]", "op": "exists"}, True),
        ({"path": "$.artifacts.triage.facts.services[5]", "op": "exists"}, False),
        ({"path": "$.artifacts.postmortem", "op": "not_exists"}, True),
        ({"path": "$.artifacts['triage'].narrative", "op": "not_exists"}, False),
        ({"path": "$.artifacts.plan.items[*].id", "op": "equals", "value": ["A", "B"]}, True),
        ({"path": "$.artifacts.plan.items[*].id", "op": "contains", "value": "B"}, True),
        ({"path": "$.artifacts.plan.items[*].rice", "op": "range", "min": 10}, True),
        ({"path": "$.artifacts.plan.items[*].rice", "op": "range", "max": 20}, False),
        ({"path": "$.artifacts.plan.items[-1].id", "op": "in", "value": ["B"]}, True),
    ],
)
def test_every_operator_passes_and_fails(fields: dict[str, Any], passed: bool) -> None:
    result = run(**fields)
    assert result.passed is passed
    assert (result.reason == "") is passed


def test_failure_reasons_say_what_was_expected_and_found() -> None:
    assert run(path="$.artifacts.triage.narrative.severity", op="equals", value="P2").reason == (
        '$.artifacts.triage.narrative.severity: expected "P2", got "P1"'
    )
    assert (
        "0.52 is above max 0.5"
        in run(path="$.artifacts.triage.facts.error_rate", op="range", max=0.5).reason
    )
    assert (
        "40 is above max 20"
        in run(path="$.artifacts.plan.items[*].rice", op="range", max=20).reason
    )
    assert (
        "nothing at this path" in run(path="$.artifacts.missing.field", op="equals", value=1).reason
    )
    assert (
        'does not contain "search"'
        in run(path="$.artifacts.triage.facts.services", op="contains", value="search").reason
    )
    assert (
        "not a number"
        in run(path="$.artifacts.triage.narrative.severity", op="range", min=0).reason
    )
    assert (
        "does not match '^Latency'"
        in run(path="$.artifacts.triage.narrative.summary", op="matches", value="^Latency").reason
    )
    assert (
        '"P1" is not one of ["P2"]'
        in run(path="$.artifacts.triage.narrative.severity", op="in", value=["P2"]).reason
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"path": "artifacts.x", "op": "exists"}, "must start with '$'"),
        ({"path": "$.a[", "op": "exists"}, "unexpected"),
        ({"path": "$.a", "op": "equals"}, "needs 'value'"),
        ({"path": "$.a", "op": "in", "value": "P1"}, "to be a list"),
        ({"path": "$.a", "op": "range"}, "needs 'min', 'max'"),
        ({"path": "$.a", "op": "range", "min": 5, "max": 1}, "above max"),
        ({"path": "$.a", "op": "matches", "value": "("}, "invalid regular expression"),
        ({"path": "$.a", "op": "equals", "value": 1, "min": 0}, "only apply to op 'range'"),
    ],
)
def test_invalid_assertions_are_rejected(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Assertion.model_validate(fields)


def test_path_parser_subset() -> None:
    assert parse_path("$").find({"a": 1}) == [{"a": 1}]
    assert parse_path("$.a.*").find({"a": {"x": 1, "y": 2}}) == [1, 2]
    assert parse_path('$["odd key"][0]').find({"odd key": [7]}) == [7]
    with pytest.raises(JsonPathError):
        parse_path("$..a")


TRAJ = Trajectory(
    agents=["agents-orchestrator", "infrastructure-maintainer", "devops-automator"],
    tool_calls=[
        TrajectoryToolCall(
            tool="error_rate",
            agent="infrastructure-maintainer",
            args={"service": "checkout", "window": "5m"},
        ),
        TrajectoryToolCall(tool="recent_deploys", agent="devops-automator", args={"limit": 3}),
    ],
    actions=[ActionRecord(action="rollback", agent="devops-automator", approved=False)],
)


def traj(**fields: Any) -> list[EvalCheckResult]:
    return check_trajectory(TrajectoryExpectation.model_validate(fields), TRAJ)


def test_agent_order_exact_and_subsequence() -> None:
    [sub] = traj(agents=["agents-orchestrator", "devops-automator"])
    assert sub.passed
    [wrong_order] = traj(agents=["devops-automator", "agents-orchestrator"])
    assert (
        not wrong_order.passed and "'agents-orchestrator' not found in order" in wrong_order.reason
    )
    [exact] = traj(agents=["agents-orchestrator", "devops-automator"], agents_mode="exact")
    assert not exact.passed and "expected exactly" in exact.reason


def test_tool_calls_match_by_argument_subset() -> None:
    ok, bad_args, wrong_agent = traj(
        tool_calls=[
            {"tool": "error_rate", "args": {"service": "checkout"}},
            {"tool": "error_rate", "args": {"service": "search"}},
            {"tool": "recent_deploys", "agent": "agents-orchestrator"},
        ]
    )
    assert ok.passed
    assert not bad_args.passed and '"checkout"' in bad_args.reason  # shows the actual calls
    assert not wrong_agent.passed


def test_forbidden_actions_and_tools() -> None:
    [deploy, rollback] = traj(
        forbidden=[{"action": "deploy"}, {"action": "rollback", "unless_approved": True}]
    )
    assert deploy.passed
    assert not rollback.passed
    assert rollback.reason == "action 'rollback' executed by devops-automator without approval"
    approved = Trajectory(actions=[ActionRecord(action="rollback", approved=True)])
    [allowed] = check_trajectory(
        TrajectoryExpectation(forbidden=[{"action": "rollback", "unless_approved": True}]),  # type: ignore[list-item]
        approved,
    )
    assert allowed.passed
    [tool] = traj(forbidden=[{"tool": "recent_deploys"}])
    assert not tool.passed and "recent_deploys" in tool.reason


def test_budgets() -> None:
    usage = Usage(calls=3, total_tokens=1500, cost_usd=0.02)
    results = check_budgets(
        Budgets(max_tokens=1000, max_cost_usd=0.05, max_model_calls=3, max_wall_seconds=2),
        usage,
        2.5,
    )
    status = {r.name: (r.passed, r.reason) for r in results}
    assert status["tokens <= 1000 tokens"] == (
        False,
        "used 1500 tokens, over the limit of 1000 tokens",
    )
    assert status["cost <= $0.0500"][0] is True
    assert status["model calls <= 3 model calls"][0] is True
    assert status["wall time <= 2.00 s"][0] is False


def check(status: str, weight: float = 1, gate: bool = True) -> EvalCheckResult:
    return EvalCheckResult(kind="assertion", name="c", status=status, weight=weight, gate=gate)  # type: ignore[arg-type]


def test_score_is_weighted_and_gates_decide_status() -> None:
    checks = [check("passed", 3), check("failed", 1, gate=False), check("skipped", 5)]
    assert case_score(checks) == pytest.approx(0.75)
    assert case_status(checks) == "passed"  # the failed check does not gate
    gated = [check("passed", 3), check("failed", 1)]
    assert case_status(gated) == "failed"
    assert case_score(gated) == pytest.approx(0.75)
    assert case_score([check("passed", 0)]) == 1.0
    assert case_score([check("failed", 0, gate=False)]) == 0.0


def test_error_is_kept_apart_from_failures() -> None:
    assert case_status([check("skipped")], error="ModelError: boom") == "error"
    assert case_score([check("passed")], error="boom") == 0.0
    replay_miss = EvalCheckResult(kind="replay", name="r", status="failed", weight=0)
    assert case_status([replay_miss], error="boom") == "failed"
