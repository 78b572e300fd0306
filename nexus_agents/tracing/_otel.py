"""The spans themselves; imported only once tracing is on (it needs ``opentelemetry``)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Mapping
from contextvars import ContextVar, Token
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, SpanContext, SpanKind, StatusCode, TraceFlags

from nexus_agents import tracing as facade
from nexus_agents._version import __version__

logger = logging.getLogger("nexus_agents.tracing")

SERVICE_NAME = "nexus-agents"
PROVIDER = "openai"  # every model speaks the OpenAI chat-completions API
MAX_TEXT = 20_000  # characters of one message part on a span
MAX_ERROR = 2_000
MAX_VALUE = 200  # characters of a step's state value on its span

# the spans open in this context, for hooks that add to them from deeper down
_RUN: ContextVar[_Span | None] = ContextVar("nexus_trace_run", default=None)
_STEP: ContextVar[_Span | None] = ContextVar("nexus_trace_step", default=None)
_CHAT: ContextVar[_Span | None] = ContextVar("nexus_trace_chat", default=None)

_Scalar = str | bool | int | float


class _Span:
    """One span, current (in OpenTelemetry's context and in ``slot``) while its block runs."""

    __slots__ = ("_content", "_error_type", "_pauses", "_slot", "_slot_token", "_token", "span")

    def __init__(
        self,
        span: trace.Span,
        slot: ContextVar[_Span | None] | None = None,
        pauses: Any = (),
        *,
        content: bool = False,
    ) -> None:
        self.span = span
        self._slot = slot
        self._pauses = pauses
        self._content = content
        self._token: object = None
        self._slot_token: Token[_Span | None] | None = None
        self._error_type: str | None = None

    def __enter__(self) -> _Span:
        self._token = otel_context.attach(trace.set_span_in_context(self.span))
        if self._slot is not None:
            self._slot_token = self._slot.set(self)
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            if exc is not None:
                self._ended_by(exc)
        finally:
            if self._slot is not None and self._slot_token is not None:
                self._slot.reset(self._slot_token)
            otel_context.detach(self._token)  # type: ignore[arg-type]
            self.span.end()

    # -- any span -----------------------------------------------------------------

    def set(self, key: str, value: Any) -> None:
        if value is not None:
            self.span.set_attribute(key, value)

    def ids(self) -> tuple[str, str] | None:
        """``(trace_id, span_id)`` in hex, or None for a span that is not recorded."""
        ctx = self.span.get_span_context()
        if not ctx.is_valid:
            return None
        return trace.format_trace_id(ctx.trace_id), trace.format_span_id(ctx.span_id)

    def fail(self, error_type: str, message: str | None = None) -> None:
        self._error_type = error_type
        self.span.set_attribute("error.type", error_type)
        text = _clean(message, MAX_ERROR) if message else None
        self.span.set_status(StatusCode.ERROR, text)

    def error(self, exc: BaseException) -> None:
        """Fail with ``exc``: its type, its message (redacted) as an ``exception`` event."""
        name = type(exc).__name__
        message = str(exc) or name
        status = getattr(exc, "status", None)
        if isinstance(status, int):
            self.span.set_attribute("http.response.status_code", status)
        self.span.add_event(
            "exception",
            {"exception.type": _qualname(exc), "exception.message": _clean(message, MAX_ERROR)},
        )
        self.fail(name, message)

    def _ended_by(self, exc: BaseException) -> None:
        if self._pauses and isinstance(exc, self._pauses):
            self.span.set_attribute("nexus.outcome", "paused")
        elif isinstance(exc, asyncio.CancelledError | KeyboardInterrupt):
            self.span.set_attribute("nexus.outcome", "interrupted")
            self.fail("cancelled", "interrupted (cancelled or Ctrl-C); resume continues it")
        else:
            self.span.set_attribute("nexus.outcome", "failed")
            if self._error_type is None:
                self.error(exc)

    # -- run ------------------------------------------------------------------------

    def run_result(self, status: str, error: str | None, usage: Mapping[str, float]) -> None:
        self.span.set_attribute("nexus.run.status", status)
        for key in ("calls", "prompt_tokens", "completion_tokens", "total_tokens"):
            if key in usage:
                self.span.set_attribute(f"nexus.run.{key}", int(usage[key]))
        if "cost_usd" in usage:
            self.span.set_attribute("nexus.run.cost_usd", float(usage["cost_usd"]))
        if status == "failed":
            self.fail(self._error_type or "run_failed", error)

    # -- step -----------------------------------------------------------------------

    def values(self, values: Mapping[str, Any]) -> None:
        """The state values the step set (verdicts, decisions, an action's outcome)."""
        self.span.set_attribute("nexus.outcome", "finished")
        for name, value in values.items():
            if isinstance(value, _Scalar):
                self.span.set_attribute(f"nexus.step.value.{name}", _short(value))

    # -- chat -----------------------------------------------------------------------

    def response(self, response: Any) -> None:
        """Record a ``ChatResponse``: served model, tokens, finish reason (and content)."""
        span = self.span
        usage = response.usage
        if response.model:
            span.set_attribute("gen_ai.response.model", response.model)
        span.set_attribute("gen_ai.usage.input_tokens", usage.prompt_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", usage.completion_tokens)
        span.set_attribute("gen_ai.response.finish_reasons", [response.finish_reason])
        span.set_attribute("nexus.cost_usd", usage.cost_usd)
        if response.message.tool_calls:
            span.set_attribute("nexus.tool_calls", len(response.message.tool_calls))
        if self._content:
            self._output_messages(response)

    def _output_messages(self, response: Any) -> None:
        message: dict[str, Any] = {
            "role": "assistant",
            "parts": _parts(response.message),
            "finish_reason": response.finish_reason,
        }
        if response.refusal:
            message["parts"].append({"type": "refusal", "content": _clean(response.refusal)})
        self.span.set_attribute("gen_ai.output.messages", json.dumps([message]))

    # -- tool -----------------------------------------------------------------------

    def tool_result(self, ok: bool, error: str | None) -> None:
        if not ok:
            self.fail("tool_error", error)


class Tracing:
    """Makes the spans of one tracer provider."""

    def __init__(self, provider: Any, *, content: bool, owned: bool = False) -> None:
        self.provider = provider
        self.owned = owned  # built here from the environment (not the application's)
        self.tracer = provider.get_tracer("nexus_agents", __version__)
        self.content = content

    def flush(self, timeout_ms: int) -> bool:
        force = getattr(self.provider, "force_flush", None)
        return True if force is None else bool(force(timeout_ms))

    def _start(
        self,
        name: str,
        attributes: dict[str, Any],
        kind: SpanKind = SpanKind.INTERNAL,
        links: list[Link] | None = None,
    ) -> trace.Span:
        clean = {k: v for k, v in attributes.items() if v is not None}
        return self.tracer.start_span(name, kind=kind, attributes=clean, links=links)

    # -- run ------------------------------------------------------------------------

    def run_span(
        self,
        graph: str,
        run_id: str,
        thread_id: str | None,
        period: str | None,
        job: str | None,
        resumed: bool,
        links: Iterable[tuple[str, str]],
    ) -> _Span:
        earlier = [
            Link(_remote(trace_id, span_id), {"nexus.link": "earlier execution of this run"})
            for trace_id, span_id in links
        ]
        span = self._start(
            f"run {graph}",
            {
                "nexus.graph": graph,
                "nexus.run.id": run_id,
                "nexus.thread.id": thread_id or run_id,
                "nexus.period": period,
                "nexus.job": job,
                "nexus.run.resumed": resumed,
            },
            links=[link for link in earlier if link.context.is_valid],
        )
        return _Span(span, _RUN)

    def run_failed(self, error: BaseException) -> None:
        run = _RUN.get()
        if run is not None:
            run.error(error)

    # -- step -----------------------------------------------------------------------

    def step_span(self, step: str, kind: str, agent: str | None, run_id: str, pauses: Any) -> _Span:
        span = self._start(
            f"step {step}",
            {
                "nexus.run.id": run_id,
                "nexus.step.id": step,
                "nexus.step.kind": kind,
                "gen_ai.agent.name": agent,
            },
        )
        return _Span(span, _STEP, pauses)

    def step_info(
        self,
        agent: str | None,
        artifact: Mapping[str, Any] | None,
        attempt: int | None,
        max_attempts: int | None,
        usage: Any,
    ) -> None:
        step = _STEP.get()
        if step is None:
            return
        step.set("gen_ai.agent.name", agent or None)
        step.set("nexus.step.attempt", attempt)
        step.set("nexus.step.max_attempts", max_attempts)
        if artifact is not None:
            step.set("nexus.artifact.kind", artifact.get("kind"))
            narrative = artifact.get("narrative")
            verdict = narrative.get("verdict") if isinstance(narrative, Mapping) else None
            if isinstance(verdict, _Scalar):
                step.set("nexus.step.verdict", _short(verdict))
            meta = artifact.get("meta")
            if isinstance(meta, Mapping) and meta.get("defaulted"):
                step.set("nexus.artifact.defaulted", True)
        if usage is not None:
            step.set("nexus.step.calls", usage.calls)
            step.set("nexus.step.prompt_tokens", usage.prompt_tokens)
            step.set("nexus.step.completion_tokens", usage.completion_tokens)
            step.set("nexus.step.cost_usd", usage.cost_usd)

    def facts_span(self, kind: str) -> _Span:
        return _Span(self._start(f"facts {kind}", {"nexus.artifact.kind": kind}))

    # -- chat -----------------------------------------------------------------------

    def chat_span(self, request: Any, default_model: str) -> _Span:
        model = request.model or default_model
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": PROVIDER,
            "gen_ai.system": PROVIDER,  # the name before semantic conventions 1.37
            "gen_ai.request.model": model,
            "gen_ai.request.temperature": request.temperature,
            "gen_ai.request.max_tokens": request.max_tokens,
            "gen_ai.agent.name": request.agent,
            "gen_ai.output.type": "json" if request.response_format is not None else "text",
        }
        if self.content:
            attributes["gen_ai.input.messages"] = json.dumps(
                [{"role": m.role, "parts": _parts(m)} for m in request.messages]
            )
        span = self._start(f"chat {model}", attributes, SpanKind.CLIENT)
        return _Span(span, _CHAT, content=self.content)

    def model_attempts(self, attempts: int, http_status: int | None, base_url: str | None) -> None:
        chat = _CHAT.get()
        if chat is None:
            return
        chat.set("nexus.model.attempts", attempts)
        chat.set("nexus.model.retries", max(attempts - 1, 0))
        chat.set("http.response.status_code", http_status)
        where = urlsplit(base_url or "https://api.openai.com/v1")
        chat.set("server.address", where.hostname)
        chat.set("server.port", where.port or (443 if where.scheme == "https" else 80))

    def retry_event(
        self, attempt: int, max_attempts: int, wait_s: float, status: int | None, cause: str
    ) -> None:
        chat = _CHAT.get()
        if chat is None:
            return
        attributes: dict[str, Any] = {
            "nexus.retry.attempt": attempt,
            "nexus.retry.max_attempts": max_attempts,
            "nexus.retry.wait_s": round(wait_s, 3),
            "nexus.retry.cause": _clean(cause, MAX_ERROR),
        }
        if status is not None:
            attributes["http.response.status_code"] = status
        chat.span.add_event("nexus.model.retry", attributes)

    # -- tool -----------------------------------------------------------------------

    def tool_span(self, name: str, call_id: str | None) -> _Span:
        attributes = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.type": "function",
            "gen_ai.tool.call.id": call_id,
        }
        return _Span(self._start(f"execute_tool {name}", attributes))


# ------------------------------------------------------------------------ helpers


def _clean(text: str, limit: int = MAX_TEXT) -> str:
    text = facade.redact(text)
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more]"


def _short(value: _Scalar) -> _Scalar:
    """A routing value (verdict, decision, id) as an attribute: text is cleaned and capped."""
    return _clean(value, MAX_VALUE) if isinstance(value, str) else value


def _parts(message: Any) -> list[dict[str, Any]]:
    """A chat message as the GenAI conventions' message parts, every text redacted."""
    parts: list[dict[str, Any]] = []
    if message.role == "tool":
        parts.append(
            {
                "type": "tool_call_response",
                "id": message.tool_call_id,
                "result": _clean(message.content or ""),
            }
        )
        return parts
    if message.content:
        parts.append({"type": "text", "content": _clean(message.content)})
    for call in message.tool_calls:
        parts.append(
            {
                "type": "tool_call",
                "id": call.id,
                "name": call.name,
                "arguments": _clean(call.arguments),
            }
        )
    return parts


def _qualname(exc: BaseException) -> str:
    cls = type(exc)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


def _remote(trace_id: str, span_id: str) -> SpanContext:
    try:
        return SpanContext(
            int(trace_id, 16), int(span_id, 16), is_remote=True, trace_flags=TraceFlags(1)
        )
    except (TypeError, ValueError):
        return trace.INVALID_SPAN_CONTEXT


# --------------------------------------------------------------------- provider


def provider_from_env(env: Mapping[str, str]) -> Any:
    """A ``TracerProvider`` with the exporters ``OTEL_TRACES_EXPORTER`` names (default
    ``otlp``); the exporters read their own ``OTEL_EXPORTER_OTLP_*`` settings."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    resource = Resource.create({"service.version": __version__})
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
    provider = TracerProvider(resource=resource)
    names = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "otlp").split(",")]
    for name in [n for n in names if n] or ["otlp"]:
        if name == "otlp":
            provider.add_span_processor(BatchSpanProcessor(_otlp_exporter(env)))
        elif name == "console":
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        elif name != "none":
            logger.warning(
                "OTEL_TRACES_EXPORTER=%s is not supported (otlp, console); ignored", name
            )
    return provider


def _otlp_exporter(env: Mapping[str, str]) -> Any:
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found]
                OTLPSpanExporter as GrpcExporter,
            )
        except ImportError:
            logger.warning(
                "OTLP over gRPC needs opentelemetry-exporter-otlp-proto-grpc; sending"
                " http/protobuf instead (point the endpoint at the collector's HTTP port, 4318)"
            )
        else:
            return GrpcExporter()
    elif protocol != "http/protobuf":
        logger.warning("OTLP protocol %r is not supported; sending http/protobuf", protocol)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()
