"""Bi-weekly outputs: insights report, experiment results, published content report."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nexus_agents.artifacts.base import Artifact, Facts, Narrative
from nexus_agents.artifacts.contract import AnswerContract, FieldRule
from nexus_agents.artifacts.facts import ExperimentStat, PlatformActivity, ThemeCount
from nexus_agents.artifacts.narrative import Bullets, Line, Text

__all__ = [
    "BiWeeklyInsightsFacts",
    "BiWeeklyInsightsNarrative",
    "BiWeeklyInsightsReport",
    "ExperimentDecision",
    "ExperimentResultsFacts",
    "ExperimentResultsNarrative",
    "ExperimentResultsSummary",
    "PlatformEngagementFacts",
    "PlatformEngagementNarrative",
    "PlatformEngagementPlan",
    "PublishedContentFacts",
    "PublishedContentNarrative",
    "PublishedContentReport",
]


class BiWeeklyInsightsFacts(Facts):
    period: str
    feedback_count: int = Field(ge=0)
    nps: float | None = Field(default=None, ge=-100, le=100)
    previous_nps: float | None = Field(default=None, ge=-100, le=100)
    themes: list[ThemeCount] = Field(default_factory=list, description="with the prior period")


class Insight(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Line
    evidence: Line = Field(description="which themes and counts support it")
    recommendation: Line
    confidence: Literal["high", "medium", "low"]


class BiWeeklyInsightsNarrative(Narrative):
    summary: Text
    insights: list[Insight] = Field(max_length=8)
    emerging_themes: Bullets
    fading_themes: Bullets


class BiWeeklyInsightsReport(Artifact[BiWeeklyInsightsFacts, BiWeeklyInsightsNarrative]):
    kind = "bi_weekly_insights_report"
    title = "Bi-Weekly Insights Report"


class ExperimentResultsFacts(Facts):
    period: str
    experiments: list[ExperimentStat] = Field(default_factory=list)


class ExperimentDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    experiment_id: str
    decision: Literal["go", "no_go", "continue"] = Field(
        description="go only when the result is significant"
    )
    rationale: Line


class ExperimentResultsNarrative(Narrative):
    summary: Text
    decisions: list[ExperimentDecision] = Field(max_length=20)
    next_experiments: Bullets


class ExperimentResultsSummary(Artifact[ExperimentResultsFacts, ExperimentResultsNarrative]):
    kind = "experiment_results_summary"
    title = "Experiment Results Summary"

    @model_validator(mode="after")
    def _go_needs_significance(self) -> ExperimentResultsSummary:
        problems = _decision_problems(self.facts, self.narrative)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @classmethod
    def answer_contract(cls, facts: ExperimentResultsFacts) -> AnswerContract:
        ids = tuple(e.experiment_id for e in facts.experiments)
        if not ids:
            why = "there are no experiments in the facts to decide on"
            return AnswerContract(rules=(FieldRule("decisions", why, max_items=0),))
        rules = [FieldRule("decisions[].experiment_id", "an experiment in the facts", ids)]
        if not any(e.significant for e in facts.experiments):
            why = "no experiment is significant, so none may be go"
            rules.append(FieldRule("decisions[].decision", why, ("no_go", "continue")))
        return AnswerContract(rules=tuple(rules))

    @classmethod
    def safe_default(
        cls, facts: ExperimentResultsFacts, narrative: ExperimentResultsNarrative, problems: list[str]
    ) -> tuple[ExperimentResultsNarrative, str] | None:
        # No decision is safer than a wrong one: unknown experiments are left out and a
        # "go" without significance becomes "continue".
        stats = {e.experiment_id: e for e in facts.experiments}
        kept: list[ExperimentDecision] = []
        for d in narrative.decisions:
            stat = stats.get(d.experiment_id)
            if stat is None:
                continue
            if d.decision == "go" and not stat.significant:
                d = d.model_copy(
                    update={
                        "decision": "continue",
                        "rationale": "Set to continue by rule: not significant. " + d.rationale,
                    }
                )
            kept.append(d)
        note = (
            "Decisions on unknown experiments were left out and a go without a significant "
            "result became continue, by rule."
        )
        return narrative.model_copy(update={"decisions": kept}), note


def _decision_problems(
    facts: ExperimentResultsFacts, narrative: ExperimentResultsNarrative
) -> list[str]:
    stats = {e.experiment_id: e for e in facts.experiments}
    known = ", ".join(stats) or "none"
    problems: list[str] = []
    for d in narrative.decisions:
        stat = stats.get(d.experiment_id)
        if stat is None:
            problems.append(
                f"decision for unknown experiment {d.experiment_id!r}; the experiments are "
                f"[{known}]"
            )
        elif d.decision == "go" and not stat.significant:
            problems.append(
                f"experiment {d.experiment_id!r} is not significant; decide no_go or continue"
            )
    return problems


class PublishedContentFacts(Facts):
    period: str
    platforms: list[PlatformActivity] = Field(default_factory=list)
    total_posts: int = Field(default=0, ge=0)


class PublishedContentNarrative(Narrative):
    summary: Text
    top_performers: Bullets
    underperformers: Bullets
    calendar_adjustments: Bullets


class PublishedContentReport(Artifact[PublishedContentFacts, PublishedContentNarrative]):
    kind = "published_content_report"
    title = "Published Content Report"


class PlatformEngagementFacts(Facts):
    period: str
    activity: PlatformActivity = Field(description="posts against the playbook cadence target")
    community_mentions: int = Field(default=0, ge=0)
    unanswered_mentions: int = Field(default=0, ge=0)


class PlannedPost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: Line
    format: Line = Field(description="thread, story, short video, comment reply ...")
    topic: Line
    goal: Line


class PlatformEngagementNarrative(Narrative):
    summary: Text
    cadence_assessment: Line
    planned_posts: list[PlannedPost] = Field(max_length=14)
    engagement_actions: Bullets
    community_risks: Bullets


class PlatformEngagementPlan(Artifact[PlatformEngagementFacts, PlatformEngagementNarrative]):
    kind = "platform_engagement_plan"
    title = "Platform Engagement Plan"
