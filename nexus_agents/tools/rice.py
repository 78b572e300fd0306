"""RICE scoring, backlog ranking and capacity-bounded sprint selection.

RICE = reach x impact x confidence / effort. Confidence may be a fraction (0..1) or a
percent (above 1, up to 100): ``0.8`` and ``80`` both mean 80%. Effort must be > 0.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nexus_agents.tools.base import tool

BUFFER = 0.2
"""Share of the velocity kept free: capacity = velocity x (1 - BUFFER)."""

CLOSED_STATUSES: tuple[str, ...] = (
    "done",
    "closed",
    "shipped",
    "released",
    "cancelled",
    "canceled",
    "wont_do",
    "rejected",
    "in_progress",
)
"""Statuses never planned again (``in_progress`` is already being worked on)."""

_EPS = 1e-9


def confidence_fraction(confidence: float) -> float:
    """Confidence as a fraction: values above 1 are read as percents (80 -> 0.8)."""
    if confidence < 0 or confidence > 100:
        raise ValueError(
            f"confidence must be a fraction 0..1 or a percent 0..100, got {confidence}"
        )
    return confidence / 100.0 if confidence > 1 else confidence


def rice_score(reach: float, impact: float, confidence: float, effort: float) -> float:
    """reach x impact x confidence / effort, with confidence as fraction or percent."""
    if effort <= 0:
        raise ValueError(f"effort must be greater than 0, got {effort}")
    return reach * impact * confidence_fraction(confidence) / effort


def normalize_status(status: str | None) -> str:
    return (status or "").strip().lower().replace("-", "_").replace(" ", "_").replace("'", "")


class BacklogItem(BaseModel):
    """One backlog item with its RICE inputs (effort in story points)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    title: str = ""
    reach: float = Field(ge=0, description="users or events per period")
    impact: float = Field(ge=0, description="e.g. 0.25 minimal .. 3 massive")
    confidence: float = Field(
        ge=0, le=100, description="fraction 0..1 or percent above 1 up to 100"
    )
    effort: float = Field(description="story points, must be > 0")
    status: str | None = None
    source: str | None = None

    @model_validator(mode="after")
    def _positive_effort(self) -> BacklogItem:
        if self.effort <= 0:
            raise ValueError(
                f"backlog item {self.id!r}: effort must be greater than 0, got {self.effort:g}"
            )
        return self


class ScoredItem(BaseModel):
    """A backlog item with its RICE score (confidence normalized to a fraction)."""

    item_id: str
    title: str
    reach: float
    impact: float
    confidence: float = Field(description="fraction 0..1")
    effort: float
    score: float
    status: str | None = None


def score_item(item: BacklogItem) -> ScoredItem:
    return ScoredItem(
        item_id=item.id,
        title=item.title,
        reach=item.reach,
        impact=item.impact,
        confidence=confidence_fraction(item.confidence),
        effort=item.effort,
        score=rice_score(item.reach, item.impact, item.confidence, item.effort),
        status=item.status,
    )


def rank(items: list[BacklogItem]) -> list[ScoredItem]:
    """Scored items, highest RICE first; equal scores ordered by id."""
    return sorted((score_item(i) for i in items), key=lambda s: (-s.score, s.item_id))


def _unique_ids(items: list[BacklogItem]) -> None:
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.id in seen:
            raise ValueError(f"items[{index}]: backlog id {item.id!r} appears twice")
        seen.add(item.id)


class RankBacklogInput(BaseModel):
    items: list[BacklogItem] = Field(description="backlog rows")

    @model_validator(mode="after")
    def _check(self) -> RankBacklogInput:
        _unique_ids(self.items)
        return self


class RankBacklogOutput(BaseModel):
    ranked: list[ScoredItem] = Field(description="highest RICE first, ties by id")


@tool()
def rank_backlog(args: RankBacklogInput) -> RankBacklogOutput:
    """Score every backlog item with RICE = reach x impact x confidence / effort and rank them.

    Confidence may be a fraction (0.8) or a percent (80). Effort must be > 0. Highest score
    first; equal scores are ordered by item id. Every item is ranked, whatever its status.
    """
    return RankBacklogOutput(ranked=rank(args.items))


class PlanSprintInput(BaseModel):
    items: list[BacklogItem] = Field(description="backlog rows")
    velocity: float = Field(gt=0, description="story points the team completes per sprint")
    excluded_statuses: list[str] = Field(
        default_factory=lambda: list(CLOSED_STATUSES),
        description="statuses that are never planned (case and spacing ignored)",
    )

    @model_validator(mode="after")
    def _check(self) -> PlanSprintInput:
        _unique_ids(self.items)
        return self


class PlanSprintOutput(BaseModel):
    velocity: float
    capacity: float = Field(description="velocity minus a 20% buffer")
    used_points: float
    remaining_points: float
    selected: list[ScoredItem] = Field(description="chosen items in RICE order")
    carried_over: list[ScoredItem] = Field(
        description="plannable items that did not fit, in RICE order"
    )
    excluded: list[ScoredItem] = Field(description="items skipped because of their status")


def select_greedy(ranked: list[ScoredItem], capacity: float) -> tuple[list[ScoredItem], float]:
    """Walk ``ranked`` in order, taking every item whose effort still fits."""
    chosen: list[ScoredItem] = []
    used = 0.0
    for item in ranked:
        if used + item.effort <= capacity + _EPS:
            chosen.append(item)
            used += item.effort
    return chosen, used


@tool()
def plan_sprint(args: PlanSprintInput) -> PlanSprintOutput:
    """Select backlog items for a sprint within capacity = velocity x 0.8 (a 20% buffer).

    Items whose status is done, closed, shipped, released, cancelled, wont_do, rejected or
    in_progress are excluded (override with excluded_statuses); items with any other or no
    status are plannable. Plannable items are taken in RICE order (highest first, ties by
    id); an item that does not fit the remaining capacity is skipped and the walk continues
    with the next, smaller ones. Items not selected are returned as carried_over with
    their RICE score.
    """
    closed = {normalize_status(s) for s in args.excluded_statuses}
    ranked = rank(args.items)
    plannable = [s for s in ranked if normalize_status(s.status) not in closed]
    excluded = [s for s in ranked if normalize_status(s.status) in closed]
    capacity = args.velocity * (1 - BUFFER)
    chosen, used = select_greedy(plannable, capacity)
    chosen_ids = {c.item_id for c in chosen}
    return PlanSprintOutput(
        velocity=args.velocity,
        capacity=capacity,
        used_points=used,
        remaining_points=max(0.0, capacity - used),
        selected=chosen,
        carried_over=[s for s in plannable if s.item_id not in chosen_ids],
        excluded=excluded,
    )
