"""Feedback themes by keyword, and sentiment from ratings.

A deterministic tagger: an item belongs to every theme whose keyword pattern matches its
text (case-insensitive, on word starts), and to ``other`` when none matches. Counts are
items per theme, so one item mentioning both the dashboard and CSV counts once for each.

Sentiment comes from the rating only, never from the text: a rating on the
``rating_min``..``rating_max`` scale (default 1..5) maps linearly onto -1..+1
(1 -> -1, 3 -> 0, 5 -> +1); out-of-range ratings are clipped. A theme's sentiment is the
mean over its rated items (None when none is rated).

Keyword map (``THEME_KEYWORDS``), in report order:

===================  =====================================================================
theme                keywords (word starts)
===================  =====================================================================
performance          slow, lag, load(s/ing), latency, timeout/time out, takes forever, speed
export               export, csv, download, excel, spreadsheet
sso / access         sso, saml, single sign-on, okta, login/log in, 2fa, two-factor, invite
billing              bill(ed/ing), invoice, charge(d), price/pricing, payment, refund
integrations         slack, webhook, api, integration, zapier
usability            confus(ing), hard to, can't find, unclear, ui, ux
praise               love, great, awesome, thank(s), saves, excellent, helpful
===================  =====================================================================
"""

from __future__ import annotations

import re
from collections import Counter

from pydantic import BaseModel, ConfigDict, Field

from nexus_agents.artifacts.facts import ThemeCount
from nexus_agents.tools.base import tool

__all__ = [
    "OTHER_THEME",
    "THEME_KEYWORDS",
    "FeedbackItemIn",
    "FeedbackThemesInput",
    "FeedbackThemesResult",
    "feedback_themes",
    "rating_sentiment",
    "tag_themes",
]

OTHER_THEME = "other"

THEME_KEYWORDS: dict[str, tuple[str, ...]] = {
    "performance": (
        "slow",
        "lag",
        "load",
        "latency",
        "timeout",
        "time out",
        "times out",
        "takes forever",
        "speed",
    ),
    "export": ("export", "csv", "download", "excel", "spreadsheet"),
    "sso / access": (
        "sso",
        "saml",
        "single sign-on",
        "single sign on",
        "okta",
        "login",
        "log in",
        "2fa",
        "two-factor",
        "invite",
    ),
    "billing": ("bill", "invoice", "charge", "price", "pricing", "payment", "refund"),
    "integrations": ("slack", "webhook", "api", "integration", "zapier"),
    "usability": ("confus", "hard to", "can't find", "cannot find", "unclear", "ui", "ux"),
    "praise": ("love", "great", "awesome", "thank", "saves", "excellent", "helpful"),
}

# Two-letter keywords would match inside words ("ui" in "build"): they must stand alone.
_WHOLE_WORD = {"ui", "ux", "api", "sso"}
_WHOLE: dict[str, re.Pattern[str]] = {
    theme: re.compile(
        r"\b(?:" + "|".join(re.escape(k) for k in keys if k in _WHOLE_WORD) + r")\b",
        re.IGNORECASE,
    )
    for theme, keys in THEME_KEYWORDS.items()
    if any(k in _WHOLE_WORD for k in keys)
}
_PARTIAL: dict[str, re.Pattern[str]] = {
    theme: re.compile(
        r"\b(?:" + "|".join(re.escape(k) for k in keys if k not in _WHOLE_WORD) + r")",
        re.IGNORECASE,
    )
    for theme, keys in THEME_KEYWORDS.items()
    if any(k not in _WHOLE_WORD for k in keys)
}


class FeedbackItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    text: str
    rating: float | None = None


class FeedbackThemesInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[FeedbackItemIn] = Field(description="feedback of the period")
    previous_items: list[FeedbackItemIn] = Field(
        default_factory=list, description="feedback of the prior period, for previous_count"
    )
    rating_min: float = 1.0
    rating_max: float = 5.0


class FeedbackThemesResult(BaseModel):
    total: int = Field(ge=0)
    rated: int = Field(ge=0)
    mean_sentiment: float | None = Field(default=None, ge=-1, le=1)
    themes: list[ThemeCount] = Field(description="most frequent first; ties in map order")
    assignments: dict[str, list[str]] = Field(description="feedback id -> its themes")


def tag_themes(text: str) -> list[str]:
    """The themes whose keywords occur in ``text`` (``["other"]`` when none does)."""
    found = [
        theme
        for theme in THEME_KEYWORDS
        if (theme in _PARTIAL and _PARTIAL[theme].search(text))
        or (theme in _WHOLE and _WHOLE[theme].search(text))
    ]
    return found or [OTHER_THEME]


def rating_sentiment(rating: float, low: float = 1.0, high: float = 5.0) -> float:
    """A rating on ``low``..``high`` mapped linearly onto -1..+1 (clipped)."""
    if high <= low:
        raise ValueError(f"rating scale {low:g}..{high:g} is empty")
    clipped = min(max(rating, low), high)
    return round(2.0 * (clipped - low) / (high - low) - 1.0, 6)


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


@tool("feedback_themes")
def feedback_themes(args: FeedbackThemesInput) -> FeedbackThemesResult:
    """Tag feedback items with themes by a fixed keyword map (performance, export,
    sso / access, billing, integrations, usability, praise, other) and return per theme the
    item count, the prior period's count and the mean rating sentiment (-1..+1)."""
    order = [*THEME_KEYWORDS, OTHER_THEME]
    assignments = {item.id: tag_themes(item.text) for item in args.items}
    counts: Counter[str] = Counter(t for tags in assignments.values() for t in tags)
    previous: Counter[str] = Counter(
        t for item in args.previous_items for t in tag_themes(item.text)
    )
    scores: dict[str, list[float]] = {}
    all_scores: list[float] = []
    for item in args.items:
        if item.rating is None:
            continue
        score = rating_sentiment(item.rating, args.rating_min, args.rating_max)
        all_scores.append(score)
        for theme in assignments[item.id]:
            scores.setdefault(theme, []).append(score)
    names = sorted(set(counts) | set(previous), key=lambda t: (-counts[t], order.index(t)))
    themes = [
        ThemeCount(
            theme=name,
            count=counts[name],
            previous_count=previous[name] if args.previous_items else None,
            sentiment=_mean(scores.get(name, [])),
        )
        for name in names
    ]
    return FeedbackThemesResult(
        total=len(args.items),
        rated=len(all_scores),
        mean_sentiment=_mean(all_scores),
        themes=themes,
        assignments=assignments,
    )
