"""Numbers stated in a narrative agree with the facts of the same name."""

from __future__ import annotations

from typing import Any

import pytest

from nexus_agents.artifacts.numbers import check_narrative_numbers, mismatches
from nexus_agents.artifacts.reports_weekly import WeeklyFeedbackFacts

FACTS: dict[str, Any] = {
    "nps": 31.58,
    "feedback_count": 12,
    "users_affected": 5,
    "error_rate_pct": 62.5,
    "mrr": 33929.0,
    "new_mrr": 3632.0,
    "attempt": 2,
    "kpis": [{"name": "Activation rate", "value": 0.41}],
}


@pytest.mark.parametrize(
    "text",
    [
        "NPS 31.6 this week.",
        "NPS is 32.",
        "NPS: 31.58",
        "feedback count 12",
        "5 users affected",
        "error rate 62.5%",
        "MRR 33,929 EUR; new MRR 3,632",
        "Activation rate 41%",
        "attempt 1 failed, attempt 2 passed",  # counters are not measures
        "0 of 5 users affected so far",  # the whole, not the fact
        "NPS 2026-W47 review",  # a label, not a value
    ],
)
def test_numbers_that_agree_or_are_not_claims_pass(text: str) -> None:
    assert mismatches(FACTS, {"summary": text}) == []


@pytest.mark.parametrize(
    ("text", "fact"),
    [
        ("NPS 95, our best ever.", "nps"),
        ("feedback count 40", "feedback_count"),
        ("0 users affected", "users_affected"),
        ("error rate 70%", "error_rate_pct"),
        ("new MRR 10,000", "new_mrr"),
        ("Activation rate 90%", "kpis[Activation rate].value"),
    ],
)
def test_a_contradicting_number_is_named_with_the_true_value(text: str, fact: str) -> None:
    (found,) = mismatches(FACTS, {"deep": [{"text": text}]})
    assert found.fact == fact


def test_the_error_tells_the_model_the_fact_the_stated_and_the_true_value() -> None:
    with pytest.raises(ValueError) as err:
        check_narrative_numbers(FACTS, {"summary": "NPS 95."})
    assert "'NPS 95'" in str(err.value) and "nps = 31.58" in str(err.value)


def test_a_number_for_an_unmeasured_fact_is_refused() -> None:
    facts = WeeklyFeedbackFacts(week="2026-W47", feedback_count=0, nps=None)
    with pytest.raises(ValueError, match="not measured"):
        check_narrative_numbers(facts, {"summary": "NPS 40 this week"})
