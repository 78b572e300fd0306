"""Strict JSON schemas for OpenAI structured output."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from nexus_agents.llm import response_format_for, strict_json_schema


class Item(BaseModel):
    title: str = Field(min_length=3, description="short title")
    owner: str | None = None
    tags: list[str] = Field(default_factory=list)


class Plan(BaseModel):
    status: Literal["ON_TRACK", "AT_RISK", "BLOCKED"]
    items: list[Item]
    lead: Item | None = None
    confidence: float = 0.5


def _objects(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "object":
            found.append(node)
        for value in node.values():
            found.extend(_objects(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_objects(value))
    return found


def test_every_object_is_closed_and_fully_required() -> None:
    schema, strict = strict_json_schema(Plan)
    assert strict is True
    objects = _objects(schema)
    assert len(objects) == 2  # Plan and Item (kept once in $defs)
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert sorted(obj["required"]) == sorted(obj["properties"])
    item = schema["$defs"]["Item"]
    assert item["properties"]["owner"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert "minLength" not in item["properties"]["title"]  # pydantic still checks it
    assert item["properties"]["title"]["description"] == "short title (at least 3 characters)"
    assert schema["properties"]["lead"]["anyOf"][1] == {"type": "null"}


def test_free_form_mapping_is_sent_non_strict() -> None:
    class Loose(BaseModel):
        values: dict[str, float]

    schema, strict = strict_json_schema(Loose)
    assert strict is False
    assert schema == Loose.model_json_schema()
    assert response_format_for(Loose).strict is False


def test_any_field_is_sent_non_strict() -> None:
    class Anything(BaseModel):
        payload: Any

    assert strict_json_schema(Anything)[1] is False


def test_response_format_name_is_server_safe() -> None:
    fmt = response_format_for(Plan)
    assert fmt.name == "Plan" and fmt.strict is True
