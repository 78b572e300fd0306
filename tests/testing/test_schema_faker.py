"""The schema faker produces values that pydantic accepts, deterministically."""

from __future__ import annotations

import datetime as dt
import json
from enum import Enum
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mock_models import Incident, Thread
from pydantic import BaseModel, Field, ValidationError, create_model

from nexus_agents.testing import SchemaFakerError, fake_instance


def _validate(model: type[BaseModel], value: Any) -> BaseModel:
    """Validate as the JSON a model would send, in strict mode (no lax coercion)."""
    return model.model_validate_json(json.dumps(value), strict=True)


@pytest.mark.parametrize("seed", range(12))
def test_nested_models_with_enums_optionals_lists_and_defs_validate(seed: int) -> None:
    schema = Incident.model_json_schema()
    assert "$defs" in schema  # the schema really exercises $ref resolution
    incident = _validate(Incident, fake_instance(schema, seed=seed))
    assert isinstance(incident, Incident)
    assert 1 <= len(incident.actions) <= 4


def test_recursive_model_terminates_and_validates() -> None:
    for seed in range(5):
        thread = _validate(Thread, fake_instance(Thread.model_json_schema(), seed=seed))
        assert isinstance(thread, Thread)


def test_same_seed_same_value_and_seeds_vary() -> None:
    schema = Incident.model_json_schema()
    assert fake_instance(schema, seed=3) == fake_instance(schema, seed=3)
    distinct = {json.dumps(fake_instance(schema, seed=s), sort_keys=True) for s in range(6)}
    assert len(distinct) > 1


@pytest.mark.parametrize(
    ("schema", "check"),
    [
        ({"type": "integer", "exclusiveMinimum": 4, "exclusiveMaximum": 6}, lambda v: v == 5),
        ({"type": "number", "exclusiveMinimum": 0, "maximum": 0.001}, lambda v: 0 < v <= 0.001),
        ({"type": "integer", "minimum": 7, "maximum": 7}, lambda v: v == 7),
        ({"type": "integer", "minimum": 3, "exclusiveMinimum": True}, lambda v: v > 3),
        ({"type": "integer", "multipleOf": 5, "minimum": 1, "maximum": 9}, lambda v: v == 5),
        ({"type": "string", "minLength": 30, "maxLength": 30}, lambda v: len(v) == 30),
        ({"type": "string", "maxLength": 0}, lambda v: v == ""),
        ({"type": "string", "format": "date"}, lambda v: dt.date.fromisoformat(v) is not None),
        ({"type": "string", "format": "date-time"}, lambda v: dt.datetime.fromisoformat(v).tzinfo),
        ({"const": "fixed"}, lambda v: v == "fixed"),
        ({"enum": [None]}, lambda v: v is None),
        ({"type": ["null", "boolean"]}, lambda v: isinstance(v, bool)),
        ({"type": "array", "items": {"enum": [1, 2, 3]}, "minItems": 3, "uniqueItems": True},
         lambda v: sorted(v) == [1, 2, 3]),
        ({"type": "object", "required": ["a"], "properties": {}}, lambda v: "a" in v),
    ],
)  # fmt: skip
def test_constraints_are_respected(schema: dict[str, Any], check: Any) -> None:
    value = fake_instance(schema)
    assert check(value), value


@pytest.mark.parametrize(
    ("schema", "where"),
    [
        ({"type": "object", "properties": {"code": {"type": "string", "pattern": "^[A-Z]{3}-\\d{4}$"}}},
         "$.code"),
        ({"type": "integer", "minimum": 5, "maximum": 4}, "$"),
        ({"type": "number", "exclusiveMinimum": 1, "exclusiveMaximum": 1}, "$"),
        ({"$ref": "https://example.com/schema.json"}, "$"),
        ({"$ref": "#/$defs/Missing"}, "$"),
        ({"$defs": {"Loop": {"type": "object", "required": ["next"],
                             "properties": {"next": {"$ref": "#/$defs/Loop"}}}},
          "$ref": "#/$defs/Loop"}, "$.next"),
        ({"type": "array", "items": {"enum": ["x"]}, "minItems": 2, "uniqueItems": True}, "$"),
    ],
)  # fmt: skip
def test_unsatisfiable_schemas_raise_with_the_path(schema: dict[str, Any], where: str) -> None:
    with pytest.raises(SchemaFakerError) as info:
        fake_instance(schema)
    assert info.value.path.startswith(where)
    assert str(info.value).startswith(where)


# -- property test: random pydantic models ------------------------------------------------

_counter = iter(range(10**9))


def _int_field() -> st.SearchStrategy[tuple[Any, Any]]:
    def build(lo: int | None, span: int, exclusive: bool) -> tuple[Any, Any]:
        if lo is None:
            return int, Field()
        hi = lo + span + (2 if exclusive else 0)
        return int, (Field(gt=lo, lt=hi) if exclusive else Field(ge=lo, le=hi))

    return st.builds(build, st.none() | st.integers(-1000, 1000), st.integers(0, 50), st.booleans())


def _float_field() -> st.SearchStrategy[tuple[Any, Any]]:
    def build(lo: float, span: float, exclusive: bool) -> tuple[Any, Any]:
        hi = lo + span
        return float, (Field(gt=lo, lt=hi) if exclusive else Field(ge=lo, le=hi))

    return st.builds(build, st.floats(-1e6, 1e6), st.floats(0.5, 1e4), st.booleans())


def _str_field() -> st.SearchStrategy[tuple[Any, Any]]:
    def build(lo: int, extra: int) -> tuple[Any, Any]:
        return str, Field(min_length=lo, max_length=lo + extra)

    return st.builds(build, st.integers(0, 40), st.integers(0, 40))


def _enum_field() -> st.SearchStrategy[tuple[Any, Any]]:
    def build(values: list[str], literal: bool) -> tuple[Any, Any]:
        if literal:
            return Literal[tuple(values)], Field()
        enum = Enum(f"E{next(_counter)}", {f"M{i}": v for i, v in enumerate(values)})
        return enum, Field()

    names = st.lists(st.text("abcxyz", min_size=1, max_size=4), min_size=1, max_size=4, unique=True)
    return st.builds(build, names, st.booleans())


_scalar_fields = st.one_of(
    _int_field(),
    _float_field(),
    _str_field(),
    _enum_field(),
    st.just((bool, Field())),
    st.just((dt.date, Field())),
    st.just((dt.datetime, Field())),
)


def _wrap(inner: st.SearchStrategy[tuple[Any, Any]]) -> st.SearchStrategy[tuple[Any, Any]]:
    """Optional, list-of (with bounds) or nested-model versions of a field."""

    def optional(field: tuple[Any, Any]) -> tuple[Any, Any]:
        return field[0] | None, Field(default=None)

    def listed(field: tuple[Any, Any], lo: int, extra: int) -> tuple[Any, Any]:
        item_type = field[0]
        return list[item_type], Field(min_length=lo, max_length=lo + extra)  # type: ignore[valid-type]

    return st.one_of(
        inner,
        inner.map(optional),
        st.builds(listed, inner, st.integers(0, 3), st.integers(0, 3)),
    )


def _model(fields: dict[str, tuple[Any, Any]]) -> tuple[Any, Any]:
    model = create_model(f"M{next(_counter)}", **fields)  # type: ignore[call-overload]
    return model, Field()


_field_names = st.text("abcdefgh", min_size=1, max_size=6).map(lambda s: f"f_{s}")
_fields = st.recursive(
    _wrap(_scalar_fields),
    lambda children: _wrap(
        st.dictionaries(_field_names, children, min_size=1, max_size=4).map(_model)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@pytest.mark.slow  # hypothesis builds a pydantic model per example
@given(
    fields=st.dictionaries(_field_names, _fields, min_size=1, max_size=5),
    seed=st.integers(0, 2**32),
)
def test_property_generated_instances_validate_against_random_models(
    fields: dict[str, tuple[Any, Any]], seed: int
) -> None:
    model = create_model(f"Root{next(_counter)}", **fields)  # type: ignore[call-overload]
    value = fake_instance(model.model_json_schema(), seed=seed)
    try:
        _validate(model, value)
    except ValidationError as exc:  # pragma: no cover - the message is the point
        pytest.fail(f"{json.dumps(value)} does not validate: {exc}")
