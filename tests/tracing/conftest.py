"""Spans recorded in memory: ``spans`` turns tracing on with the SDK's in-memory exporter."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

import nexus_agents.tracing as tracing

if importlib.util.find_spec("opentelemetry.sdk") is None:  # the otel extra is not installed
    collect_ignore_glob = ["test_*.py"]
else:
    from otel_spans import Spans, traced

OTEL_VARS = (
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    tracing.CONTENT_ENV,
)


@pytest.fixture(autouse=True)
def _clean_otel_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in OTEL_VARS:
        monkeypatch.delenv(var, raising=False)
    yield
    tracing.configure(None)  # back to "off": nothing configured in the environment


@pytest.fixture
def spans() -> Iterator[Spans]:
    """Tracing on, into memory (content as NEXUS_TRACE_CONTENT says)."""
    recorded, provider = traced()
    yield recorded
    tracing.configure(None)
    provider.shutdown()
