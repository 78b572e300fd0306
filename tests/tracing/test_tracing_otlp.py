"""Spans leave the process over OTLP/HTTP (protobuf) when only the standard environment
variable names a collector: a receiver on 127.0.0.1 decodes what arrives."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from pydantic import BaseModel

import nexus_agents.tracing as tracing
from nexus_agents.llm import ChatMessage, ScriptedModel, run_structured


class Collector(ThreadingHTTPServer):
    """Accepts OTLP/HTTP trace exports and keeps every request it got."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[tuple[str, str, bytes]] = []  # path, content type, body

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.received.append((self.path, self.headers.get("Content-Type", ""), body))
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def values(attributes: list[KeyValue]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in attributes:
        which = kv.value.WhichOneof("value")
        value = getattr(kv.value, which) if which else None
        if which == "array_value":
            value = [getattr(v, v.WhichOneof("value")) for v in value.values]
        out[kv.key] = value
    return out


class Answer(BaseModel):
    verdict: str


async def test_spans_are_exported_over_otlp_http(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url)
    tracing.configure(None)  # decide again, from the environment
    assert tracing.enabled()

    with (
        tracing.run_span("improvement_loop", "run-1", period="2026-W47"),
        tracing.step_span("validate", "agent", "evidence_collector", "run-1"),
    ):
        await run_structured(
            ScriptedModel([{"verdict": "PASS"}]),
            messages=[ChatMessage(role="user", content="check it")],
            output_type=Answer,
            agent="evidence_collector",
        )
    assert tracing.flush()

    assert [(path, kind) for path, kind, _ in collector.received] == [
        ("/v1/traces", "application/x-protobuf")
    ]
    export = ExportTraceServiceRequest.FromString(collector.received[0][2])
    (resource_spans,) = export.resource_spans
    resource = values(list(resource_spans.resource.attributes))
    assert resource["service.name"] == "nexus-agents"
    (scope_spans,) = resource_spans.scope_spans
    assert scope_spans.scope.name == "nexus_agents"
    spans = {s.name: s for s in scope_spans.spans}
    assert set(spans) == {"run improvement_loop", "step validate", "chat scripted"}
    run, step, chat = spans["run improvement_loop"], spans["step validate"], spans["chat scripted"]
    assert run.parent_span_id == b""
    assert step.parent_span_id == run.span_id and chat.parent_span_id == step.span_id
    assert len({run.trace_id, step.trace_id, chat.trace_id}) == 1
    assert values(list(run.attributes))["nexus.period"] == "2026-W47"
    chat_attrs = values(list(chat.attributes))
    assert chat_attrs["gen_ai.operation.name"] == "chat"
    assert chat_attrs["gen_ai.request.model"] == "scripted"
    assert chat_attrs["gen_ai.agent.name"] == "evidence_collector"
    assert chat_attrs["gen_ai.response.finish_reasons"] == ["stop"]
    assert isinstance(chat_attrs["gen_ai.usage.input_tokens"], int)
