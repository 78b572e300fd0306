"""AnswerContract: one statement of a call's rules, written into the schema sent and
checked on the answer."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field

from nexus_agents.artifacts.contract import (
    AnswerContract,
    CodeOwned,
    FieldRule,
    check_contract,
    contract_schema,
    fill_owned,
)
from nexus_agents.llm import response_format_for


class Ref(BaseModel):
    label: str
    ids: list[str] = Field(max_length=5)


class Report(BaseModel):
    cited: list[Ref]
    other: Ref
    maybe: Ref | None
    owner: str


SCHEMA: dict[str, Any] = response_format_for(Report).json_schema
RULES = AnswerContract(
    rules=(
        FieldRule("cited[].ids[]", "a given source", ("S1", "S2")),
        FieldRule("maybe.ids", "short", max_items=1),
    ),
    owned=(CodeOwned("owner", value="code"), CodeOwned("cited[].label", by_position=("a", "b"))),
)


def test_rules_go_into_a_copy_of_the_schema_without_touching_shared_definitions() -> None:
    before = repr(SCHEMA)
    out = contract_schema(SCHEMA, RULES)
    assert repr(SCHEMA) == before  # the cached schema is not changed
    cited = out["properties"]["cited"]["items"]
    assert cited["properties"]["ids"]["items"]["enum"] == ["S1", "S2"]
    assert "Rule: a given source" in cited["properties"]["ids"]["items"]["description"]
    assert "label" not in cited["properties"] and "label" not in cited["required"]
    assert out["properties"]["other"] == {"$ref": "#/$defs/Ref"}  # other uses keep the def
    assert "enum" not in str(out["$defs"])
    maybe = next(b for b in out["properties"]["maybe"]["anyOf"] if b.get("type") != "null")
    assert maybe["properties"]["ids"]["maxItems"] == 1
    assert "owner" not in out["properties"] and "owner" not in out["required"]


def test_the_same_rules_are_checked_on_the_answer() -> None:
    answer = {
        "cited": [{"ids": ["S1", "S7"]}, {"ids": []}],
        "other": {"label": "x", "ids": ["S7"]},
        "maybe": {"label": "m", "ids": ["a", "b"]},
    }
    filled = fill_owned(answer, RULES)
    assert filled["owner"] == "code"
    assert [c["label"] for c in filled["cited"]] == ["a", "b"]
    assert "owner" not in answer  # the input is not changed
    assert check_contract(filled, RULES) == [
        "cited[0].ids[1] must be one of [S1, S2] (a given source); got 'S7'",
        "maybe.ids may have at most 1 item(s) (short); got 2",
    ]


def test_a_rule_needs_allowed_values_or_bounds() -> None:
    with pytest.raises(ValueError, match="bound the list instead"):
        FieldRule("cited[].ids[]", allowed=())
    with pytest.raises(ValueError, match="not a field"):
        contract_schema(SCHEMA, AnswerContract(rules=(FieldRule("nope", max_items=0),)))
