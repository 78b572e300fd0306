"""Handoff records between agents: standard handoff, QA verdict / PASS / FAIL, escalation.

QA rules enforced here (by code, not by the model):

* the verdict defaults to FAIL;
* a PASS without passing evidence for every acceptance criterion, or with open issues,
  is turned into a FAIL and the reason is appended to the notes;
* evidence counts only when it cites items of the facts' ``evidence`` (gathered by code):
  a criterion marked pass that cites none, cites an unknown id or a failing item is not
  evidenced;
* at most ``MAX_ATTEMPTS`` attempts, then an :class:`Escalation`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nexus_agents.artifacts.base import Artifact, Facts, Narrative
from nexus_agents.artifacts.contract import AnswerContract, CodeOwned, FieldRule
from nexus_agents.artifacts.facts import IssueSeverity, Priority
from nexus_agents.artifacts.narrative import Bullets, Line, Text

__all__ = [
    "ESCALATION_OPTIONS",
    "MAX_ATTEMPTS",
    "RETRY_RULE",
    "AttemptRecord",
    "CriterionCheck",
    "Escalation",
    "EscalationFacts",
    "EscalationNarrative",
    "EscalationOption",
    "EvidenceItem",
    "QaFacts",
    "QaFail",
    "QaIssue",
    "QaNarrative",
    "QaPass",
    "QaVerdict",
    "StandardHandoff",
    "StandardHandoffFacts",
    "StandardHandoffNarrative",
]

MAX_ATTEMPTS = 3
RETRY_RULE = "Fix only the issues listed above; add no new features and change nothing else."
EscalationOption = Literal["reassign", "decompose", "revise_scope", "accept_with_risk", "defer"]
ESCALATION_OPTIONS: tuple[EscalationOption, ...] = (
    "reassign",
    "decompose",
    "revise_scope",
    "accept_with_risk",
    "defer",
)


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- Standard handoff ----------------------------------------------------------------


class StandardHandoffFacts(Facts):
    from_agent: str
    to_agent: str
    phase: str = "Phase 6 - Operate & Evolve"
    task_ref: str
    priority: Priority = "medium"
    timestamp: str
    relevant_files: list[str] = Field(default_factory=list)
    dependencies: list[str] = Field(default_factory=list)
    next_handoff: str | None = None


class StandardHandoffNarrative(Narrative):
    current_state: Text
    constraints: Bullets
    request: Text
    acceptance_criteria: Bullets
    references: Bullets
    must_pass_checks: Bullets
    evidence_required: Bullets


class StandardHandoff(Artifact[StandardHandoffFacts, StandardHandoffNarrative]):
    kind = "standard_handoff"
    title = "Standard Handoff"


# --- QA ------------------------------------------------------------------------------


class EvidenceItem(_Part):
    """Something code observed that QA may cite (by ``id``) as evidence."""

    id: str = Field(max_length=40)
    source: str = Field(description="where code read it (data file, run step, tool)")
    detail: str
    passed: bool | None = Field(
        default=None, description="True / False for a check; None for an observation"
    )
    required: bool = Field(default=False, description="no PASS while this check fails")


class QaFacts(Facts):
    task_id: str
    task_description: str
    developer: str
    qa_agent: str = "Evidence Collector"
    attempt: int = Field(ge=1, le=MAX_ATTEMPTS)
    max_attempts: int = MAX_ATTEMPTS
    timestamp: str
    acceptance_criteria: list[str] = Field(default_factory=list)
    evidence: list[EvidenceItem] = Field(
        default_factory=list, description="what code observed; criteria cite these ids"
    )


class CriterionCheck(_Part):
    criterion: Line
    status: Literal["pass", "fail", "not_verified"]
    evidence: Line = Field(description="what was observed (screenshot, test output, log line)")
    evidence_refs: list[str] = Field(
        max_length=10, description="ids of the facts' evidence items that show this criterion"
    )


class QaIssue(_Part):
    id: str = Field(max_length=20, description="short id such as I1, referenced on retry")
    category: Literal[
        "functional", "visual", "performance", "accessibility", "security", "data", "other"
    ]
    severity: IssueSeverity
    description: Line
    expected: Line
    actual: Line
    evidence: Line
    fix_instruction: Line
    files: list[str] = Field(max_length=20)


class QaNarrative(Narrative):
    verdict: Literal["PASS", "FAIL"] = Field(
        default="FAIL", description="PASS only with passing evidence for every criterion"
    )
    criteria: list[CriterionCheck] = Field(max_length=30)
    issues: list[QaIssue] = Field(max_length=20)
    notes: Text = ""
    next_action: Line = ""


def _pass_blockers(facts: QaFacts, narrative: QaNarrative) -> list[str]:
    reasons: list[str] = []
    checks = {c.criterion.strip().lower(): c for c in narrative.criteria}
    for criterion in facts.acceptance_criteria:
        check = checks.get(criterion.strip().lower())
        if check is None or check.status != "pass" or not check.evidence.strip():
            reasons.append(f"no passing evidence for {criterion!r}")
    known = {e.id: e for e in facts.evidence}
    for item in facts.evidence:
        if item.required and item.passed is False:
            reasons.append(f"required evidence {item.id} failed ({item.detail})")
    for check in narrative.criteria:
        if check.status != "pass" or not check.evidence.strip():
            reasons.append(f"criterion {check.criterion!r} is {check.status}")
            continue
        cited = [known[r] for r in check.evidence_refs if r in known]
        unknown = [r for r in check.evidence_refs if r not in known]
        if unknown:
            reasons.append(
                f"criterion {check.criterion!r} cites evidence the facts do not have: "
                + ", ".join(repr(u) for u in unknown)
            )
        elif not cited:
            reasons.append(f"criterion {check.criterion!r} cites no evidence from the facts")
        failing = [e.id for e in cited if e.passed is False]
        if failing:
            reasons.append(
                f"criterion {check.criterion!r} cites failing evidence: {', '.join(failing)}"
            )
    if narrative.issues:
        reasons.append(f"{len(narrative.issues)} open issue(s)")
    if not narrative.criteria and not facts.acceptance_criteria:
        reasons.append("no criterion was checked")
    return list(dict.fromkeys(reasons))


class _QaBase(Artifact[QaFacts, QaNarrative]):

    @property
    def attempts_left(self) -> int:
        return max(0, self.facts.max_attempts - self.facts.attempt)

    @property
    def must_escalate(self) -> bool:
        """A FAIL on the last allowed attempt goes to an Escalation, not another retry."""
        return self.narrative.verdict == "FAIL" and self.attempts_left == 0

    def to_markdown(self) -> str:
        from nexus_agents.artifacts.render import render_markdown

        derived: dict[str, object] = {
            "Verdict": self.narrative.verdict,
            "Attempt": f"{self.facts.attempt}/{self.facts.max_attempts}",
        }
        if self.narrative.verdict == "FAIL":
            derived["Retry rule"] = RETRY_RULE
            derived["Next"] = "escalate" if self.must_escalate else "retry"
        return render_markdown(self, derived=derived)


class QaVerdict(_QaBase):
    """What the Evidence Collector returns; becomes a QA PASS or QA FAIL record."""

    kind = "qa_verdict"
    title = "QA Verdict"

    @model_validator(mode="after")
    def _no_pass_without_evidence(self) -> QaVerdict:
        if self.narrative.verdict == "PASS":
            blockers = _pass_blockers(self.facts, self.narrative)
            if blockers:
                note = "Verdict set to FAIL by rule: " + "; ".join(blockers) + "."
                self.narrative = self.narrative.model_copy(
                    update={
                        "verdict": "FAIL",
                        "notes": (self.narrative.notes + "\n" + note).strip(),
                    }
                )
        return self

    def to_record(self) -> QaPass | QaFail:
        cls: type[QaPass | QaFail] = QaPass if self.narrative.verdict == "PASS" else QaFail
        return cls.model_validate(
            {"facts": self.facts, "narrative": self.narrative, "meta": self.meta}
        )


class QaPass(_QaBase):
    kind = "qa_pass"
    title = "QA PASS"

    @model_validator(mode="after")
    def _is_pass(self) -> QaPass:
        if self.narrative.verdict != "PASS":
            raise ValueError("a QA PASS record needs verdict PASS")
        blockers = _pass_blockers(self.facts, self.narrative)
        if blockers:
            raise ValueError("a QA PASS record needs evidence: " + "; ".join(blockers))
        return self


class QaFail(_QaBase):
    kind = "qa_fail"
    title = "QA FAIL"

    @model_validator(mode="after")
    def _is_fail(self) -> QaFail:
        if self.narrative.verdict != "FAIL":
            raise ValueError("a QA FAIL record needs verdict FAIL")
        return self

    @property
    def issue_ids(self) -> list[str]:
        return [i.id for i in self.narrative.issues]


# --- Escalation ----------------------------------------------------------------------


class AttemptRecord(_Part):
    attempt: int = Field(ge=1)
    issues: list[str] = Field(default_factory=list)
    fixes: list[str] = Field(default_factory=list)
    result: Literal["PASS", "FAIL"]


class EscalationFacts(Facts):
    task_id: str
    task_description: str
    attempts: int = MAX_ATTEMPTS
    max_attempts: int = MAX_ATTEMPTS
    escalated_to: str = "Studio Producer"
    history: list[AttemptRecord] = Field(default_factory=list)
    decision_maker: str = "Studio Producer"
    deadline: str
    unattended_default: EscalationOption = "defer"


class RootCause(_Part):
    why: Text
    systemic: bool = Field(description="true when the cause lies outside this task")
    scoping_problem: bool = Field(description="true when the task was scoped wrongly")


class OptionAssessment(_Part):
    option: EscalationOption
    description: Line
    pros: Line
    cons: Line


class EscalationImpact(_Part):
    blocking: Line
    timeline: Line
    quality: Line


class EscalationNarrative(Narrative):
    root_cause: RootCause
    options: list[OptionAssessment] = Field(
        min_length=5, max_length=5, description="each of the five options exactly once"
    )
    recommended_option: EscalationOption = "defer"
    impact: EscalationImpact

    @model_validator(mode="after")
    def _all_five(self) -> EscalationNarrative:
        seen = [o.option for o in self.options]
        missing = [o for o in ESCALATION_OPTIONS if o not in seen]
        if missing:
            raise ValueError(f"every option must be assessed; missing: {', '.join(missing)}")
        return self


class Escalation(Artifact[EscalationFacts, EscalationNarrative]):
    kind = "escalation"
    title = "Escalation"

    @classmethod
    def answer_contract(cls, facts: EscalationFacts) -> AnswerContract:
        # Which option each assessment is about is code's to say: the model writes the
        # five assessments in the fixed order and code labels them.
        order = ", ".join(ESCALATION_OPTIONS)
        return AnswerContract(
            rules=(
                FieldRule(
                    "options",
                    f"one assessment per option, in this order: {order}",
                    min_items=len(ESCALATION_OPTIONS),
                    max_items=len(ESCALATION_OPTIONS),
                ),
            ),
            owned=(CodeOwned("options[].option", by_position=ESCALATION_OPTIONS),),
        )

    def to_markdown(self) -> str:
        from nexus_agents.artifacts.render import render_markdown

        return render_markdown(
            self,
            derived={
                "Attempts": f"{self.facts.attempts}/{self.facts.max_attempts}",
                "Recommended": self.narrative.recommended_option,
                "Decision by": f"{self.facts.decision_maker} before {self.facts.deadline}",
                "If nobody decides": self.facts.unattended_default,
            },
        )
