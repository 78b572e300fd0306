"""One SQL aggregate per KPI over the DuckDB views of ``Workspace.connect()``.

Month- and quarter-based KPIs (MoM growth, LTV:CAC, process improvement) use the month /
quarter that contains the period's last day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from nexus_agents.periods import Period, PeriodKind, period_containing
from nexus_agents.tools.kpis.arithmetic import (
    ltv_to_cac,
    nps_value,
    percent,
    relative_change_pct,
)
from nexus_agents.tools.kpis.engine import KPIGroup
from nexus_agents.tools.sla import TICKET_FIRST_RESPONSE_HOURS

if TYPE_CHECKING:
    from nexus_agents.tools.kpis.engine import KPIContext, KPIDefinition, KPIResult

# the playbook's first-response target, declared once with the SLA tools
SLA_FIRST_RESPONSE_HOURS = TICKET_FIRST_RESPONSE_HOURS


def _month_of_last_day(period: Period) -> Period:
    return period_containing(PeriodKind.MONTH, period.end - timedelta(microseconds=1))


def _day(moment: datetime) -> date:
    return moment.date()


def _ratio_groups(rows: list[tuple[Any, ...]]) -> tuple[int, int, list[KPIGroup]]:
    """Totals and per-group percentages from rows of (group, denominator, numerator)."""
    groups = [
        KPIGroup(
            group=r[0],
            value=percent(r[2], r[1]),
            numerator=r[2],
            denominator=r[1],
            sample_size=int(r[1]),
        )
        for r in rows
    ]
    return sum(int(r[1]) for r in rows), sum(int(r[2]) for r in rows), groups


def uptime(ctx: KPIContext, kpi: KPIDefinition) -> KPIResult:
    """Uptime % = ok checks / all checks in the window, overall and per service."""
    if gone := ctx.missing("uptime_checks"):
        return ctx.result(kpi, None, detail=gone)
    rows = ctx.conn.execute(
        "SELECT service, count(*), count(*) FILTER (WHERE ok) FROM uptime_checks "
        "WHERE checked_at >= ? AND checked_at < ? GROUP BY service ORDER BY service",
        list(ctx.window),
    ).fetchall()
    total, ok, groups = _ratio_groups(rows)
    worst = min(groups, key=lambda g: g.value or 0.0, default=None)
    detail = "no checks in period" if total == 0 else f"{total - ok} failed checks"
    if worst is not None and len(groups) > 1:
        detail += f"; lowest: {worst.group} {worst.value:.3f}%"
    return ctx.share(kpi, ok, total, detail=detail, breakdown=groups)


def mttr(ctx: KPIContext, kpi: KPIDefinition) -> KPIResult:
    """Mean minutes detected -> resolved over incidents resolved in the window."""
    if gone := ctx.missing("incidents"):
        return ctx.result(kpi, None, detail=gone)
    start, end = ctx.window
    rows = ctx.conn.execute(
        "SELECT severity, count(*), sum(date_diff('second', detected_at, resolved_at)) / 60.0 "
        "FROM incidents WHERE resolved_at >= ? AND resolved_at < ? "
        "GROUP BY severity ORDER BY severity",
        [start, end],
    ).fetchall()
    (open_count,) = ctx.one(
        "SELECT count(*) FROM incidents WHERE resolved_at IS NULL AND detected_at < ?", [end]
    )
    n = sum(int(r[1]) for r in rows)
    minutes = float(sum(r[2] for r in rows)) if rows else 0.0
    groups = [
        KPIGroup(
            group=r[0], value=r[2] / r[1], numerator=r[2], denominator=r[1], sample_size=int(r[1])
        )
        for r in rows
    ]
    detail = "no incident resolved in period" if n == 0 else f"{n} resolved"
    if open_count:
        detail += f"; {open_count} open incident(s) not counted"
    return ctx.result(
        kpi,
        minutes / n if n else None,
        numerator=minutes if n else None,
        denominator=n,
        sample_size=n,
        detail=detail,
        breakdown=groups,
    )


def mom_user_growth(ctx: KPIContext, kpi: KPIDefinition) -> KPIResult:
    """(MAU(M) - MAU(M-1)) / MAU(M-1), M = month containing the period's last day."""
    if gone := ctx.missing("activity"):
        return ctx.result(kpi, None, detail=gone)
    month = _month_of_last_day(ctx.period)
    prev = month.previous()
    cur_mau, prev_mau = ctx.one(
        "SELECT count(DISTINCT user_id) FILTER (WHERE active_on >= ?), "
        "count(DISTINCT user_id) FILTER (WHERE active_on < ?) "
        "FROM activity WHERE active_on >= ? AND active_on < ?",
        [month.start_date, month.start_date, prev.start_date, month.end_date],
    )
    value = relative_change_pct(prev_mau, cur_mau)
    detail = (
        f"MAU {month.label} {cur_mau} vs {prev.label} {prev_mau}"
        if value is not None
        else f"no active users in {prev.label}"
    )
    return ctx.result(
        kpi,
        value,
        numerator=cur_mau - prev_mau,
        denominator=prev_mau,
        sample_size=cur_mau,
        detail=detail,
    )


def activation_rate(ctx: KPIContext, kpi: KPIDefinition) -> KPIResult:
    """Users who signed up in the window and have an activated_at / those who signed up."""
    if gone := ctx.missing("users"):
        return ctx.result(kpi, None, detail=gone)
    rows = ctx.conn.execute(
        "SELECT coalesce(channel, '(none)'), count(*), count(activated_at) FROM users "
        "WHERE signup_at >= ? AND signup_at < ? GROUP BY 1 ORDER BY 1",
        list(ctx.window),
    ).fetchall()
    signups, activated, groups = _ratio_groups(rows)
    detail = "no sign-ups in period" if signups == 0 else f"{activated} of {signups} activated"
    return ctx.share(kpi, activated, signups, detail=detail, breakdown=groups)


def _retention(ctx: KPIContext, kpi: KPIDefinition, days: int) -> KPIResult:
    """Sign-ups of the period whose day ``days`` is on or before the cut-off: the earlier
    of as-of and the latest activity date, so days whose data has not arrived yet are not
    counted as days without activity."""
    if gone := ctx.missing("users", "activity"):
        return ctx.result(kpi, None, detail=gone)
    today = _day(ctx.as_of)
    (cutoff,) = ctx.one("SELECT max(active_on) FROM activity WHERE active_on <= ?", [today])
    eligible, retained, signups = ctx.one(
        "WITH u AS (SELECT DISTINCT user_id, CAST(signup_at AS DATE) AS d FROM users "
        "  WHERE signup_at >= ? AND signup_at < ? AND CAST(signup_at AS DATE) <= ?), "
        "e AS (SELECT * FROM u WHERE d + ? <= ?) "
        "SELECT (SELECT count(*) FROM e), "
        "  (SELECT count(*) FROM e WHERE EXISTS (SELECT 1 FROM activity a "
        "     WHERE a.user_id = e.user_id AND a.active_on = e.d + ?)), "
        "  (SELECT count(*) FROM u)",
        [ctx.period.start, ctx.period.end, today, days, cutoff, days],
    )
    if cutoff is None:
        return ctx.result(
            kpi, None, sample_size=0, detail=f"no activity recorded up to as-of {today}"
        )
    why = "as-of" if cutoff == today else f"last activity date; as-of {today}"
    cut = f"cut-off {cutoff} ({why})"
    too_recent = signups - eligible
    if eligible == 0:
        detail = (
            f"no sign-ups in period; {cut}"
            if signups == 0
            else f"no eligible sign-ups: day {days} of all {signups} is after the {cut}"
        )
    else:
        detail = f"{retained} of {eligible} active on day {days}"
        if too_recent:
            detail += f"; {too_recent} not counted yet (day {days} after the cut-off)"
        detail += f"; {cut}"
    return ctx.share(kpi, retained, eligible, detail=detail)


def retention_d7(ctx: KPIContext, kpi: KPIDefinition) -> KPIResult:
    """Share of eligible sign-ups with activity exactly 7 days after the sign-up date."""
    return _retention(ctx, kpi, 7)


def retention_d30(ctx: KPIContext, kpi: KPIDefinition) -> KPIResult:
    """Share of eligible sign-ups with activity exactly 30 days after the sign-up date."""
    return _retention(ctx, kpi, 30)


def ltv_cac(ctx: KPIContext, kpi: KPIDefinition) -> KPIResult:
    """LTV:CAC for the month containing the period's last day."""
    if gone := ctx.missing("subscriptions", "marketing_spend"):
        return ctx.result(kpi, None, detail=gone)
    month = _month_of_last_day(ctx.period)
    m, p = month.start_date, month.previous().start_date
    paying, paying_before, churned, new, total_mrr, spend = ctx.one(
        "WITH s AS (SELECT DISTINCT month, customer_id FROM subscriptions "
        "  WHERE mrr > 0 AND month <= $m) "
        "SELECT (SELECT count(*) FROM s WHERE month = $m), "
        "  (SELECT count(*) FROM s WHERE month = $p), "
        "  (SELECT count(*) FROM s a WHERE month = $p AND NOT EXISTS "
        "     (SELECT 1 FROM s b WHERE b.month = $m AND b.customer_id = a.customer_id)), "
        "  (SELECT count(*) FROM s a WHERE month = $m AND NOT EXISTS "
        "     (SELECT 1 FROM s b WHERE b.month < $m AND b.customer_id = a.customer_id)), "
        "  (SELECT coalesce(sum(mrr), 0) FROM subscriptions WHERE month = $m), "
        "  (SELECT coalesce(sum(amount), 0) FROM marketing_spend WHERE month = $m)",
        {"m": m, "p": p},  # type: ignore[arg-type]
    )
    value, ltv, cac, why = ltv_to_cac(
        float(total_mrr), paying, churned, paying_before, ctx.gross_margin, float(spend), new
    )
    return ctx.result(
        kpi,
        value,
        numerator=ltv,
        denominator=cac,
        sample_size=paying,
        detail=f"{month.label}: {why}",
    )


def portfolio_roi(ctx: KPIContext, kpi: KPIDefinition) -> KPIResult:
    """(revenue - cost) / cost over the months of the period in finance.csv."""
    if gone := ctx.missing("finance"):
        return ctx.result(kpi, None, detail=gone)
    first = ctx.period.start_date.replace(day=1)
    revenue, cost, n = ctx.one(
        "SELECT coalesce(sum(amount) FILTER (WHERE kind = 'revenue'), 0), "
        "coalesce(sum(amount) FILTER (WHERE kind = 'cost'), 0), count(*) "
        "FROM finance WHERE month >= ? AND month < ?",
        [first, ctx.period.end],
    )
    value = percent(revenue - cost, cost)
    detail = (
        "no finance rows in period"
        if n == 0
        else "no cost recorded"
        if value is None
        else f"revenue {revenue:,.2f}, cost {cost:,.2f}"
    )
    # possible but suspicious: a month with one side only (its costs not booked yet?)
    one_sided = ctx.conn.execute(
        "SELECT strftime(month, '%Y-%m'), any_value(kind) FROM finance "
        "WHERE month >= ? AND month < ? GROUP BY month HAVING count(DISTINCT kind) = 1 "
        "ORDER BY month",
        [first, ctx.period.end],
    ).fetchall()
    for month, kind in one_sided:
        missing = "cost" if kind == "revenue" else "revenue"
        detail += f"; warning: {month} has {kind} but no {missing} rows"
    return ctx.result(
        kpi, value, numerator=revenue - cost, denominator=cost, sample_size=int(n), detail=detail
    )


def nps(ctx: KPIContext, kpi: KPIDefinition) -> KPIResult:
    """% promoters (9-10) minus % detractors (0-6) among responses in the window."""
    if gone := ctx.missing("nps"):
        return ctx.result(kpi, None, detail=gone)
    total, promoters, detractors = ctx.one(
        "SELECT count(*), count(*) FILTER (WHERE score >= 9), count(*) FILTER (WHERE score <= 6) "
        "FROM nps WHERE responded_at >= ? AND responded_at < ?",
        list(ctx.window),
    )
    detail = (
        "no responses in period"
        if total == 0
        else f"{promoters} promoters, {detractors} detractors of {total}"
    )
    return ctx.result(
        kpi,
        nps_value(promoters, detractors, total),
        numerator=promoters - detractors,
        denominator=total,
        sample_size=total,
        detail=detail,
    )


def support_first_response_sla(ctx: KPIContext, kpi: KPIDefinition) -> KPIResult:
    """Share of tickets created in the window answered within 4 hours.

    An unanswered ticket older than 4 hours at as-of is a breach; a younger one is left out.
    """
    if gone := ctx.missing("tickets"):
        return ctx.result(kpi, None, detail=gone)
    limit = int(SLA_FIRST_RESPONSE_HOURS * 3600)
    rows = ctx.conn.execute(
        "WITH t AS (SELECT coalesce(priority, '(none)') AS p, CASE "
        "  WHEN first_response_at IS NOT NULL THEN "
        "    date_diff('second', created_at, first_response_at) <= $limit "
        "  WHEN date_diff('second', created_at, $asof) > $limit THEN false END AS on_time "
        "  FROM tickets WHERE created_at >= $start AND created_at < $end) "
        "SELECT p, count(on_time), count(*) FILTER (WHERE on_time), count(*) - count(on_time) "
        "FROM t GROUP BY p ORDER BY p",
        {"limit": limit, "asof": ctx.as_of, "start": ctx.window[0], "end": ctx.window[1]},  # type: ignore[arg-type]
    ).fetchall()
    # a priority with only unanswered tickets still in time has nothing counted yet
    counted, on_time, groups = _ratio_groups([r for r in rows if r[1]])
    pending = sum(int(r[3]) for r in rows)
    detail = (
        "no tickets in period" if counted == 0 else f"{counted - on_time} breach(es) of {counted}"
    )
    if pending:
        detail += f"; {pending} unanswered ticket(s) still within 4 h not counted"
    return ctx.share(kpi, on_time, counted, detail=detail, breakdown=groups)


def support_resolution_time(ctx: KPIContext, kpi: KPIDefinition) -> KPIResult:
    """Median hours created -> resolved over tickets resolved in the window."""
    if gone := ctx.missing("tickets"):
        return ctx.result(kpi, None, detail=gone)
    n, median_s = ctx.one(
        "SELECT count(*), quantile_cont(date_diff('second', created_at, resolved_at), 0.5) "
        "FROM tickets WHERE resolved_at >= ? AND resolved_at < ?",
        list(ctx.window),
    )
    value = None if n == 0 else float(median_s) / 3600.0
    detail = "no ticket resolved in period" if n == 0 else f"median of {n} resolved ticket(s)"
    return ctx.result(kpi, value, sample_size=int(n), detail=detail)


def regulatory_adherence(ctx: KPIContext, kpi: KPIDefinition) -> KPIResult:
    """Compliant applicable controls / applicable controls (current state)."""
    if gone := ctx.missing("compliance"):
        return ctx.result(kpi, None, detail=gone)
    today = _day(ctx.as_of)
    rows = ctx.conn.execute(
        "SELECT framework, count(*), count(*) FILTER (WHERE status = 'compliant'), "
        "count(*) FILTER (WHERE status <> 'compliant' AND due_on < ?) "
        "FROM compliance WHERE applicable GROUP BY framework ORDER BY framework",
        [today],
    ).fetchall()
    applicable, compliant, groups = _ratio_groups(rows)
    overdue = sum(int(r[3]) for r in rows)
    detail = (
        "no applicable controls"
        if applicable == 0
        else f"{applicable - compliant} not compliant, {overdue} overdue"
    )
    return ctx.share(kpi, compliant, applicable, detail=detail, breakdown=groups)


def deployment_frequency(ctx: KPIContext, kpi: KPIDefinition) -> KPIResult:
    """Successful deployments per day over the window (no rows at all -> no data)."""
    if gone := ctx.missing("deployments"):
        return ctx.result(kpi, None, detail=gone)
    start, end = ctx.window
    days = (end - start).total_seconds() / 86400
    total, ok = ctx.one(
        "SELECT count(*), count(*) FILTER (WHERE status = 'success') FROM deployments "
        "WHERE deployed_at >= ? AND deployed_at < ?",
        [start, end],
    )
    if days <= 0 or total == 0:
        return ctx.result(kpi, None, detail="no deployments recorded in period")
    return ctx.result(
        kpi,
        ok / days,
        numerator=ok,
        denominator=days,
        sample_size=int(total),
        detail=f"{ok} successful of {total} over {days:g} day(s)",
    )


def process_improvement(ctx: KPIContext, kpi: KPIDefinition) -> KPIResult:
    """Drop in median lead time of successful deployments, this quarter vs the previous one."""
    if gone := ctx.missing("deployments"):
        return ctx.result(kpi, None, detail=gone)
    quarter = period_containing(PeriodKind.QUARTER, ctx.period.end - timedelta(microseconds=1))
    prev = quarter.previous()
    end = min(quarter.end, ctx.as_of)
    prev_median, prev_n, cur_median, cur_n = ctx.one(
        "SELECT quantile_cont(lead_time_hours, 0.5) FILTER (WHERE deployed_at < $q), "
        "count(lead_time_hours) FILTER (WHERE deployed_at < $q), "
        "quantile_cont(lead_time_hours, 0.5) FILTER (WHERE deployed_at >= $q), "
        "count(lead_time_hours) FILTER (WHERE deployed_at >= $q) "
        "FROM deployments WHERE status = 'success' AND deployed_at >= $p AND deployed_at < $e",
        {"q": quarter.start, "p": prev.start, "e": end},  # type: ignore[arg-type]
    )
    if not prev_n or not cur_n or not prev_median:
        return ctx.result(
            kpi, None, detail=f"no lead times for both {prev.label} and {quarter.label}"
        )
    value = 100.0 * (prev_median - cur_median) / prev_median
    return ctx.result(
        kpi,
        value,
        numerator=prev_median - cur_median,
        denominator=prev_median,
        sample_size=int(cur_n),
        detail=f"median lead time {prev.label} {prev_median:.1f} h -> "
        f"{quarter.label} {cur_median:.1f} h",
    )
