"""Acquisition funnel (signed up -> activated -> paying) and CAC by channel.

Funnel rows are sign-up cohorts: the users who signed up in a period, how many of them
activated and how many of those became paying. The stages are nested: a paying user who
never activated is counted in ``paying_not_activated`` and not as paying. CAC is per
month: the channel's marketing spend in the month / customers whose first paid month it
is and who came through that channel.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from nexus_agents.periods import period_containing
from nexus_agents.tools._dates import Month, month_label, month_start
from nexus_agents.tools._math import pct
from nexus_agents.tools.base import tool
from nexus_agents.tools.rows_types import UserRecord

ALL = "(all)"
UNKNOWN = "(unknown)"


class PayingCustomer(BaseModel):
    """A customer and the first month it paid; ``channel`` defaults to its user's channel."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    customer_id: str = Field(description="same id as the user's user_id")
    first_paid_month: Month = Field(description="YYYY-MM or a date in that month")
    channel: str | None = None


class SpendRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    month: Month
    channel: str
    amount: float = Field(ge=0)


class FunnelRow(BaseModel):
    period: str
    channel: str = Field(description="acquisition channel or '(all)'")
    signups: int
    activated: int
    paying: int
    paying_not_activated: int
    activation_pct: float | None = Field(description="activated / signups")
    paid_conversion_pct: float | None = Field(description="paying / activated")
    overall_pct: float | None = Field(description="paying / signups")


class ChannelCac(BaseModel):
    month: str
    channel: str
    spend: float
    new_customers: int
    cac: float | None
    reason: str = ""


class FunnelInput(BaseModel):
    users: list[UserRecord]
    paying: list[PayingCustomer] = Field(default_factory=list)
    spend: list[SpendRow] = Field(default_factory=list)
    period: Literal["week", "month"] = Field(
        default="month", description="sign-up cohort length for the funnel"
    )


class FunnelOutput(BaseModel):
    funnel: list[FunnelRow] = Field(description="per period: '(all)' first, then each channel")
    cac: list[ChannelCac] = Field(description="per month and channel with spend or customers")
    unattributed_customers: int = Field(
        description="new paying customers whose channel is unknown (not in any CAC)"
    )


def _channel(value: str | None) -> str:
    return value.strip() if value and value.strip() else UNKNOWN


def _funnel_row(period: str, channel: str, members: list[UserRecord], paid: set[str]) -> FunnelRow:
    signups = len(members)
    activated = sum(1 for u in members if u.activated_at is not None)
    paying = sum(1 for u in members if u.activated_at is not None and u.user_id in paid)
    paying_not_activated = sum(1 for u in members if u.activated_at is None and u.user_id in paid)
    return FunnelRow(
        period=period,
        channel=channel,
        signups=signups,
        activated=activated,
        paying=paying,
        paying_not_activated=paying_not_activated,
        activation_pct=pct(activated, signups),
        paid_conversion_pct=pct(paying, activated),
        overall_pct=pct(paying, signups),
    )


def _cac_rows(args: FunnelInput, channel_of: dict[str, str]) -> tuple[list[ChannelCac], int]:
    spend: dict[tuple[date, str], float] = defaultdict(float)
    for s in args.spend:
        spend[(s.month, _channel(s.channel))] += s.amount
    acquired: dict[tuple[date, str], int] = defaultdict(int)
    unattributed = 0
    seen: set[str] = set()
    for c in sorted(args.paying, key=lambda c: c.first_paid_month):
        if c.customer_id in seen:
            continue  # the earliest first_paid_month wins
        seen.add(c.customer_id)
        channel = _channel(c.channel or channel_of.get(c.customer_id))
        if channel == UNKNOWN:
            unattributed += 1
            continue
        acquired[(c.first_paid_month, channel)] += 1
    rows: list[ChannelCac] = []
    for month, channel in sorted(set(spend) | set(acquired)):
        amount, new = spend.get((month, channel), 0.0), acquired.get((month, channel), 0)
        reason = ""
        if new == 0:
            reason = "no new paying customers from this channel in the month"
        elif amount == 0:
            reason = "no spend recorded for this channel in the month"
        rows.append(
            ChannelCac(
                month=month_label(month),
                channel=channel,
                spend=amount,
                new_customers=new,
                cac=amount / new if new else None,
                reason=reason,
            )
        )
    return rows, unattributed


@tool()
def funnel_report(args: FunnelInput) -> FunnelOutput:
    """Funnel signed up -> activated -> paying per sign-up period and channel, and CAC by channel.

    Users are grouped by the week or month of signup_at; for each group: signups, activated
    (activated_at set), paying (activated and listed as a paying customer), and the
    conversion percentages between stages. CAC per month and channel = that channel's
    spend in the month / paying customers whose first paid month it is and who came
    through that channel (None with a reason when there are none).
    """
    paid = {c.customer_id for c in args.paying}
    channel_of = {u.user_id: _channel(u.channel) for u in args.users}
    cohorts: dict[str, list[UserRecord]] = defaultdict(list)
    starts: dict[str, date] = {}
    for user in args.users:
        p = period_containing(args.period, user.signup_at.replace(tzinfo=None))
        cohorts[p.label].append(user)
        starts[p.label] = p.start_date
    funnel: list[FunnelRow] = []
    for label in sorted(cohorts, key=lambda k: starts[k]):
        members = cohorts[label]
        funnel.append(_funnel_row(label, ALL, members, paid))
        by_channel: dict[str, list[UserRecord]] = defaultdict(list)
        for u in members:
            by_channel[_channel(u.channel)].append(u)
        funnel.extend(_funnel_row(label, ch, by_channel[ch], paid) for ch in sorted(by_channel))
    cac, unattributed = _cac_rows(args, channel_of)
    return FunnelOutput(funnel=funnel, cac=cac, unattributed_customers=unattributed)


def first_paid_months(
    rows: list[tuple[str, date, float]], *, skip_first_month: bool = True
) -> list[PayingCustomer]:
    """Paying customers from (customer_id, month, mrr) rows: first month with mrr > 0.

    With ``skip_first_month`` customers already paying in the earliest month of the data
    are left out: when they were acquired is unknown.
    """
    first: dict[str, date] = {}
    for customer, month, mrr in rows:
        start = month_start(month)
        if mrr > 0 and (customer not in first or start < first[customer]):
            first[customer] = start
    earliest = min((month_start(m) for _, m, _ in rows), default=None)
    return [
        PayingCustomer(customer_id=c, first_paid_month=m)
        for c, m in sorted(first.items())
        if not (skip_first_month and m == earliest)
    ]
