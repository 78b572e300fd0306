"""Cassettes: recorded model interactions with parsed, readable JSON bodies.

A cassette is YAML (``.yaml`` / ``.yml``) or JSON (``.json``)::

    version: 1
    interactions:
      - agent: agents-orchestrator        # from the X-Nexus-Agent request header
        request: {method: POST, path: /chat/completions, body: {model: ..., messages: [...]}}
        response: {status: 200, headers: {content-type: application/json}, body: {...}}

``path`` is relative to the endpoint's base URL (so ``/chat/completions``, not
``/v1/chat/completions``); the query string is not kept. Request headers are never
stored; response headers only when allow-listed (``RESPONSE_HEADERS``).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from nexus_agents._yaml import safe_load
from nexus_agents.exceptions import SpecError

CASSETTE_VERSION = 1
RESPONSE_HEADERS: frozenset[str] = frozenset({"content-type", "retry-after"})


class RecordedRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: str = "POST"
    path: str = "/chat/completions"
    body: Any = None

    @field_validator("method")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("path")
    @classmethod
    def _slash(cls, value: str) -> str:
        return value if value.startswith("/") else "/" + value


class RecordedResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: int = Field(default=200, ge=100, le=599)
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = None

    @field_validator("headers")
    @classmethod
    def _allowed(cls, value: dict[str, str]) -> dict[str, str]:
        lowered = {k.lower(): v for k, v in value.items()}
        extra = sorted(set(lowered) - RESPONSE_HEADERS)
        if extra:
            raise ValueError(
                f"header(s) {', '.join(extra)} are not allowed; only {sorted(RESPONSE_HEADERS)}"
            )
        return lowered


class Interaction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: str | None = None
    request: RecordedRequest
    response: RecordedResponse


class Cassette(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = CASSETTE_VERSION
    interactions: list[Interaction] = Field(default_factory=list)

    @field_validator("version")
    @classmethod
    def _known(cls, value: int) -> int:
        if value != CASSETTE_VERSION:
            raise ValueError(f"cassette version {value} is not supported (expected 1)")
        return value


def load_cassette(path: str | Path) -> Cassette:
    """Read a cassette; errors name the file and the interaction / field."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(str(file), "cassette not found") from None
    except OSError as exc:
        raise SpecError(str(file), f"cannot read: {exc.strerror or exc}") from None
    try:
        data = json.loads(text) if file.suffix == ".json" else safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise SpecError(str(file), f"not valid {file.suffix.lstrip('.').upper()}: {exc}") from None
    if not isinstance(data, dict):
        raise SpecError(str(file), "a cassette must be a mapping with 'interactions'")
    try:
        return Cassette.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err["loc"]
        item = None
        if len(loc) >= 2 and loc[0] == "interactions":
            item = f"interaction {int(loc[1]) + 1}"
            loc = loc[2:]
        field = ".".join(str(p) for p in loc)
        msg = err["msg"].removeprefix("Value error, ")
        raise SpecError(str(file), f"field {field!r}: {msg}", item=item) from None


class _LiteralDumper(yaml.SafeDumper):
    """Multi-line strings (prompts) as literal blocks, so diffs of cassettes read well."""


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_LiteralDumper.add_representer(str, _str_presenter)


def dump_cassette(cassette: Cassette, suffix: str = ".yaml") -> str:
    data = cassette.model_dump(mode="json")
    if suffix == ".json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.dump(data, Dumper=_LiteralDumper, sort_keys=False, allow_unicode=True, width=100)


def save_cassette(cassette: Cassette, path: str | Path) -> Path:
    """Write atomically: the file is either the old one or the complete new one."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = dump_cassette(cassette, target.suffix)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
