"""Build valid sample facts / narratives for any artifact from its field types.

Values are deterministic and distinctive (strings name their field) so a
test can look for them in rendered Markdown. A few artifacts have cross-field rules; their
samples are adjusted in ``sample_artifact``.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from annotated_types import MaxLen, MinLen
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from nexus_agents.artifacts.base import Artifact

FLOAT = 0.75  # fits every bounded float (probabilities, sentiment)
INT = 2  # fits attempt counters (1..3)


def _bounds(info: FieldInfo | None) -> tuple[int, int | None]:
    low, high = 0, None
    for m in info.metadata if info else ():
        if isinstance(m, MinLen):
            low = m.min_length
        if isinstance(m, MaxLen):
            high = m.max_length
    return low, high


def sample_value(tp: Any, name: str, info: FieldInfo | None = None) -> Any:
    origin = get_origin(tp)
    if origin is Literal:
        return get_args(tp)[0]
    if origin in (Union, types.UnionType):
        inner = [a for a in get_args(tp) if a is not type(None)]
        return sample_value(inner[0], name, info)
    if origin is Annotated:
        inner = FieldInfo.from_annotation(tp)
        return sample_value(get_args(tp)[0], name, inner)
    if origin in (list, tuple):
        (item,) = get_args(tp)[:1]
        low, high = _bounds(info)
        count = max(low, 1 if (high is None or high >= 1) else 0)
        return [sample_value(item, f"{name}{i}", None) for i in range(count)]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return sample_model(tp)
    if tp is bool:
        return True
    if tp is int:
        return INT
    if tp is float:
        return FLOAT
    if tp is str:
        return f"{name} 1"
    raise TypeError(f"no sample for {tp!r} ({name})")


def sample_model(model: type[BaseModel]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        out[name] = sample_value(info.annotation, name, info)
    return out


def sample_parts(cls: type[Artifact]) -> tuple[dict[str, Any], dict[str, Any]]:
    facts = sample_model(cls.facts_model())
    narrative = sample_model(cls.narrative_model())
    kind = cls.kind
    if kind == "sprint_plan":
        facts["candidates"][0]["effort"] = 5.0
        facts["capacity"] = 32.0
        ids = [c["item_id"] for c in facts["candidates"]]
        facts["selected_item_ids"], facts["carried_over_ids"] = ids[:1], ids[1:]
        facts["planned_points"] = 5.0
    elif kind == "experiment_results_summary":
        narrative["decisions"][0]["experiment_id"] = facts["experiments"][0]["experiment_id"]
    elif kind == "monthly_market_brief":
        sid = facts["sources"][0]["source_id"]
        narrative["trends"][0]["source_ids"] = [sid]
        narrative["competitor_moves"][0]["source_ids"] = [sid]
    elif kind == "escalation":
        options = ["reassign", "decompose", "revise_scope", "accept_with_risk", "defer"]
        for opt, item in zip(options, narrative["options"], strict=True):
            item["option"] = opt
    elif kind == "monthly_executive_summary":
        narrative["key_findings"] = ["MRR grew 12% to 48,000 USD"]
    elif kind == "developer_change_proposal":
        narrative["addressed_issue_ids"] = [i["id"] for i in facts["qa_issues"]]
    elif kind in ("qa_verdict", "qa_fail"):
        narrative["verdict"] = "FAIL"
    elif kind == "qa_pass":
        narrative["verdict"] = "PASS"
        narrative["issues"] = []
        facts["acceptance_criteria"] = ["criterion A"]
        facts["evidence"] = [{"id": "E1", "source": "test", "detail": "log line 12", "passed": True}]
        narrative["criteria"] = [
            {
                "criterion": "criterion A",
                "status": "pass",
                "evidence": "test log line 12",
                "evidence_refs": ["E1"],
            }
        ]
    return facts, narrative


def sample_artifact(cls: type[Artifact]) -> Artifact:
    facts, narrative = sample_parts(cls)
    return cls.compose(facts, narrative)
