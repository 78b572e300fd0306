"""Severity floor, apply_floor and the response policy per severity."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_agents.artifacts.facts import SEVERITY_ORDER
from nexus_agents.tools.severity import (
    Alert,
    ApplyFloorInput,
    PolicyInput,
    apply_floor,
    severity_floor,
    severity_policy,
)


@pytest.mark.parametrize(
    ("alert", "floor"),
    [
        ({"service_down": True}, "P0"),
        ({"data_loss": True, "error_rate": 0.01}, "P0"),
        ({"security_breach": True}, "P0"),
        ({"error_rate": 0.5}, "P1"),  # exactly 50%
        ({"error_rate": 0.49}, "P3"),
        ({"latency_ms": 1000, "baseline_latency_ms": 100}, "P1"),  # exactly 10x
        ({"latency_ms": 999, "baseline_latency_ms": 100}, "P3"),
        ({"latency_ms": 5000, "baseline_latency_ms": 0}, "P3"),  # no baseline: no ratio
        ({"major_feature_broken": True}, "P1"),
        ({"title": "button misaligned"}, "P3"),
    ],
)
def test_floor_rules(alert: dict[str, object], floor: str) -> None:
    assert severity_floor(Alert.model_validate(alert)).floor == floor


def test_floor_reports_reasons_ratios_and_who_to_notify() -> None:
    out = severity_floor(
        Alert(
            service="api",
            error_rate=0.62,
            latency_ms=2400,
            baseline_latency_ms=200,
            revenue_impact=True,
            user_data_affected=True,
        )
    )
    assert out.floor == "P1"
    assert out.error_rate_pct == pytest.approx(62.0)
    assert out.latency_ratio == pytest.approx(12.0)  # 2400 / 200
    assert len(out.reasons) == 2 and "62%" in out.reasons[0] and "12.0x" in out.reasons[1]
    assert out.notify == ["Legal Compliance Checker", "Finance Tracker", "Studio Producer"]
    assert out.policy.decision_authority == "Project Shepherd"
    assert out.policy.escalate_after_minutes == 120


def test_error_rate_must_be_a_fraction() -> None:
    with pytest.raises(ValueError, match="error_rate"):
        Alert.model_validate({"error_rate": 55})


def test_apply_floor_raises_but_never_lowers() -> None:
    raised = apply_floor(ApplyFloorInput(proposed="P3", floor="P1"))
    assert raised.final == "P1" and raised.overridden
    kept = apply_floor(ApplyFloorInput(proposed="P0", floor="P1"))
    assert kept.final == "P0" and not kept.overridden
    assert kept.policy.decision_authority == "Studio Producer"


@pytest.mark.parametrize(
    ("sev", "authority", "time", "minutes"),
    [
        ("P0", "Studio Producer", "immediate", 15),
        ("P1", "Project Shepherd", "< 1 hour", 60),
        ("P2", "Agents Orchestrator", "< 4 hours", 240),
        ("P3", "Sprint Prioritizer", "next sprint", None),
    ],
)
def test_policy_table(sev: str, authority: str, time: str, minutes: int | None) -> None:
    p = severity_policy(PolicyInput.model_validate({"severity": sev}))
    assert (p.decision_authority, p.response_time, p.response_target_minutes) == (
        authority,
        time,
        minutes,
    )
    assert p.response_team  # every severity has someone responding
    if sev == "P0":
        assert p.response_team[0] == "Infrastructure Maintainer"
        assert "Backend Architect" in p.response_team


@given(st.sampled_from(SEVERITY_ORDER), st.sampled_from(SEVERITY_ORDER))
def test_final_never_below_floor(proposed: str, floor: str) -> None:
    out = apply_floor(ApplyFloorInput.model_validate({"proposed": proposed, "floor": floor}))
    assert SEVERITY_ORDER.index(out.final) <= SEVERITY_ORDER.index(floor)
    assert SEVERITY_ORDER.index(out.final) <= SEVERITY_ORDER.index(proposed)
    assert out.final in (proposed, floor)
    assert out.overridden == (out.final != proposed)


def test_failing_uptime_checks_are_p1_and_the_source_rating_only_raises() -> None:
    failing = severity_floor(Alert(service="api", checks_failing=["api"]))
    assert failing.floor == "P1" and failing.reasons == ["uptime checks failing for api"]
    raised = severity_floor(Alert(service="api", source_severity="P2"))
    assert raised.floor == "P2" and raised.reasons == ["the alert's source rated it P2"]
    kept = severity_floor(Alert(service="api", data_loss=True, source_severity="P3"))
    assert kept.floor == "P0" and kept.reasons == ["data loss"]
