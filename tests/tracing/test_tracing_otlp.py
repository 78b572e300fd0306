"""Spans leave the process over OTLP/HTTP (protobuf) when only the standard environment
variable names a collector: a receiver on 127.0.0.1 decodes what arrives."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
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
from nexus_agents.testing import MockLLMServer
from nexus_agents.testing.playbook_author import PlaybookAuthor


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


NEXUS = Path(sys.executable).parent / "nexus"
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not NEXUS.exists(), reason="the nexus console script is not installed")
def test_the_cli_exports_a_run_configured_by_the_environment_alone(
    collector: Collector, demo_workspace: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "NEXUS_"))}
    with MockLLMServer(responder=PlaybookAuthor(), max_lifetime_s=120) as server:
        env.update(
            PYTHONPATH=str(REPO),
            NEXUS_LLM_BASE_URL=server.base_url,
            NEXUS_LLM_API_KEY="sk-cli-trace-test",
            OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
            OTEL_SERVICE_NAME="ops-test",
        )
        proc = subprocess.run(
            [str(NEXUS), "run", "loop", "--period", "2026-W47"],
            cwd=demo_workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert proc.returncode == 3, proc.stderr  # 3: the run waits for the deploy approval
    # the process exported what it had before it exited: no waiting here
    names: list[str] = []
    for _, _, body in collector.received:
        for resource_spans in ExportTraceServiceRequest.FromString(body).resource_spans:
            assert values(list(resource_spans.resource.attributes))["service.name"] == "ops-test"
            names += [s.name for scope in resource_spans.scope_spans for s in scope.spans]
    assert names.count("run improvement_loop") == 1
    assert "step measure" in names and "chat gpt-4o-mini" in names
