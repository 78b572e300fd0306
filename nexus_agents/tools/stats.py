"""Two-proportion z-tests for A/B experiments, confidence intervals and sample sizes.

Fixed at alpha = 0.05 (two-sided) and 80% power. The test statistic uses the pooled
standard error; the 95% interval of the difference uses the unpooled one. Each variant
is compared with the control on its own (no multiple-comparison correction).
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nexus_agents.tools._math import Z_95, Z_POWER_80, two_sided_p
from nexus_agents.tools.base import tool

ALPHA = 0.05

DecisionHint = Literal["ship", "stop", "keep_running", "inconclusive"]
Recommendation = Literal["go", "no_go", "continue"]


class Arm(BaseModel):
    """Exposures and conversions of one experiment arm."""

    model_config = ConfigDict(frozen=True)

    exposures: int = Field(ge=0)
    conversions: int = Field(ge=0)

    @model_validator(mode="after")
    def _bounded(self) -> Arm:
        if self.conversions > self.exposures:
            raise ValueError(
                f"conversions ({self.conversions}) cannot exceed exposures ({self.exposures})"
            )
        return self


class ProportionTest(BaseModel):
    """Result of comparing a variant's conversion rate with the control's."""

    control_rate: float | None = Field(description="fraction 0..1")
    variant_rate: float | None = Field(description="fraction 0..1")
    difference: float | None = Field(description="variant_rate - control_rate")
    ci_low: float | None = Field(description="95% CI of the difference, lower bound")
    ci_high: float | None = Field(description="95% CI of the difference, upper bound")
    z: float | None = None
    p_value: float | None = Field(default=None, ge=0, le=1, description="two-sided")
    lift_pct: float | None = Field(description="100 x difference / control_rate")
    significant: bool = Field(description="p_value < 0.05")
    required_sample_per_arm: int | None = Field(
        description="per arm for 80% power at alpha 0.05 for the baseline and lift used"
    )
    reason: str = Field(default="", description="why a value is missing")


def required_sample_per_arm(p1: float, p2: float) -> int | None:
    """n per arm = (z_a sqrt(2 pbar (1 - pbar)) + z_b sqrt(p1 q1 + p2 q2))^2 / (p2 - p1)^2.

    ``pbar`` is the mean of the two rates; None when the rates are equal.
    """
    if p1 == p2:
        return None
    pbar = (p1 + p2) / 2
    root = Z_95 * math.sqrt(2 * pbar * (1 - pbar)) + Z_POWER_80 * math.sqrt(
        p1 * (1 - p1) + p2 * (1 - p2)
    )
    return math.ceil(root**2 / (p2 - p1) ** 2)


def compare(control: Arm, variant: Arm, planned_lift_pct: float | None = None) -> ProportionTest:
    """Two-proportion z-test of ``variant`` against ``control``."""
    empty = [
        name for name, arm in (("control", control), ("variant", variant)) if arm.exposures == 0
    ]
    if empty:
        return ProportionTest(
            control_rate=None,
            variant_rate=None,
            difference=None,
            ci_low=None,
            ci_high=None,
            lift_pct=None,
            significant=False,
            required_sample_per_arm=None,
            reason=f"no exposures in the {' and '.join(empty)} arm",
        )
    n1, n2 = control.exposures, variant.exposures
    p1, p2 = control.conversions / n1, variant.conversions / n2
    diff = p2 - p1
    pooled = (control.conversions + variant.conversions) / (n1 + n2)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    reasons: list[str] = []
    if se_pooled == 0:
        z, p_value = 0.0, 1.0
        reasons.append("both arms have the same all-or-nothing rate: no variation to test")
    else:
        z = diff / se_pooled
        p_value = two_sided_p(z)
    margin = Z_95 * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    lift = None if p1 == 0 else 100.0 * diff / p1
    if lift is None:
        reasons.append("control rate is 0: relative lift undefined")
    if planned_lift_pct is not None:
        target = p1 * (1 + planned_lift_pct / 100.0)
        sample = required_sample_per_arm(p1, target) if 0 <= target <= 1 else None
        if sample is None:
            reasons.append("planned lift gives no valid target rate: sample size undefined")
    else:
        sample = required_sample_per_arm(p1, p2)
        if sample is None:
            reasons.append("no observed difference: sample size undefined")
    return ProportionTest(
        control_rate=p1,
        variant_rate=p2,
        difference=diff,
        ci_low=diff - margin,
        ci_high=diff + margin,
        z=z,
        p_value=p_value,
        lift_pct=lift,
        significant=p_value < ALPHA,
        required_sample_per_arm=sample,
        reason="; ".join(reasons),
    )


def decision_hint(result: ProportionTest, control: Arm, variant: Arm) -> DecisionHint:
    """ship / stop when significant, else keep_running until the sample size is reached."""
    if result.p_value is None or result.difference is None:
        return "keep_running"
    if result.significant:
        return "ship" if result.difference > 0 else "stop"
    needed = result.required_sample_per_arm
    if needed is None or min(control.exposures, variant.exposures) >= needed:
        return "inconclusive"
    return "keep_running"


class TwoProportionInput(BaseModel):
    control: Arm
    variant: Arm
    planned_lift_pct: float | None = Field(
        default=None,
        description="relative lift to size the test for; default: the observed lift",
    )


@tool()
def two_proportion_test(args: TwoProportionInput) -> ProportionTest:
    """Compare a variant's conversion rate with the control's (two-proportion z-test).

    Returns both rates (fractions), the difference with its 95% confidence interval, the
    two-sided p-value, the relative lift in percent, significance at alpha 0.05 and the
    sample size per arm needed for 80% power (for the observed or planned lift). An arm
    with zero exposures gives no result and a reason.
    """
    return compare(args.control, args.variant, args.planned_lift_pct)


class ExperimentRow(BaseModel):
    """One arm of an experiment."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    experiment_id: str
    variant: str
    exposures: int = Field(ge=0)
    conversions: int = Field(ge=0)

    @model_validator(mode="after")
    def _bounded(self) -> ExperimentRow:
        if self.conversions > self.exposures:
            raise ValueError(
                f"experiment {self.experiment_id!r} variant {self.variant!r}: conversions "
                f"({self.conversions}) cannot exceed exposures ({self.exposures})"
            )
        return self


class VariantResult(ProportionTest):
    variant: str
    exposures: int
    conversions: int
    decision_hint: DecisionHint = Field(
        description="ship (significant win), stop (significant loss), keep_running "
        "(sample size not reached) or inconclusive (reached, no significant difference)"
    )


class ExperimentResult(BaseModel):
    experiment_id: str
    control: str = Field(description="name of the control arm")
    control_exposures: int
    control_conversions: int
    variants: list[VariantResult]
    recommendation: Recommendation = Field(
        description="go if a variant should ship, continue while any variant needs more "
        "data, otherwise no_go"
    )
    winner: str | None = Field(description="the shipping variant with the largest lift")


class AnalyzeExperimentInput(BaseModel):
    rows: list[ExperimentRow] = Field(
        description="experiment arms; per experiment the arm named 'control' is the control, "
        "else its first row"
    )
    experiment_id: str | None = Field(default=None, description="analyze only this experiment")
    planned_lift_pct: float | None = Field(
        default=None, description="relative lift to size tests for; default: observed lift"
    )


class AnalyzeExperimentOutput(BaseModel):
    experiments: list[ExperimentResult]


def _analyze_one(
    experiment_id: str, rows: list[ExperimentRow], planned: float | None
) -> ExperimentResult:
    names = [r.variant.strip().lower() for r in rows]
    control_row = rows[names.index("control")] if "control" in names else rows[0]
    control = Arm(exposures=control_row.exposures, conversions=control_row.conversions)
    results: list[VariantResult] = []
    for row in rows:
        if row is control_row:
            continue
        arm = Arm(exposures=row.exposures, conversions=row.conversions)
        test = compare(control, arm, planned)
        results.append(
            VariantResult(
                **test.model_dump(),
                variant=row.variant,
                exposures=row.exposures,
                conversions=row.conversions,
                decision_hint=decision_hint(test, control, arm),
            )
        )
    shipping = [r for r in results if r.decision_hint == "ship"]
    winner = max(shipping, key=lambda r: r.difference or 0.0).variant if shipping else None
    if winner is not None:
        recommendation: Recommendation = "go"
    elif any(r.decision_hint == "keep_running" for r in results) or not results:
        recommendation = "continue"
    else:
        recommendation = "no_go"
    return ExperimentResult(
        experiment_id=experiment_id,
        control=control_row.variant,
        control_exposures=control_row.exposures,
        control_conversions=control_row.conversions,
        variants=results,
        recommendation=recommendation,
        winner=winner,
    )


@tool()
def analyze_experiment(args: AnalyzeExperimentInput) -> AnalyzeExperimentOutput:
    """Evaluate A/B experiments: every variant against the control with a two-proportion z-test.

    Per variant: rates, difference with 95% CI, p-value, lift %, significance at 0.05,
    sample size per arm for 80% power and a decision hint (ship, stop, keep_running,
    inconclusive). Per experiment: recommendation go (some variant ships), continue (a
    variant still needs data) or no_go, and the winning variant. Experiments keep the
    order of their first row.
    """
    groups: dict[str, list[ExperimentRow]] = {}
    for row in args.rows:
        if args.experiment_id is None or row.experiment_id == args.experiment_id:
            groups.setdefault(row.experiment_id, []).append(row)
    return AnalyzeExperimentOutput(
        experiments=[_analyze_one(k, v, args.planned_lift_pct) for k, v in groups.items()]
    )
