"""Improvement-loop / feature-cycle facts builders."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from nexus_agents.artifacts.handoffs import ESCALATION_OPTIONS, RETRY_RULE
from nexus_agents.artifacts.registry import get_artifact
from nexus_agents.data.rows import backlog_rows, deployment_rows
from nexus_agents.exceptions import ConfigError
from nexus_agents.facts import LoopBoundStore, builder_for
from nexus_agents.facts.delivery import MUST_PASS_CRITERIA
from nexus_agents.periods import parse_period
from nexus_agents.runs.store import RunStore
from nexus_agents.tools.kpis import compute_kpis

DAY = "2026-11-26"
CRITERIA = ["Dashboard p95 under 2 s", "No regression in export"]


def _build(kind, ctx):  # type: ignore[no-untyped-def]
    bundle = builder_for(kind)(ctx)
    return bundle, get_artifact(kind).facts_model().model_validate(bundle.facts)


def art(kind: str, facts: dict[str, Any], narrative: dict[str, Any], agent: str = "x") -> dict:
    """An artifact as the graph state holds it (validated by its class)."""
    artifact = get_artifact(kind).compose(facts, narrative, {"agent": agent})
    return {**artifact.model_dump(mode="json"), "kind": kind}


def plan_state(make_ctx) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    bundle, _ = _build("sprint_plan", make_ctx("2026-W48"))
    narrative = {
        "sprint_goal": "Faster onboarding",
        "rationale": "RICE order",
        "deferred_notes": [],
        "risks": [],
    }
    return {"artifacts": {"plan": art("sprint_plan", bundle.facts, narrative)}}


def proposal(item: str, title: str, attempt: int = 1, issues: list | None = None) -> dict:
    facts = {
        "item_id": item,
        "title": title,
        "attempt": attempt,
        "acceptance_criteria": CRITERIA,
        "qa_issues": issues or [],
    }
    narrative = {
        "summary": "s",
        "plan": [{"step": f"fix attempt {attempt}", "files": ["app/dash.py"]}],
        "tests": [],
        "risks": [],
        "addressed_issue_ids": [i["id"] for i in issues or []],
    }
    return art("developer_change_proposal", facts, narrative, agent="developer")


def issue(ident: str) -> dict[str, Any]:
    return {
        "id": ident,
        "category": "functional",
        "severity": "high",
        "description": f"problem {ident}",
        "expected": "e",
        "actual": "a",
        "evidence": "log",
        "fix_instruction": "fix",
        "files": ["app/dash.py"],
    }


def qa(item: str, attempt: int, verdict: str, issues: list | None = None) -> dict:
    facts = {
        "task_id": item,
        "task_description": "t",
        "developer": "developer",
        "attempt": attempt,
        "timestamp": "2026-11-26T10:00:00",
        "acceptance_criteria": CRITERIA,
        "evidence": [{"id": "E-tests", "source": "build", "detail": "2 tests", "passed": True}],
    }
    criteria = [
        {
            "criterion": c,
            "status": "pass" if verdict == "PASS" else "fail",
            "evidence": "seen",
            "evidence_refs": ["E-tests"],
        }
        for c in CRITERIA
    ]
    narrative = {"verdict": verdict, "criteria": criteria, "issues": issues or []}
    return art("qa_verdict", facts, narrative, agent="evidence_collector")


def test_feedback_insights_carry_the_measured_kpis(make_ctx) -> None:
    snapshot, _ = _build("daily_metrics_snapshot", make_ctx(DAY))
    measured = art(
        "daily_metrics_snapshot",
        snapshot.facts,
        {"headline": "h", "status": "watch", "highlights": [], "concerns": [], "follow_ups": []},
    )
    bundle, facts = _build(
        "feedback_insights", make_ctx("2026-W47", state={"artifacts": {"measure": measured}})
    )
    assert [k.model_dump() for k in facts.kpis] == snapshot.facts["kpis"]
    assert facts.feedback_count == len([u for u in bundle.untrusted if u.id.startswith("FB-")])
    assert facts.themes


def test_change_proposal_takes_the_plan_top_item_on_a_first_attempt(demo, make_ctx) -> None:
    state = plan_state(make_ctx)
    top = state["artifacts"]["plan"]["facts"]["selected_item_ids"][0]
    _bundle, facts = _build(
        "developer_change_proposal",
        make_ctx(DAY, state={**state, "inputs": {"acceptance_criteria": CRITERIA}}, attempt=1),
    )
    candidate = next(
        c for c in state["artifacts"]["plan"]["facts"]["candidates"] if c["item_id"] == top
    )
    assert (facts.item_id, facts.rice_score, facts.attempt) == (top, candidate["score"], 1)
    # code's criteria (the backlog item, the must-pass checks) first; the operator's added
    assert facts.acceptance_criteria == [
        f"backlog item {top} works as its backlog entry describes",
        *MUST_PASS_CRITERIA,
        *CRITERIA,
    ]
    assert facts.qa_issues == []


def test_change_proposal_item_id_input_wins(make_ctx) -> None:
    state = plan_state(make_ctx)
    _, facts = _build(
        "developer_change_proposal", make_ctx(DAY, state={**state, "inputs": {"item_id": "BL-013"}})
    )
    assert (facts.item_id, facts.title) == ("BL-013", "Faster CI pipeline")
    # nothing recorded for the item: the code-owned criteria still hold it to a bar
    assert facts.acceptance_criteria == [
        "backlog item BL-013 works as its backlog entry describes",
        *MUST_PASS_CRITERIA,
    ]


def test_a_handoff_adds_criteria_but_never_replaces_the_code_owned_ones(make_ctx) -> None:
    state = plan_state(make_ctx)
    handoff = {
        "kind": "standard_handoff",
        "facts": {"task_ref": "BL-013"},
        "narrative": {"acceptance_criteria": ["It compiles"]},  # the model's only bar
    }
    state["artifacts"]["producer_review"] = handoff
    _, facts = _build(
        "developer_change_proposal",
        make_ctx(DAY, state={**state, "inputs": {"item_id": "BL-013"}}),
    )
    assert facts.acceptance_criteria[-1] == "It compiles"
    assert facts.acceptance_criteria[: 1 + len(MUST_PASS_CRITERIA)] == [
        "backlog item BL-013 works as its backlog entry describes",
        *MUST_PASS_CRITERIA,
    ]


def test_qa_evidence_is_what_code_observed_of_the_proposal(make_ctx) -> None:
    state = {"artifacts": {"change": proposal("BL-008", "Onboarding checklist v2", 1)}}
    _, facts = _build("qa_verdict", make_ctx(DAY, state=state, attempt=1, max_attempts=3))
    by_id = {e.id: e for e in facts.evidence}
    assert by_id["E-plan"].passed is True
    assert by_id["E-tests"].passed is False and by_id["E-tests"].required  # names no test


def test_retry_lists_only_the_issues_of_the_last_qa_fail(make_ctx) -> None:
    state = plan_state(make_ctx)
    item = state["artifacts"]["plan"]["facts"]["selected_item_ids"][0]
    history = {
        "build": [
            {
                "attempt": 1,
                "result": "FAIL",
                "artifacts": {
                    "change": proposal(item, "t"),
                    "qa": qa(item, 1, "FAIL", [issue("I1")]),
                },
            },
            {
                "attempt": 2,
                "result": "FAIL",
                "artifacts": {
                    "change": proposal(item, "t", 2, [issue("I1")]),
                    "qa": qa(item, 2, "FAIL", [issue("I2"), issue("I3")]),
                },
            },
        ]
    }
    state = {
        **state,
        "history": history,
        "artifacts": {**state["artifacts"], **history["build"][-1]["artifacts"]},
    }
    bundle, facts = _build(
        "developer_change_proposal",
        make_ctx(DAY, state=state, attempt=3, max_attempts=3, step_id="change"),
    )
    assert facts.attempt == 3
    assert [i.id for i in facts.qa_issues] == ["I2", "I3"]
    assert bundle.context["retry_rule"] == RETRY_RULE
    assert any("I2, I3" in g for g in bundle.guidance)
    # a first attempt never inherits issues, even with a FAIL in the state
    _, first = _build("developer_change_proposal", make_ctx(DAY, state=state, attempt=1))
    assert first.qa_issues == []


def test_qa_verdict_facts_come_from_the_change_proposal(make_ctx) -> None:
    state = {"artifacts": {"change": proposal("BL-008", "Onboarding checklist v2", 2)}}
    bundle, facts = _build("qa_verdict", make_ctx(DAY, state=state, attempt=2, max_attempts=3))
    assert (facts.task_id, facts.attempt, facts.max_attempts) == ("BL-008", 2, 3)
    assert facts.acceptance_criteria == CRITERIA and facts.developer == "developer"
    assert bundle.context["change_proposal"]["plan"][0]["files"] == ["app/dash.py"]
    with pytest.raises(ConfigError, match="developer_change_proposal"):
        builder_for("qa_verdict")(make_ctx(DAY))


def test_release_readiness_checks_qa_incidents_and_guardrails(demo, make_ctx) -> None:
    ws, planted = demo
    state = {"artifacts": {"qa": qa("BL-008", 1, "PASS")}}
    _, facts = _build("release_readiness", make_ctx(DAY, state=state))
    checks = {c.name: c for c in facts.checks}
    assert facts.qa_verdict == "PASS" and checks["QA passed"].passed
    assert checks["No open P0/P1 incidents"].passed  # only a P2 is open
    kpis = compute_kpis(ws, parse_period(DAY), ws.now()).by_key()
    uptime = checks[f"KPI guardrail: {kpis['uptime'].name}"]
    assert uptime.passed is (kpis["uptime"].status != "missed") is False
    assert facts.evidence == [f"{c}: seen" for c in CRITERIA]
    # while the planted P1 is open the release is blocked
    p1_day = parse_period((planted.sla_breach_day + timedelta(days=7)).isoformat())
    during = p1_day.start + timedelta(hours=10)
    _, blocked = _build("release_readiness", make_ctx(p1_day, state=state, as_of=during))
    check = next(c for c in blocked.checks if c.name == "No open P0/P1 incidents")
    assert not check.passed and planted.p1_incident_id in check.detail


def test_deploy_decision_change_failure_rate_and_flaggable(demo, make_ctx) -> None:
    ws, _ = demo
    ready = art(
        "release_readiness",
        {"item_id": "BL-014", "qa_verdict": "PASS", "qa_attempts": 1, "evidence": ["ok"]},
        {"verdict": "READY", "rationale": "r", "blocking_issues": [], "evidence_reviewed": []},
    )
    ctx = make_ctx(DAY, state={"artifacts": {"ready": ready}})
    _bundle, facts = _build("deploy_decision", ctx)
    recent = [d for d in deployment_rows(ws) if ctx.as_of - timedelta(days=30) <= d.deployed_at]
    failed = sum(1 for d in recent if d.status != "success")
    assert facts.readiness == "READY"
    assert facts.change_failure_rate_pct == pytest.approx(100 * failed / len(recent), abs=1e-3)
    assert facts.deploys_per_day == pytest.approx(len(recent) / 30, abs=1e-3)
    today = [d for d in recent if d.deployed_at.date() == ctx.as_of.date()]
    assert facts.deploys_today == len(today)
    source = next(r.source for r in backlog_rows(ws) if r.id == "BL-014")
    assert source == "engineering" and facts.flaggable is False
    _, override = _build(
        "deploy_decision",
        make_ctx(DAY, state={"artifacts": {"ready": ready}, "inputs": {"flaggable": True}}),
    )
    assert override.flaggable is True
    _, unready = _build("deploy_decision", make_ctx(DAY, state={"inputs": {"item_id": "BL-001"}}))
    assert unready.readiness == "NEEDS_WORK" and unready.flaggable is True


def test_escalation_records_three_attempts_and_the_five_options(make_ctx) -> None:
    item = "BL-008"
    records = [
        {
            "attempt": n,
            "result": "FAIL",
            "artifacts": {
                "change": proposal(item, "Onboarding checklist v2", n),
                "qa": qa(item, n, "FAIL", [issue(f"I{n}")]),
            },
        }
        for n in (1, 2, 3)
    ]
    ctx = make_ctx(
        DAY, state={"history": {"build": records}, "artifacts": records[-1]["artifacts"]}
    )
    bundle, facts = _build("escalation", ctx)
    # the loop's last record names its steps (their artifacts stay in the state only):
    # the facts are the same
    named = [*records[:-1], {"attempt": 3, "result": "FAIL", "steps": ["change", "qa"]}]
    state = {"history": {"build": named}, "artifacts": records[-1]["artifacts"]}
    _, same = _build("escalation", make_ctx(DAY, state=state))
    assert same == facts
    assert (facts.attempts, facts.max_attempts, facts.task_id) == (3, 3, item)
    assert [h.result for h in facts.history] == ["FAIL"] * 3
    assert [h.issues for h in facts.history] == [[f"I{n} [high] problem I{n}"] for n in (1, 2, 3)]
    assert facts.history[1].fixes == ["fix attempt 2"]
    assert bundle.context["options"] == list(ESCALATION_OPTIONS)
    assert facts.deadline == (ctx.as_of + timedelta(hours=24)).isoformat(timespec="minutes")
    assert facts.unattended_default == "defer" and facts.decision_maker == "Studio Producer"


def test_sprint_record_counts_done_items_and_first_pass_rate(make_ctx) -> None:
    state = plan_state(make_ctx)
    selected = state["artifacts"]["plan"]["facts"]["selected_item_ids"]
    candidates = {c["item_id"]: c for c in state["artifacts"]["plan"]["facts"]["candidates"]}
    top = selected[0]
    deploy = art(
        "deploy_decision",
        {"item_id": top, "readiness": "READY"},
        {
            "action": "deploy",
            "strategy": "direct",
            "flag_name": "",
            "rollout_pct": 100,
            "rollback_plan": "r",
            "rationale": "r",
        },
    )
    history = {
        "build": [
            {"attempt": 1, "artifacts": {"qa": qa(top, 1, "FAIL", [issue("I1")])}},
            {"attempt": 2, "artifacts": {"qa": qa(top, 2, "PASS")}},
        ]
    }
    state = {
        **state,
        "history": history,
        "artifacts": {**state["artifacts"], "change": proposal(top, "t"), "deploy": deploy},
    }
    _, facts = _build("sprint_record", make_ctx("2026-W48", state=state))
    tasks = {t.task_id: t for t in facts.tasks}
    assert [t.task_id for t in facts.tasks] == selected
    assert tasks[top].status == "done" and tasks[top].qa_attempts == 2
    assert facts.actual_velocity == candidates[top]["effort"]
    assert facts.planned_velocity == sum(candidates[i]["effort"] for i in selected)
    assert facts.first_pass_rate_pct == 0.0 and facts.average_retries == 1.0
    assert top not in {c.item_id for c in facts.carried_over}
    assert len(facts.carried_over) == len(selected) - 1
    assert facts.goal == "Faster onboarding"


async def test_loop_ledger_numbers_iterations_from_the_store(make_ctx, tmp_path) -> None:
    deploy = art(
        "deploy_decision",
        {"item_id": "BL-008", "readiness": "READY"},
        {
            "action": "deploy",
            "strategy": "feature_flag",
            "flag_name": "checklist",
            "rollout_pct": 10,
            "rollback_plan": "r",
            "rationale": "r",
        },
    )
    ctx = make_ctx(DAY, state={"artifacts": {"deploy": deploy}})
    _, first = _build("loop_ledger", ctx)
    assert first.iteration == 1 and first.deployed == ["BL-008"] and first.kpis
    async with await RunStore.open(tmp_path / "runs.sqlite") as store:
        await store.create_run("r1", "improvement_loop")
        await store.save_artifact(
            "r1", "ledger", {**art("loop_ledger", {**first.model_dump(), "iteration": 4}, {})}
        )
        bound = LoopBoundStore(store, asyncio.get_running_loop())
        # as the executor runs builders: in a worker thread, the store bound to this loop
        _, nxt = await asyncio.to_thread(_build, "loop_ledger", make_ctx(DAY, store=bound))
    assert nxt.iteration == 5 and nxt.deployed == []


def test_standard_handoff_header(make_ctx) -> None:
    state = plan_state(make_ctx)
    top = state["artifacts"]["plan"]["facts"]["selected_item_ids"][0]
    state["artifacts"]["change"] = proposal(top, "t")
    _bundle, facts = _build(
        "standard_handoff",
        make_ctx(DAY, state=state, options={"to": "evidence_collector", "priority": "high"}),
    )
    assert (facts.from_agent, facts.to_agent, facts.priority) == (
        "developer",
        "evidence_collector",
        "high",
    )
    assert facts.task_ref == top and facts.relevant_files == ["app/dash.py"]
    with pytest.raises(ConfigError, match="'to'"):
        builder_for("standard_handoff")(make_ctx(DAY, state=state))


def test_missing_data_gives_empty_delivery_facts(empty_ws, make_ctx) -> None:
    _, facts = _build(
        "deploy_decision", make_ctx(DAY, workspace=empty_ws, state={"inputs": {"item_id": "X"}})
    )
    assert facts.change_failure_rate_pct is None and facts.deploys_today == 0
    assert facts.flaggable is None and facts.deploys_per_day is None
    _, ledger = _build("loop_ledger", make_ctx(DAY, workspace=empty_ws))
    assert all(k.value is None for k in ledger.kpis) and ledger.deployed == []
    _, insights = _build("feedback_insights", make_ctx(DAY, workspace=empty_ws))
    assert insights.feedback_count == 0 and insights.themes == [] and insights.nps is None
    with pytest.raises(ConfigError, match="no backlog item"):
        builder_for("developer_change_proposal")(make_ctx(DAY, workspace=empty_ws))
