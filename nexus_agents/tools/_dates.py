"""Month arithmetic and timestamp checks shared by the analysis tools."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator


def month_start(day: date) -> date:
    return date(day.year, day.month, 1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_label(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def months_between(first: date, last: date) -> list[date]:
    """Every month start from ``first`` to ``last`` inclusive."""
    out: list[date] = []
    current = month_start(first)
    while current <= last:
        out.append(current)
        current = add_months(current, 1)
    return out


def _parse_month(value: Any) -> Any:
    if isinstance(value, str) and len(value) == 7 and value[4] == "-":
        return f"{value}-01"
    if isinstance(value, datetime):
        return value.date()
    return value


Month = Annotated[date, BeforeValidator(_parse_month), AfterValidator(month_start)]
"""A month given as ``YYYY-MM`` or any date inside it (normalized to the first day)."""


def check_same_kind(stamps: Iterable[tuple[str, datetime | None]]) -> None:
    """Raise ValueError when timezone-aware and naive timestamps are mixed."""
    aware: str | None = None
    naive: str | None = None
    for where, stamp in stamps:
        if stamp is None:
            continue
        if stamp.tzinfo is not None and stamp.utcoffset() is not None:
            aware = aware or where
        else:
            naive = naive or where
        if aware and naive:
            raise ValueError(
                f"timestamps mix timezones: {aware} has a UTC offset but {naive} has none; "
                "give all timestamps with an offset or all without"
            )
