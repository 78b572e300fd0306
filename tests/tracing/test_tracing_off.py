"""Tracing is off unless configured, and then costs nothing: no opentelemetry import, one
shared do-nothing span for every hook. What turns it on: the standard OTEL_* variables, a
provider handed to ``configure``, or a global provider the application set."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import nexus_agents.tracing as tracing
from nexus_agents.llm import ChatMessage, ChatRequest

REPO = Path(__file__).resolve().parents[2]

# Runs an improvement loop up to its approval with nothing configured. Every attempt to
# import opentelemetry fails here (as if it were not installed; langsmith, which LangGraph
# loads, tries it on its own), and the files of nexus_agents that asked for it are listed.
OFF_SCRIPT = r"""
import asyncio, json, sys, traceback
from pathlib import Path

PACKAGE = str(Path(sys.argv[2]) / "nexus_agents")
from_us = []

class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            # the file whose import statement asked for it (the innermost real frame)
            frames = [f.filename for f in traceback.extract_stack()[:-1]]
            importer = [f for f in frames if not f.startswith("<frozen")][-1]
            if importer.startswith(PACKAGE):
                from_us.append(importer)
            raise ImportError(f"blocked: {name}")
        return None

sys.meta_path.insert(0, Block())

from nexus_agents.api import Nexus
from nexus_agents.testing import MockLLMServer
from nexus_agents.testing.playbook_author import PlaybookAuthor

async def main():
    async with MockLLMServer(responder=PlaybookAuthor(), max_lifetime_s=120) as server:
        env = {"NEXUS_LLM_BASE_URL": server.base_url, "NEXUS_LLM_API_KEY": "sk-off-test"}
        nx = Nexus.from_workspace(sys.argv[1], env=env)
        result = await nx.arun("improvement_loop", period="2026-W47")
        await nx.aclose()
        return result.status

status = asyncio.run(main())
import nexus_agents.tracing as tracing
print(json.dumps({
    "status": status,
    "enabled": tracing.enabled(),
    "loaded": sorted(m for m in sys.modules if m.startswith("opentelemetry") or m.endswith("_otel")),
    "from_us": sorted(set(from_us)),
}))
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "NEXUS_"))}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


def test_a_run_with_tracing_off_never_imports_opentelemetry(
    demo_template: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(demo_template, ws)
    done = subprocess.run(
        [sys.executable, "-c", OFF_SCRIPT, str(ws), str(REPO)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"status": "waiting_approval", "enabled": False, "loaded": [], "from_us": []}


def test_every_hook_hands_back_the_one_shared_span_when_off() -> None:
    request = ChatRequest(messages=[ChatMessage(role="user", content="hi")])
    assert not tracing.enabled()
    handles = [
        tracing.run_span("g", "r"),
        tracing.step_span("s", "agent", "a", "r"),
        tracing.facts_span("kind"),
        tracing.chat_span(request, "m"),
        tracing.tool_span("add", "call_1"),
    ]
    assert all(h is tracing.OFF for h in handles)
    assert not tracing.OFF
    with tracing.OFF as span:
        span.response(object())  # any method: a no-op
    tracing.step_info(agent="a", artifact={}, attempt=1, max_attempts=3, usage=None)
    tracing.model_attempts(2, 500, None)
    tracing.retry_event(1, 3, 0.5, 500, "busy")


@pytest.mark.parametrize(
    ("env", "on"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318"}, False),
        ({"OTEL_SERVICE_NAME": "ops"}, False),  # naming a service sends nothing anywhere
    ],
)
def test_the_standard_environment_turns_tracing_on(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], on: bool
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    tracing.configure(None)
    assert tracing.enabled() is on
    tracing.configure(None)  # shuts down the provider built from the environment


# The application set a global provider before using nexus_agents: its spans go there.
GLOBAL_SCRIPT = r"""
import asyncio, json
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)

from pydantic import BaseModel
from nexus_agents.llm import ChatMessage, ScriptedModel, run_structured

class Answer(BaseModel):
    ok: bool

async def main():
    with trace.get_tracer("app").start_as_current_span("request"):
        await run_structured(
            ScriptedModel([{"ok": True}]),
            messages=[ChatMessage(role="user", content="ok?")],
            output_type=Answer,
            agent="tester",
        )

asyncio.run(main())
spans = {s.name: s for s in exporter.get_finished_spans()}
print(json.dumps({
    "names": sorted(spans),
    "chat_under_request": spans["chat scripted"].parent.span_id == spans["request"].context.span_id,
}))
"""


def test_a_global_provider_the_application_set_is_used() -> None:
    done = subprocess.run(
        [sys.executable, "-c", GLOBAL_SCRIPT],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"names": ["chat scripted", "request"], "chat_under_request": True}
