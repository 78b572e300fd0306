"""Delivery artifacts of the improvement loop: preconditions, feedback insights, developer
change proposal, release readiness, deploy decision, sprint record and loop ledger.

Gates default to the safe value and code downgrades an unsupported "go": READY needs a
QA PASS and passing checks, a deploy needs READY, proceeding needs every precondition.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nexus_agents.artifacts.base import Artifact, Facts, Narrative
from nexus_agents.artifacts.contract import AnswerContract, CodeOwned
from nexus_agents.artifacts.facts import CheckResult, KpiValue, RiceScore, ThemeCount
from nexus_agents.artifacts.handoffs import MAX_ATTEMPTS, QaIssue
from nexus_agents.artifacts.narrative import Bullets, Line, Risk, Text

__all__ = [
    "DeployDecision",
    "DeployDecisionFacts",
    "DeployDecisionNarrative",
    "DeveloperChangeProposal",
    "DeveloperChangeProposalFacts",
    "DeveloperChangeProposalNarrative",
    "FeedbackInsights",
    "FeedbackInsightsFacts",
    "FeedbackInsightsNarrative",
    "LoopLedger",
    "LoopLedgerFacts",
    "LoopLedgerNarrative",
    "PreconditionsFacts",
    "PreconditionsNarrative",
    "PreconditionsReport",
    "ReleaseReadiness",
    "ReleaseReadinessFacts",
    "ReleaseReadinessNarrative",
    "SprintRecord",
    "SprintRecordFacts",
    "SprintRecordNarrative",
    "SprintTask",
]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _with_note(text: str, note: str) -> str:
    return (text + "\n" + note).strip()


# --- Preconditions -------------------------------------------------------------------


class PreconditionsFacts(Facts):
    checks: list[CheckResult] = Field(default_factory=list)

    @property
    def all_passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)


class PreconditionsNarrative(Narrative):
    assessment: Text
    blockers: Bullets
    recommendation: Literal["proceed", "hold"] = "hold"


class PreconditionsReport(Artifact[PreconditionsFacts, PreconditionsNarrative]):
    kind = "preconditions_report"
    title = "Preconditions Report"

    @model_validator(mode="after")
    def _proceed_needs_all(self) -> PreconditionsReport:
        if self.narrative.recommendation == "proceed" and not self.facts.all_passed:
            failed = [c.name for c in self.facts.checks if not c.passed] or ["no checks run"]
            note = "Recommendation set to hold by rule: failed " + ", ".join(failed) + "."
            self.narrative = self.narrative.model_copy(
                update={
                    "recommendation": "hold",
                    "assessment": _with_note(self.narrative.assessment, note),
                }
            )
        return self


# --- Feedback insights (ANALYZE step) ------------------------------------------------


class FeedbackInsightsFacts(Facts):
    period: str
    feedback_count: int = Field(ge=0)
    nps: float | None = Field(default=None, ge=-100, le=100)
    themes: list[ThemeCount] = Field(default_factory=list)
    kpis: list[KpiValue] = Field(default_factory=list, description="from the MEASURE step")


class InsightItem(_Part):
    theme: Line
    problem: Line
    evidence: Line = Field(description="theme counts or KPI values from the facts")
    proposed_backlog_item: Line
    expected_kpi_effect: Line


class FeedbackInsightsNarrative(Narrative):
    summary: Text
    insights: list[InsightItem] = Field(max_length=10)


class FeedbackInsights(Artifact[FeedbackInsightsFacts, FeedbackInsightsNarrative]):
    kind = "feedback_insights"
    title = "Feedback Insights"


# --- Developer change proposal -------------------------------------------------------


class DeveloperChangeProposalFacts(Facts):
    item_id: str
    title: str
    rice_score: float | None = None
    attempt: int = Field(default=1, ge=1, le=MAX_ATTEMPTS)
    acceptance_criteria: list[str] = Field(default_factory=list)
    qa_issues: list[QaIssue] = Field(
        default_factory=list, description="issues of the last QA FAIL; empty on a first attempt"
    )


class PlanStep(_Part):
    step: Line
    files: list[str] = Field(max_length=20)


class DeveloperChangeProposalNarrative(Narrative):
    summary: Text
    plan: list[PlanStep] = Field(min_length=1, max_length=15)
    tests: Bullets
    risks: list[Risk] = Field(max_length=5)
    addressed_issue_ids: list[str] = Field(
        max_length=20,
        description="filled in by code: the ids of the listed QA issues (none on a first attempt)",
    )


class DeveloperChangeProposal(Artifact[DeveloperChangeProposalFacts, DeveloperChangeProposalNarrative]):
    kind = "developer_change_proposal"
    title = "Developer Change Proposal"

    @model_validator(mode="after")
    def _retry_fixes_only_listed_issues(self) -> DeveloperChangeProposal:
        listed = {i.id for i in self.facts.qa_issues}
        addressed = set(self.narrative.addressed_issue_ids)
        if not listed and addressed:
            raise ValueError("a first attempt has no QA issues to address")
        extra = sorted(addressed - listed)
        if extra:
            raise ValueError(f"addresses issues QA did not list: {', '.join(extra)}")
        missing = sorted(listed - addressed)
        if missing:
            raise ValueError(
                f"a retry must address every listed QA issue; missing: {', '.join(missing)}"
            )
        return self

    @classmethod
    def answer_contract(cls, facts: DeveloperChangeProposalFacts) -> AnswerContract:
        # A retry fixes exactly the listed issues, so which ids it addresses is not the
        # model's to choose: code records them and the model only plans the fixes.
        ids = [i.id for i in facts.qa_issues]
        why = "the QA issues listed in the facts" if ids else "a first attempt has no QA issues"
        return AnswerContract(owned=(CodeOwned("addressed_issue_ids", value=ids, why=why),))

    @property
    def is_retry(self) -> bool:
        return bool(self.facts.qa_issues)


# --- Release readiness ---------------------------------------------------------------


class ReleaseReadinessFacts(Facts):
    item_id: str
    qa_verdict: Literal["PASS", "FAIL"]
    qa_attempts: int = Field(ge=1)
    checks: list[CheckResult] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)


class ReleaseReadinessNarrative(Narrative):
    verdict: Literal["READY", "NEEDS_WORK"] = Field(
        default="NEEDS_WORK", description="READY only with overwhelming evidence"
    )
    rationale: Text
    blocking_issues: Bullets
    evidence_reviewed: Bullets


class ReleaseReadiness(Artifact[ReleaseReadinessFacts, ReleaseReadinessNarrative]):
    kind = "release_readiness"
    title = "Release Readiness"

    @model_validator(mode="after")
    def _ready_needs_evidence(self) -> ReleaseReadiness:
        if self.narrative.verdict != "READY":
            return self
        reasons: list[str] = []
        if self.facts.qa_verdict != "PASS":
            reasons.append("QA did not pass")
        reasons += [f"check {c.name!r} failed" for c in self.facts.checks if not c.passed]
        if not self.facts.evidence:
            reasons.append("no evidence attached")
        if reasons:
            note = "Verdict set to NEEDS_WORK by rule: " + "; ".join(reasons) + "."
            self.narrative = self.narrative.model_copy(
                update={
                    "verdict": "NEEDS_WORK",
                    "rationale": _with_note(self.narrative.rationale, note),
                }
            )
        return self


# --- Deploy decision -----------------------------------------------------------------


class DeployDecisionFacts(Facts):
    item_id: str
    readiness: Literal["READY", "NEEDS_WORK"]
    deploys_today: int = Field(default=0, ge=0)
    change_failure_rate_pct: float | None = None
    experiment_planned: bool = False
    deploys_per_day: float | None = Field(default=None, ge=0, description="recent average")
    flaggable: bool | None = Field(
        default=None, description="whether the item can ship behind a feature flag"
    )


class DeployDecisionNarrative(Narrative):
    action: Literal["deploy", "hold"] = "hold"
    strategy: Literal["feature_flag", "direct"]
    flag_name: Line = Field(description="empty for a direct deploy; required for a flagged one")
    rollout_pct: int = Field(ge=0, le=100, description="initial share of users for a flag")
    rollback_plan: Text
    rationale: Text


class DeployDecision(Artifact[DeployDecisionFacts, DeployDecisionNarrative]):
    kind = "deploy_decision"
    title = "Deploy Decision"

    @model_validator(mode="after")
    def _deploy_needs_ready(self) -> DeployDecision:
        if self.narrative.action == "deploy" and self.facts.readiness != "READY":
            note = "Action set to hold by rule: release readiness is NEEDS_WORK."
            self.narrative = self.narrative.model_copy(
                update={"action": "hold", "rationale": _with_note(self.narrative.rationale, note)}
            )
        if (
            self.narrative.action == "deploy"
            and self.narrative.strategy == "feature_flag"
            and not self.narrative.flag_name.strip()
        ):
            raise ValueError("a feature-flag deploy needs a flag_name; got an empty flag_name")
        return self

    @classmethod
    def safe_default(
        cls, facts: DeployDecisionFacts, narrative: DeployDecisionNarrative, problems: list[str]
    ) -> tuple[DeployDecisionNarrative, str] | None:
        note = "Action set to hold by rule: the deploy decision was incomplete."
        held = narrative.model_copy(
            update={"action": "hold", "rationale": _with_note(narrative.rationale, note)}
        )
        return held, note


# --- Sprint record -------------------------------------------------------------------


class SprintTask(_Part):
    task_id: str
    title: str
    status: Literal["todo", "in_progress", "done", "blocked", "carried_over", "deferred"]
    qa_attempts: int = Field(default=0, ge=0, le=MAX_ATTEMPTS)


class SprintRecordFacts(Facts):
    sprint_number: int = Field(ge=1)
    start: str
    end: str
    goal: str
    planned_velocity: float = Field(ge=0)
    actual_velocity: float | None = Field(default=None, ge=0)
    tasks: list[SprintTask] = Field(default_factory=list)
    first_pass_rate_pct: float | None = None
    average_retries: float | None = None
    carried_over: list[RiceScore] = Field(default_factory=list)


class SprintRecordNarrative(Narrative):
    summary: Text
    goal_met: Literal["met", "partially_met", "not_met"]
    lessons: Bullets


class SprintRecord(Artifact[SprintRecordFacts, SprintRecordNarrative]):
    kind = "sprint_record"
    title = "Sprint Record"


# --- Loop ledger ---------------------------------------------------------------------


class LoopLedgerFacts(Facts):
    iteration: int = Field(ge=1)
    period: str
    kpis: list[KpiValue] = Field(default_factory=list)
    deployed: list[str] = Field(default_factory=list, description="backlog item ids deployed")
    experiments: list[str] = Field(default_factory=list)
    escalations: list[str] = Field(default_factory=list)


class LoopLedgerNarrative(Narrative):
    """The ledger is facts only; the model writes nothing."""


class LoopLedger(Artifact[LoopLedgerFacts, LoopLedgerNarrative]):
    kind = "loop_ledger"
    title = "Loop Ledger"
    narrative: LoopLedgerNarrative = Field(default_factory=LoopLedgerNarrative)
