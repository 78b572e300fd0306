"""Spans recorded in memory: ``spans`` turns tracing on with the SDK's in-memory exporter."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

import pytest

import nexus_agents.tracing as tracing

if importlib.util.find_spec("opentelemetry.sdk") is None:  # the otel extra is not installed
    collect_ignore_glob = ["test_*.py"]
else:
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

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


class Spans:
    """The finished spans, with helpers to walk the tree."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self.exporter = exporter

    def all(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, prefix: str) -> list[ReadableSpan]:
        return [s for s in self.all() if s.name.startswith(prefix)]

    def one(self, name: str) -> ReadableSpan:
        found = [s for s in self.all() if s.name == name]
        assert len(found) == 1, f"{len(found)} spans named {name!r}: {[s.name for s in self.all()]}"
        return found[0]

    def parent(self, span: ReadableSpan) -> ReadableSpan | None:
        if span.parent is None:
            return None
        for other in self.all():
            if other.context.span_id == span.parent.span_id:
                return other
        return None

    def attrs(self, span: ReadableSpan) -> dict[str, Any]:
        return dict(span.attributes or {})


def traced(content: bool | None = None) -> tuple[Spans, TracerProvider]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.configure(provider, content=content)
    return Spans(exporter), provider


@pytest.fixture
def spans() -> Iterator[Spans]:
    """Tracing on, into memory (content as NEXUS_TRACE_CONTENT says)."""
    recorded, provider = traced()
    yield recorded
    tracing.configure(None)
    provider.shutdown()
