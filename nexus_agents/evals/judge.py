"""Rubric checks: a judge model grades part of the output against written criteria.

Only used in live and record runs; replay runs report rubrics as skipped, since a
judge's answer is not part of the recording.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field, SecretStr, ValidationError

from nexus_agents.evals.case import Rubric
from nexus_agents.evals.checks import show
from nexus_agents.evals.jsonpath import parse_path
from nexus_agents.evals.results import EvalCheckResult

_SYSTEM = (
    "You grade the output of an automated operations agent against the criteria you are "
    "given. Judge only what the output shows. Answer with a JSON object: "
    '{"score": <number from 0 to 1>, "reason": "<one or two sentences>"}.'
)


class _Verdict(BaseModel):
    score: float = Field(ge=0, le=1)
    reason: str = ""


async def judge_rubric(
    rubric: Rubric, document: Any, *, base_url: str, api_key: SecretStr
) -> EvalCheckResult:
    """Ask ``rubric.judge_model`` for a score; pass when it reaches the threshold."""
    import httpx
    import openai

    found = parse_path(rubric.path).find(document)
    subject = found if parse_path(rubric.path).has_wildcard else (found or [None])[0]

    def result(status: str, reason: str, actual: Any = None) -> EvalCheckResult:
        return EvalCheckResult(
            kind="rubric",
            name=rubric.name,
            status=status,  # type: ignore[arg-type]
            weight=rubric.weight,
            gate=rubric.gate,
            reason=reason,
            actual=actual,
        )

    if subject is None:
        return result("failed", f"{rubric.path}: nothing to judge at this path")
    async with httpx.AsyncClient() as http:
        client = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key.get_secret_value(), http_client=http, max_retries=1
        )
        try:
            completion = await client.chat.completions.create(
                model=rubric.judge_model,
                messages=[
                    {"role": "system", "content": _SYSTEM},
                    {
                        "role": "user",
                        "content": f"Criteria:\n{rubric.criteria}\n\nOutput (JSON):\n"
                        + json.dumps(subject, ensure_ascii=False, default=str),
                    },
                ],
                response_format={"type": "json_object"},
                temperature=0,
            )
        except openai.OpenAIError as exc:
            return result("failed", f"judge call failed: {type(exc).__name__}")
    text = completion.choices[0].message.content if completion.choices else None
    try:
        verdict = _Verdict.model_validate_json(text or "")
    except ValidationError:
        return result("failed", f"judge answer was not a verdict: {show(text)}")
    if verdict.score >= rubric.threshold:
        return result("passed", "", verdict.score)
    return result(
        "failed",
        f"judge score {verdict.score:.2f} below threshold {rubric.threshold:.2f}: {verdict.reason}",
        verdict.score,
    )
