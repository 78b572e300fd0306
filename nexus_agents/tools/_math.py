"""Small numeric helpers shared by the analysis tools (standard library only)."""

from __future__ import annotations

import math
from collections.abc import Sequence

Z_95 = 1.959964
"""z_{1-alpha/2} for a two-sided test at alpha = 0.05."""

Z_POWER_80 = 0.841621
"""z_{0.8}: 80% power."""


def two_sided_p(z: float) -> float:
    """Two-sided p-value of a standard normal statistic: P(|Z| >= |z|)."""
    return min(1.0, max(0.0, math.erfc(abs(z) / math.sqrt(2.0))))


def finite(value: float | None) -> float | None:
    """``value``, or None when it is inf or NaN (an overflow is "not available", not inf)."""
    return value if value is None or math.isfinite(value) else None


def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator``; None when the denominator is zero or the result
    is not a finite number."""
    if denominator == 0:
        return None
    try:
        return finite(numerator / denominator)
    except OverflowError:
        return None


def pct(numerator: float, denominator: float) -> float | None:
    """Percentage ``100 * numerator / denominator``; None when the denominator is zero or
    the result is not a finite number."""
    value = ratio(numerator, denominator)
    return None if value is None else finite(100.0 * value)


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def least_squares(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float] | None:
    """(slope, intercept) of the ordinary least-squares line; None if the xs do not vary."""
    n = len(xs)
    if n != len(ys) or n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx
    return slope, my - slope * mx


def r_squared(ys: Sequence[float], fitted: Sequence[float]) -> float | None:
    """Coefficient of determination; None when the ys are all equal."""
    my = sum(ys) / len(ys)
    total = sum((y - my) ** 2 for y in ys)
    if total == 0:
        return None
    resid = sum((y - f) ** 2 for y, f in zip(ys, fitted, strict=True))
    return 1.0 - resid / total
