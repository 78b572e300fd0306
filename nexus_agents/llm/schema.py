"""JSON schemas for structured output, in the subset OpenAI's strict mode accepts.

Strict mode wants every object closed (``additionalProperties: false``) and every
property listed in ``required``. Fields with a default become required too: a field
typed ``X | None`` already accepts ``null``, and any other default is simply asked for,
so the model can never send a ``null`` that pydantic would then reject. Keywords strict
mode does not support (length limits, defaults, titles) are left out of the schema sent
to the server; pydantic still enforces them when the answer is validated, so a length
limit is restated in the field's ``description`` where the model can read it. A model that
cannot be closed (free-form ``dict`` fields, ``Any``) is sent with ``strict: false``.

Schemas are computed once per model class (a model class does not change after it is
defined); ``response_format_for`` hands out one shared ``ResponseFormat`` per class.
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from nexus_agents.llm.interface import ResponseFormat

_DROPPED = frozenset(
    {
        "title",
        "default",
        "examples",
        "minLength",
        "maxLength",
        "uniqueItems",
        "minProperties",
        "maxProperties",
        "discriminator",
    }
)
_UNSUPPORTED = frozenset({"patternProperties", "prefixItems", "not", "if", "then", "else"})


class _NotStrict(Exception):
    pass


CACHE_SIZE = 512  # model classes whose schemas are kept


def strict_json_schema(model: type[BaseModel]) -> tuple[dict[str, Any], bool]:
    """``(schema, strict)`` for ``model``: the strict form when possible, else pydantic's own.

    The schema is the caller's own copy.
    """
    schema, strict = _strict_json_schema(model)
    return copy.deepcopy(schema), strict


@lru_cache(maxsize=CACHE_SIZE)
def response_format_for(model: type[BaseModel]) -> ResponseFormat:
    """The ``ResponseFormat`` for ``model`` (shared per class: do not mutate it)."""
    schema, strict = _strict_json_schema(model)
    name = re.sub(r"[^A-Za-z0-9_-]", "_", model.__name__)[:64] or "output"
    return ResponseFormat(name=name, json_schema=schema, strict=strict)


@lru_cache(maxsize=CACHE_SIZE)
def _strict_json_schema(model: type[BaseModel]) -> tuple[dict[str, Any], bool]:
    raw = model.model_json_schema()
    try:
        schema = _strictify(raw, root=True)
    except _NotStrict:
        return raw, False
    if schema.get("type") != "object":
        return raw, False
    return schema, True


def _length_limit(node: dict[str, Any]) -> str:
    """A dropped string length limit in words (``at most 600 characters``), or ``""``."""
    low, high = node.get("minLength"), node.get("maxLength")
    if high is not None and low:
        return f"({low} to {high} characters)"
    if high is not None:
        return f"(at most {high} characters)"
    if low:
        return f"(at least {low} characters)"
    return ""


def _strictify(node: Any, *, root: bool = False) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise _NotStrict
    if "$ref" in node:
        return {"$ref": node["$ref"]}  # strict mode allows no keywords beside $ref
    all_of = node.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1:
        rest = {k: v for k, v in node.items() if k != "allOf"}
        return _strictify({**rest, **all_of[0]}, root=root)
    if _UNSUPPORTED & node.keys() or "allOf" in node:
        raise _NotStrict
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED:
            continue
        if key in ("anyOf", "oneOf"):
            out["anyOf"] = [_strictify(v) for v in value]
        elif key == "items":
            out["items"] = _strictify(value)
        elif key == "$defs" and root:
            out["$defs"] = {name: _strictify(v) for name, v in value.items()}
        elif key in ("properties", "additionalProperties", "required"):
            continue
        else:
            out[key] = value
    limit = _length_limit(node)
    if limit:
        out["description"] = f"{out.get('description', '')} {limit}".strip()
    if not ({"type", "anyOf", "enum", "const"} & out.keys()):
        raise _NotStrict  # ``Any``: strict mode needs a type
    if node.get("type") == "object" or "properties" in node:
        extra = node.get("additionalProperties")
        if "properties" not in node or (extra is not None and extra is not False):
            raise _NotStrict  # an open mapping cannot be closed
        props = {name: _strictify(v) for name, v in node["properties"].items()}
        out["type"] = "object"
        out["properties"] = props
        out["required"] = list(props)
        out["additionalProperties"] = False
    return out
