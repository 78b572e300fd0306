"""Two-proportion z-test, CI, sample size and experiment recommendations."""

from __future__ import annotations

from statistics import NormalDist

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from nexus_agents.tools.base import get_tool
from nexus_agents.tools.stats import (
    AnalyzeExperimentInput,
    Arm,
    analyze_experiment,
    compare,
    required_sample_per_arm,
)


def test_hand_computed_z_test() -> None:
    # control 100/1000 = 0.10, variant 130/1000 = 0.13, difference 0.03
    # pooled p = 230/2000 = 0.115; SE = sqrt(0.115 * 0.885 * (1/1000 + 1/1000)) = 0.0142671
    # z = 0.03 / 0.0142671 = 2.10274 -> two-sided p = 2 * (1 - Phi(2.10274)) = 0.03549
    # unpooled SE = sqrt(0.1*0.9/1000 + 0.13*0.87/1000) = 0.0142513; margin = 1.959964 * it
    #   = 0.0279321 -> CI [0.0020679, 0.0579321]; lift = 0.03 / 0.10 = 30%
    r = compare(Arm(exposures=1000, conversions=100), Arm(exposures=1000, conversions=130))
    assert r.control_rate == pytest.approx(0.10)
    assert r.variant_rate == pytest.approx(0.13)
    assert r.z == pytest.approx(2.10274, abs=1e-5)
    assert r.p_value == pytest.approx(2 * (1 - NormalDist().cdf(2.102740605622114)), rel=1e-9)
    assert r.p_value == pytest.approx(0.03549, abs=1e-5)
    assert r.ci_low == pytest.approx(0.0020679, abs=1e-7)
    assert r.ci_high == pytest.approx(0.0579321, abs=1e-7)
    assert r.lift_pct == pytest.approx(30.0)
    assert r.significant is True
    # n = (1.959964*sqrt(2*0.115*0.885) + 0.841621*sqrt(0.1*0.9 + 0.13*0.87))^2 / 0.03^2
    #   = (0.884267 + 0.379290)^2 / 0.0009 = 1773.98 -> 1774 per arm
    assert r.required_sample_per_arm == 1774


def test_not_significant_when_difference_small() -> None:
    # 100/1000 vs 105/1000: pooled 0.1025, SE = sqrt(0.1025*0.8975*0.002) = 0.013564,
    # z = 0.005 / 0.013564 = 0.3686 -> p = 0.7124
    r = compare(Arm(exposures=1000, conversions=100), Arm(exposures=1000, conversions=105))
    assert r.p_value == pytest.approx(0.7124, abs=1e-4)
    assert r.significant is False


def test_zero_exposures_gives_no_result_with_reason() -> None:
    r = compare(Arm(exposures=0, conversions=0), Arm(exposures=50, conversions=5))
    assert r.p_value is None and r.ci_low is None and r.lift_pct is None
    assert r.significant is False
    assert "no exposures in the control arm" in r.reason


def test_identical_all_zero_rates_have_p_one() -> None:
    r = compare(Arm(exposures=100, conversions=0), Arm(exposures=100, conversions=0))
    assert r.p_value == 1.0 and r.significant is False
    assert r.required_sample_per_arm is None
    assert "control rate is 0" in r.reason


def test_conversions_above_exposures_rejected() -> None:
    with pytest.raises(ValidationError, match="cannot exceed exposures"):
        AnalyzeExperimentInput.model_validate(
            {"rows": [{"experiment_id": "e", "variant": "a", "exposures": 5, "conversions": 6}]}
        )


def test_planned_lift_sizes_the_test() -> None:
    # baseline 0.10, planned +30% -> target 0.13: same 1774 as the observed case above
    r = compare(Arm(exposures=500, conversions=50), Arm(exposures=500, conversions=50), 30.0)
    assert r.required_sample_per_arm == 1774
    assert required_sample_per_arm(0.2, 0.2) is None


def rows(exp: str, *arms: tuple[str, int, int]) -> list[dict[str, object]]:
    return [
        {"experiment_id": exp, "variant": v, "exposures": n, "conversions": c} for v, n, c in arms
    ]


def test_analyze_experiment_recommendations() -> None:
    data = (
        rows("win", ("control", 1000, 100), ("b", 1000, 130))
        + rows("lose", ("base", 1000, 130), ("b", 1000, 100))  # first row is the control
        + rows("early", ("b", 200, 22), ("control", 200, 20))  # named control wins over order
        + rows("flat", ("control", 5000, 500), ("b", 5000, 502))
    )
    out = analyze_experiment(AnalyzeExperimentInput.model_validate({"rows": data}))
    by_id = {e.experiment_id: e for e in out.experiments}
    assert [e.experiment_id for e in out.experiments] == ["win", "lose", "early", "flat"]
    assert by_id["win"].recommendation == "go" and by_id["win"].winner == "b"
    assert by_id["win"].variants[0].decision_hint == "ship"
    assert by_id["lose"].control == "base"
    assert by_id["lose"].variants[0].decision_hint == "stop"
    assert by_id["lose"].recommendation == "no_go"
    # early: 20/200 vs 22/200, not significant, needs thousands per arm -> keep running
    assert by_id["early"].control == "control"
    assert by_id["early"].variants[0].decision_hint == "keep_running"
    assert by_id["early"].recommendation == "continue"
    # flat: 0.100 vs 0.1004: an observed lift that tiny needs millions per arm -> keep running
    assert by_id["flat"].variants[0].decision_hint == "keep_running"


def test_inconclusive_once_planned_sample_is_reached() -> None:
    # 2000 per arm >= 1774 needed for a planned +30% lift, and 200 vs 205 is not significant
    out = get_tool("analyze_experiment").call(
        {
            "rows": rows("x", ("control", 2000, 200), ("b", 2000, 205)),
            "planned_lift_pct": 30,
        }
    )
    exp = out.experiments[0]  # type: ignore[attr-defined]
    assert exp.variants[0].decision_hint == "inconclusive"
    assert exp.recommendation == "no_go"


arms = st.integers(1, 5000).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n)))


@settings(max_examples=300, deadline=None)
@given(control=arms, variant=arms)
def test_p_value_bounded_and_ci_contains_difference(control, variant) -> None:  # type: ignore[no-untyped-def]
    r = compare(
        Arm(exposures=control[0], conversions=control[1]),
        Arm(exposures=variant[0], conversions=variant[1]),
    )
    assert r.p_value is not None and 0.0 <= r.p_value <= 1.0
    assert r.ci_low is not None and r.ci_high is not None and r.difference is not None
    assert r.ci_low <= r.difference <= r.ci_high
    assert r.significant == (r.p_value < 0.05)


@settings(max_examples=100, deadline=None)
@given(p1=st.floats(0.01, 0.9), lift=st.floats(0.05, 0.5))
def test_bigger_lift_needs_fewer_samples(p1: float, lift: float) -> None:
    assume(p1 * (1 + 2 * lift) < 1)
    small = required_sample_per_arm(p1, p1 * (1 + lift))
    big = required_sample_per_arm(p1, p1 * (1 + 2 * lift))
    assert small is not None and big is not None and big <= small
