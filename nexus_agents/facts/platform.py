"""Facts for the platform agents' engagement plans, and the playbook's posting cadences.

Which platform a step plans is read, in order, from ``options.platform``,
``inputs.platform``, the agent slug in ``options.agent`` / ``inputs.agent``, and finally
the step id (a step called ``tiktok_plan`` plans TikTok).

Community mentions are feedback items (``data/feedback.jsonl``) whose ``source`` is the
platform name; their text is outside text and only reaches the prompt fenced as data.
The workspace has no record of replies, so unanswered mentions are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nexus_agents.artifacts.facts import PlatformActivity
from nexus_agents.data.rows import ContentRow, FeedbackRow, content_rows, feedback_rows
from nexus_agents.exceptions import SpecError
from nexus_agents.facts import FactsContext, facts_builder
from nexus_agents.facts.bundle import FactBundle, UntrustedText
from nexus_agents.periods import Period
from nexus_agents.tools.kpis import percent

__all__ = [
    "PLATFORM_AGENTS",
    "PLATFORM_CADENCE",
    "Cadence",
    "build_platform_engagement_plan",
    "platform_activity",
    "resolve_platform",
    "window",
]

MAX_MENTIONS = 40


@dataclass(frozen=True)
class Cadence:
    """The playbook's posting target on one platform, per week."""

    weekly_min: int
    weekly_max: int | None
    text: str


PLATFORM_CADENCE: dict[str, Cadence] = {
    "instagram": Cadence(3, 5, "3-5 posts/week, daily stories"),
    "tiktok": Cadence(3, 5, "3-5 videos/week"),
    "twitter": Cadence(7, None, "daily engagement, weekly threads"),
    "reddit": Cadence(7, None, "daily authentic engagement"),
}
"""Content operations, platform-specific (daily = 7 per week, no upper bound)."""

PLATFORM_AGENTS: dict[str, str] = {
    "twitter_engager": "twitter",
    "instagram_curator": "instagram",
    "tiktok_strategist": "tiktok",
    "reddit_community_builder": "reddit",
}


def window(period: Period, as_of: datetime) -> tuple[datetime, datetime]:
    """``[start, min(end, as_of))``: a running period never counts the future."""
    return period.start, max(period.start, min(period.end, as_of))


def _targets(platform: str, days: float) -> tuple[int | None, int | None]:
    cadence = PLATFORM_CADENCE.get(platform)
    if cadence is None:
        return None, None
    weeks = days / 7
    low = round(cadence.weekly_min * weeks)
    high = None if cadence.weekly_max is None else round(cadence.weekly_max * weeks)
    return low, high


def platform_activity(
    platform: str, rows: list[ContentRow], start: datetime, end: datetime
) -> PlatformActivity:
    """Posts, reach and engagement on ``platform`` in ``[start, end)`` against its cadence."""
    mine = [r for r in rows if r.platform.lower() == platform and start <= r.published_at < end]
    impressions = sum(r.impressions for r in mine)
    engagements = sum(r.engagements for r in mine)
    low, high = _targets(platform, (end - start).total_seconds() / 86400)
    return PlatformActivity(
        platform=platform,
        posts=len(mine),
        target_min=low,
        target_max=high,
        impressions=impressions,
        engagements=engagements,
        engagement_rate_pct=percent(engagements, impressions),
    )


def resolve_platform(ctx: FactsContext) -> str:
    """The platform this step plans (see the module docstring for the lookup order)."""
    inputs = ctx.inputs
    for value in (ctx.options.get("platform"), inputs.get("platform")):
        if value:
            name = str(value).strip().lower()
            if name not in PLATFORM_CADENCE:
                raise SpecError(
                    ctx.step_id or "platform_engagement_plan",
                    f"unknown platform {name!r}; known: {', '.join(sorted(PLATFORM_CADENCE))}",
                )
            return name
    for value in (ctx.options.get("agent"), inputs.get("agent")):
        if value and str(value) in PLATFORM_AGENTS:
            return PLATFORM_AGENTS[str(value)]
    step = (ctx.step_id or "").lower()
    for slug, name in PLATFORM_AGENTS.items():
        if slug in step:
            return name
    for name in PLATFORM_CADENCE:
        if name in step:
            return name
    raise SpecError(
        ctx.step_id or "platform_engagement_plan",
        "cannot tell which platform to plan: set options.platform "
        f"({', '.join(sorted(PLATFORM_CADENCE))}) or the platform agent",
    )


def _mentions(
    rows: list[FeedbackRow], platform: str, start: datetime, end: datetime
) -> list[FeedbackRow]:
    return [r for r in rows if r.source.lower() == platform and start <= r.created_at < end]


@facts_builder("platform_engagement_plan")
def build_platform_engagement_plan(ctx: FactsContext) -> FactBundle:
    platform = resolve_platform(ctx)
    start, end = window(ctx.period, ctx.as_of)
    activity = platform_activity(platform, content_rows(ctx.workspace), start, end)
    mentions = _mentions(feedback_rows(ctx.workspace), platform, start, end)
    cadence = PLATFORM_CADENCE[platform]
    facts = {
        "period": ctx.period.label,
        "activity": activity.model_dump(),
        "community_mentions": len(mentions),
    }
    below = activity.target_min is not None and activity.posts < activity.target_min
    context = {
        "platform": platform,
        "playbook_cadence": cadence.text,
        "days_counted": round((end - start).total_seconds() / 86400, 2),
        "below_cadence": below,
        "content_file_present": ctx.workspace.has("content"),
        "unanswered_mentions_tracked": False,
    }
    guidance = [f"Plan {platform} only, against the playbook cadence: {cadence.text}."]
    if not ctx.workspace.has("content"):
        guidance.append("data/content.csv is missing: no posting history; say so.")
    untrusted = [
        UntrustedText(source=f"feedback:{r.source}", id=r.id, text=r.text)
        for r in mentions[-MAX_MENTIONS:]
    ]
    return FactBundle(facts=facts, context=context, untrusted=untrusted, guidance=guidance)
