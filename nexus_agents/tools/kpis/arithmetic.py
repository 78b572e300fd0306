"""The pure arithmetic behind the KPIs (no data, no I/O)."""

from __future__ import annotations

from nexus_agents.tools._math import finite

__all__ = ["ltv_to_cac", "nps_value", "percent", "relative_change_pct"]


def percent(numerator: float, denominator: float) -> float | None:
    """100 x numerator / denominator; None for a zero denominator."""
    return None if denominator == 0 else 100.0 * numerator / denominator


def nps_value(promoters: int, detractors: int, responses: int) -> float | None:
    """% promoters (9-10) minus % detractors (0-6)."""
    if responses == 0:
        return None
    return 100.0 * (promoters - detractors) / responses


def relative_change_pct(previous: float, current: float) -> float | None:
    """(current - previous) / previous in %; None when previous is zero or the change is
    not a finite number."""
    return None if previous == 0 else finite(100.0 * (current - previous) / previous)


def ltv_to_cac(
    total_mrr: float,
    paying: int,
    churned: int,
    paying_before: int,
    gross_margin: float,
    spend: float,
    new_customers: int,
) -> tuple[float | None, float | None, float | None, str]:
    """(LTV:CAC, LTV, CAC, explanation) with LTV = ARPA x margin / churn, CAC = spend / new."""
    if paying == 0:
        return None, None, None, "no paying customers in the month"
    if paying_before == 0:
        return None, None, None, "no paying customers in the previous month: churn undefined"
    if churned == 0:
        return None, None, None, "zero churn: LTV is unbounded"
    if new_customers == 0:
        return None, None, None, "no new customers: CAC undefined"
    if spend == 0:
        return None, None, None, "no marketing spend: CAC is zero"
    ltv = (total_mrr / paying) * gross_margin / (churned / paying_before)
    cac = spend / new_customers
    return ltv / cac, ltv, cac, f"LTV {ltv:,.2f} / CAC {cac:,.2f}"
