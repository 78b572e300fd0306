"""Deterministic instances of a JSON schema, for the mock model server and tests.

``fake_instance(schema, seed=0)`` returns a JSON-compatible value valid for the schemas
pydantic emits (objects, ``$ref``/``$defs``, ``anyOf``/``oneOf`` incl. nullable, ``allOf``,
enums and consts, bounded strings, numbers and arrays, ``date``/``date-time`` and a few
other formats). The same schema and seed always give the same value. What cannot be
satisfied (an unsupported ``pattern``, empty numeric ranges, a recursion without an
exit, an external ``$ref``) raises ``SchemaFakerError`` naming the JSON path.
"""

from __future__ import annotations

import json
import math
import random
import re
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = ["SchemaFakerError", "fake_instance"]

_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")
_MAX_REF_REPEATS = 8  # a $ref nested inside itself this often has no exit
_DEFAULT_SPAN = 100
_PATTERN_CANDIDATES = ("sample", "a", "A", "abc", "ABC", "1", "123", "a1", "x-1", "")


class SchemaFakerError(ValueError):
    """The schema cannot be satisfied by the generator; ``path`` says where."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}")


def fake_instance(schema: Mapping[str, Any] | bool, *, seed: int = 0) -> Any:
    """Return a value valid for ``schema`` (deterministic for a given ``seed``)."""
    root = schema if isinstance(schema, Mapping) else {}
    return _Faker(root, seed).generate(schema, "$", ())


class _Faker:
    def __init__(self, root: Mapping[str, Any], seed: int) -> None:
        self._root = root
        self._rng = random.Random(seed)

    # -- dispatch -----------------------------------------------------------------
    def generate(self, schema: Mapping[str, Any] | bool, path: str, refs: tuple[str, ...]) -> Any:
        if schema is True:
            return "value"
        if schema is False:
            raise SchemaFakerError(path, "the schema 'false' accepts no value")
        if not isinstance(schema, Mapping):
            raise SchemaFakerError(path, f"expected a schema object, got {type(schema).__name__}")
        if "$ref" in schema:
            refs = (*refs, str(schema["$ref"]))
            if refs.count(refs[-1]) > _MAX_REF_REPEATS:
                raise SchemaFakerError(path, "recursive $ref without a terminating branch")
            resolved = self._resolve(schema["$ref"], path)
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**resolved, **siblings}
        if "allOf" in schema:
            schema = self._merge_all_of(schema, path)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            values = list(schema["enum"])
            if not values:
                raise SchemaFakerError(path, "empty enum")
            return self._rng.choice(values)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self._union(schema, key, path, refs)
        kind = self._type_of(schema, path)
        if kind == "null":
            return None
        if kind == "boolean":
            return self._rng.random() < 0.5
        if kind in ("integer", "number"):
            return self._number(schema, path, integer=kind == "integer")
        if kind == "string":
            return self._string(schema, path)
        if kind == "array":
            return self._array(schema, path, refs)
        if kind == "object":
            return self._object(schema, path, refs)
        raise SchemaFakerError(path, f"unsupported type {kind!r}")

    def _resolve(self, ref: Any, path: str) -> Mapping[str, Any]:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise SchemaFakerError(path, f"only local $ref values are supported, got {ref!r}")
        node: Any = self._root
        for part in ref[1:].split("/")[1:] if ref != "#" else []:
            token = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or token not in node:
                raise SchemaFakerError(path, f"$ref {ref!r} does not resolve")
            node = node[token]
        if not isinstance(node, Mapping):
            raise SchemaFakerError(path, f"$ref {ref!r} does not point at a schema object")
        return node

    def _merge_all_of(self, schema: Mapping[str, Any], path: str) -> dict[str, Any]:
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for index, part in enumerate(schema["allOf"]):
            sub = dict(part)
            while "$ref" in sub:
                ref = sub.pop("$ref")
                sub = {**self._resolve(ref, f"{path}.allOf[{index}]"), **sub}
            if "allOf" in sub:
                sub = self._merge_all_of(sub, f"{path}.allOf[{index}]")
            for key, value in sub.items():
                if key == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **value}
                elif key == "required":
                    merged["required"] = [*merged.get("required", []), *value]
                elif key in ("minimum", "exclusiveMinimum", "minLength", "minItems"):
                    merged[key] = max(merged.get(key, value), value)
                elif key in ("maximum", "exclusiveMaximum", "maxLength", "maxItems"):
                    merged[key] = min(merged.get(key, value), value)
                else:
                    merged.setdefault(key, value)
        return merged

    def _union(self, schema: Mapping[str, Any], key: str, path: str, refs: tuple[str, ...]) -> Any:
        branches = list(schema[key])
        if not branches:
            raise SchemaFakerError(path, f"empty {key}")
        siblings = {k: v for k, v in schema.items() if k not in (key, "discriminator")}
        nulls = [b for b in branches if isinstance(b, Mapping) and b.get("type") == "null"]
        others = [b for b in branches if b not in nulls]
        if _recursing(refs) and nulls:
            return None
        if _recursing(refs):
            # prefer branches that do not recurse further
            plain = [b for b in others if not _mentions_ref(b)]
            others = plain or others
        candidates = others or nulls
        order = list(range(len(candidates)))
        self._rng.shuffle(order)
        last_error: SchemaFakerError | None = None
        for index in order:
            branch = candidates[index]
            merged = {**siblings, **branch} if isinstance(branch, Mapping) else branch
            try:
                return self.generate(merged, f"{path}.{key}[{branches.index(branch)}]", refs)
            except SchemaFakerError as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    def _type_of(self, schema: Mapping[str, Any], path: str) -> str:
        declared = schema.get("type")
        if isinstance(declared, list):
            options = [t for t in declared if t != "null"] or ["null"]
            return str(self._rng.choice(options))
        if isinstance(declared, str):
            return declared
        if declared is not None:
            raise SchemaFakerError(path, f"invalid 'type' {declared!r}")
        if any(k in schema for k in ("properties", "required", "additionalProperties")):
            return "object"
        if any(k in schema for k in ("items", "prefixItems", "minItems", "maxItems")):
            return "array"
        if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")):
            return "number"
        return "string"

    # -- scalars ------------------------------------------------------------------
    def _number(self, schema: Mapping[str, Any], path: str, *, integer: bool) -> int | float:
        lo, lo_open = _bound(schema, "minimum", "exclusiveMinimum", pick=max)
        hi, hi_open = _bound(schema, "maximum", "exclusiveMaximum", pick=min)
        multiple = schema.get("multipleOf")
        if lo is None and hi is None:
            lo, hi = 0, _DEFAULT_SPAN
        elif lo is None:
            assert hi is not None
            lo = hi - _DEFAULT_SPAN
        elif hi is None:
            hi = lo + _DEFAULT_SPAN
        if integer or multiple is not None:
            step = multiple if multiple is not None else 1
            first = math.ceil(lo / step)
            if lo_open and first * step <= lo:
                first += 1
            last = math.floor(hi / step)
            if hi_open and last * step >= hi:
                last -= 1
            if first > last:
                raise SchemaFakerError(
                    path, f"no {'integer' if integer else 'multiple'} fits the bounds"
                )
            k = self._rng.randint(first, min(last, first + _DEFAULT_SPAN))
            value = k * step
            return int(value) if integer or isinstance(step, int) else value
        if lo > hi or (lo == hi and (lo_open or hi_open)):
            raise SchemaFakerError(path, "the numeric bounds admit no value")
        candidate = round(lo + (hi - lo) * self._rng.uniform(0.1, 0.9), 2)
        if (
            lo < candidate < hi
            or (candidate == lo and not lo_open)
            or (candidate == hi and not hi_open)
        ):
            return float(candidate)
        return float((lo + hi) / 2)

    def _string(self, schema: Mapping[str, Any], path: str) -> str:
        fmt = schema.get("format")
        n = self._rng.randint(1, 28)
        by_format = {
            "date": f"2024-03-{n:02d}",
            "date-time": f"2024-03-{n:02d}T{n % 24:02d}:15:00Z",
            "time": f"{n % 24:02d}:15:00",
            "email": f"user{n}@example.com",
            "uri": f"https://example.com/item/{n}",
            "uuid": str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
            "ipv4": f"192.0.2.{n}",
            "duration": f"PT{n}M",
        }
        if isinstance(fmt, str) and fmt in by_format:
            return self._check_pattern(schema, by_format[fmt], path)
        min_len = int(schema.get("minLength", 0))
        max_len = int(schema.get("maxLength", max(min_len, 24)))
        if min_len > max_len:
            raise SchemaFakerError(path, "minLength is greater than maxLength")
        length = self._rng.randint(min_len, min(max_len, max(min_len, 3) + 16))
        if "pattern" in schema:
            for candidate in _PATTERN_CANDIDATES:
                if min_len <= len(candidate) <= max_len and re.search(schema["pattern"], candidate):
                    return candidate
            raise SchemaFakerError(
                path, f"cannot generate a string for pattern {schema['pattern']!r}"
            )
        text = ""
        while len(text) < length:
            text = f"{text} {self._rng.choice(_WORDS)}" if text else self._rng.choice(_WORDS)
        return text[:length]

    @staticmethod
    def _check_pattern(schema: Mapping[str, Any], value: str, path: str) -> str:
        pattern = schema.get("pattern")
        if pattern is not None and not re.search(pattern, value):
            raise SchemaFakerError(path, f"cannot generate a string for pattern {pattern!r}")
        return value

    # -- containers ---------------------------------------------------------------
    def _array(self, schema: Mapping[str, Any], path: str, refs: tuple[str, ...]) -> list[Any]:
        prefix = list(schema.get("prefixItems", []))
        items = schema.get("items", True)
        min_items = int(schema.get("minItems", 0))
        max_items = int(schema.get("maxItems", max(min_items, len(prefix), 3)))
        if min_items > max_items:
            raise SchemaFakerError(path, "minItems is greater than maxItems")
        if _recursing(refs):
            count = max(min_items, len(prefix) if min_items else 0)
        else:
            count = self._rng.randint(min_items, min(max_items, max(min_items, 1) + 2))
        if items is False or (prefix and "items" not in schema):
            count = min(count, len(prefix))
        if count < min_items:
            raise SchemaFakerError(path, "minItems cannot be reached with 'items: false'")
        unique = bool(schema.get("uniqueItems"))
        result: list[Any] = []
        seen: set[str] = set()
        attempts = 0
        while len(result) < count:
            index = len(result)
            sub = prefix[index] if index < len(prefix) else items
            value = self.generate(sub, f"{path}[{index}]", refs)
            attempts += 1
            key = json.dumps(value, sort_keys=True)
            if unique and key in seen:
                if attempts > 20 * (count + 1):
                    if len(result) >= min_items:
                        break
                    raise SchemaFakerError(path, "cannot produce enough unique items")
                continue
            seen.add(key)
            result.append(value)
        return result

    def _object(
        self, schema: Mapping[str, Any], path: str, refs: tuple[str, ...]
    ) -> dict[str, Any]:
        properties: Mapping[str, Any] = schema.get("properties", {})
        required = list(dict.fromkeys(schema.get("required", [])))
        result: dict[str, Any] = {}
        for name, sub in properties.items():
            if name not in required and _recursing(refs):
                continue
            result[name] = self.generate(sub, f"{path}.{name}", refs)
        for name in required:
            if name not in result:
                result[name] = "value"
        extra = schema.get("additionalProperties", True)
        min_props = int(schema.get("minProperties", 0))
        wanted = max(min_props, 1 if isinstance(extra, Mapping) and not properties else 0)
        if _recursing(refs):
            wanted = min_props
        index = 1
        while len(result) < wanted:
            if extra is False:
                raise SchemaFakerError(path, "minProperties cannot be reached")
            key = f"key_{index}"
            index += 1
            if key not in result:
                sub = extra if isinstance(extra, Mapping) else True
                result[key] = self.generate(sub, f"{path}.{key}", refs)
        return result


def _bound(
    schema: Mapping[str, Any], closed_key: str, open_key: str, *, pick: Any
) -> tuple[float | None, bool]:
    """The tighter of the inclusive and exclusive bound, and whether it is exclusive."""
    closed = schema.get(closed_key)
    open_ = schema.get(open_key)
    if isinstance(open_, bool):  # draft 4: exclusiveMinimum is a flag on minimum
        return (closed, bool(open_)) if closed is not None else (None, False)
    if closed is None and open_ is None:
        return None, False
    if open_ is None:
        return closed, False
    if closed is None:
        return open_, True
    tighter = pick(closed, open_)
    return tighter, tighter == open_  # on a tie the exclusive bound is the tighter one


def _mentions_ref(schema: Any) -> bool:
    if isinstance(schema, Mapping):
        return "$ref" in schema or any(_mentions_ref(v) for v in schema.values())
    if isinstance(schema, list):
        return any(_mentions_ref(v) for v in schema)
    return False


def _recursing(refs: tuple[str, ...]) -> bool:
    """Inside a schema that contains itself: generate only what is required from here on."""
    return len(refs) != len(set(refs))
