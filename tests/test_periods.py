from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_agents.periods import PeriodKind, parse_period, period_containing


@pytest.mark.parametrize(
    ("label", "start", "end"),
    [
        ("2026-11-27", datetime(2026, 11, 27), datetime(2026, 11, 28)),
        ("2026-W48", datetime(2026, 11, 23), datetime(2026, 11, 30)),
        ("2026-BW24", datetime(2026, 11, 16), datetime(2026, 11, 30)),
        ("2026-11", datetime(2026, 11, 1), datetime(2026, 12, 1)),
        ("2026-12", datetime(2026, 12, 1), datetime(2027, 1, 1)),
        ("2026-Q4", datetime(2026, 10, 1), datetime(2027, 1, 1)),
        ("2026", datetime(2026, 1, 1), datetime(2027, 1, 1)),
        ("2026-11-27T06:55", datetime(2026, 11, 27, 6, 55), datetime(2026, 11, 27, 7, 0)),
        # 2026 has 53 ISO weeks: the last bi-week is a single week
        ("2026-BW27", datetime(2026, 12, 28), datetime(2027, 1, 4)),
    ],
)
def test_labels_parse_to_intervals(label: str, start: datetime, end: datetime) -> None:
    period = parse_period(label)
    assert (period.start, period.end) == (start, end)
    assert period.label == label


def test_previous_and_next_cross_year_boundaries() -> None:
    assert parse_period("2027-01").previous().label == "2026-12"
    assert parse_period("2026-Q4").next().label == "2027-Q1"
    assert parse_period("2027-W01").previous().label == "2026-W53"
    assert parse_period("2027-BW01").previous().label == "2026-BW27"


@pytest.mark.parametrize("bad", ["2026-13", "2026-W54", "2026-Q5", "Nov 2026", "2026-11-31", "2026-11-27T06:57"])
def test_bad_labels_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid period"):
        parse_period(bad)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)), st.sampled_from(list(PeriodKind)))
def test_every_day_lies_in_exactly_its_period(day: date, kind: PeriodKind) -> None:
    period = period_containing(kind, day)
    assert period.contains(day)
    assert not period.previous().contains(day)
    assert not period.next().contains(day)
    assert parse_period(period.label) == period
    assert period.previous().end == period.start
