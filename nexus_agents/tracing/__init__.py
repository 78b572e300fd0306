"""OpenTelemetry traces of runs, steps, model calls and tool calls (the optional ``otel`` extra).

A run is a span ``run <graph>``; each step a child ``step <id>``; each model call a
``chat <model>`` span following the GenAI semantic conventions, with its retries as
events; each tool the model calls an ``execute_tool <name>`` span.

Tracing is on when

- ``configure(provider)`` handed a ``TracerProvider`` (tests, or an application that
  builds its own), or
- the application already set a global tracer provider of the SDK, or
- the standard environment asks for an exporter: ``OTEL_EXPORTER_OTLP_ENDPOINT``,
  ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or ``OTEL_TRACES_EXPORTER`` (``otlp``,
  ``console``; ``none`` keeps it off),

and ``OTEL_SDK_DISABLED`` is not ``true``. Otherwise nothing of ``opentelemetry`` is
imported and every hook hands back one shared do-nothing span (falsy, so a caller can
skip work that only feeds a span: ``if span: ...``).

Prompts and answers are recorded only with ``NEXUS_TRACE_CONTENT=1``, and every text put
on a span (content, error messages) first goes through the redactor the model layer
installs (``use_redactor``): no API key, bearer token or configured secret.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nexus_agents.tracing._otel import Tracing

__all__ = [
    "CONTENT_ENV",
    "OFF",
    "chat_span",
    "configure",
    "enabled",
    "facts_span",
    "flush",
    "hide",
    "model_attempts",
    "retry_event",
    "run_failed",
    "run_span",
    "step_info",
    "step_span",
    "tool_span",
    "use_redactor",
]

CONTENT_ENV = "NEXUS_TRACE_CONTENT"


class _Off:
    """The span every hook returns while tracing is off: accepts everything, does nothing."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def __enter__(self) -> _Off:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __getattr__(self, name: str) -> Callable[..., None]:
        return _nothing


def _nothing(*args: object, **kwargs: object) -> None:
    return None


OFF: Any = _Off()

_impl: Tracing | None = None
_decided = False
_injected: Any = None  # a provider handed to configure()
_content: bool | None = None  # configure()'s word on content; None: the environment's
_look_for_global = False  # off only because nothing was configured: a later global provider counts
_redact: Callable[[str], str] = str
_secrets: set[str] = set()


def configure(provider: Any = None, *, content: bool | None = None) -> None:
    """Trace with ``provider`` (an OpenTelemetry ``TracerProvider``); ``None`` goes back to
    what the environment says. ``content``: record prompts and answers (default: the
    ``NEXUS_TRACE_CONTENT`` variable)."""
    global _injected, _content, _decided, _impl
    if _impl is not None and _impl.owned:
        _impl.provider.shutdown()  # the one built from the environment: export what it holds
    _injected, _content = provider, content
    _decided, _impl = False, None


def enabled() -> bool:
    """Whether spans are recorded (decided once, on first use)."""
    return (_impl if _decided else _decide()) is not None


def flush(timeout_ms: int = 30_000) -> bool:
    """Export the spans ended so far (a no-op while tracing is off)."""
    impl = _impl if _decided else _decide()
    return True if impl is None else impl.flush(timeout_ms)


def use_redactor(redact: Callable[[str], str]) -> None:
    """How text is cleaned before it goes on a span (the model layer installs its own)."""
    global _redact
    _redact = redact


def hide(secret: str | None) -> None:
    """A secret value that must never appear on a span (e.g. a model API key)."""
    if secret and len(secret) >= 4:
        _secrets.add(secret)


def secrets() -> frozenset[str]:
    """The secret values given to ``hide``."""
    return frozenset(_secrets)


def redact(text: str) -> str:
    return _redact(text)


# ------------------------------------------------------------------------ hooks


def run_span(
    graph: str,
    run_id: str,
    *,
    thread_id: str | None = None,
    period: str | None = None,
    job: str | None = None,
    resumed: bool = False,
    links: Iterable[tuple[str, str]] = (),
) -> Any:
    """The span of one execution of a run (a start or a resume); ``links``: the
    ``(trace_id, span_id)`` hex pairs of its earlier executions."""
    impl = _impl if _decided else _decide()
    if impl is None and _look_for_global and "opentelemetry.trace" in sys.modules:
        impl = _decide()  # the application may have set its provider since
    if impl is None:
        return OFF
    return impl.run_span(graph, run_id, thread_id, period, job, resumed, links)


def run_failed(error: BaseException) -> None:
    """The run being traced failed with ``error`` (its span gets the error type)."""
    if _impl is not None:
        _impl.run_failed(error)


def step_span(step: str, kind: str, agent: str | None, run_id: str, *, pauses: Any = ()) -> Any:
    """The span of one step; an exception of a ``pauses`` type ends it as paused, not failed."""
    impl = _impl if _decided else _decide()
    return OFF if impl is None else impl.step_span(step, kind, agent, run_id, pauses)


def step_info(
    *,
    agent: str | None = None,
    artifact: Mapping[str, Any] | None = None,
    attempt: int | None = None,
    max_attempts: int | None = None,
    usage: Any = None,
) -> None:
    """What the current agent step produced: its agent, artifact (kind, verdict) and usage."""
    if _impl is not None:
        _impl.step_info(agent, artifact, attempt, max_attempts, usage)


def facts_span(kind: str) -> Any:
    """The span of building the facts of a ``kind`` artifact (code, not the model)."""
    impl = _impl if _decided else _decide()
    return OFF if impl is None else impl.facts_span(kind)


def chat_span(request: Any, default_model: str) -> Any:
    """The span of one model call (a ``ChatRequest``); ``.response(resp)`` records the answer."""
    impl = _impl if _decided else _decide()
    return OFF if impl is None else impl.chat_span(request, default_model)


def model_attempts(attempts: int, http_status: int | None, base_url: str | None) -> None:
    """HTTP requests the current model call took (retries and format fallback included)."""
    if _impl is not None:
        _impl.model_attempts(attempts, http_status, base_url)


def retry_event(
    attempt: int, max_attempts: int, wait_s: float, status: int | None, cause: str
) -> None:
    """Attempt ``attempt`` of the current model call failed and another follows."""
    if _impl is not None:
        _impl.retry_event(attempt, max_attempts, wait_s, status, cause)


def tool_span(name: str, call_id: str | None) -> Any:
    """The span of one tool call the model asked for; ``.tool_result(ok, error)`` ends it."""
    impl = _impl if _decided else _decide()
    return OFF if impl is None else impl.tool_span(name, call_id)


# ---------------------------------------------------------------------- decide


def _env_wants_traces(env: Mapping[str, str]) -> bool:
    exporters = env.get("OTEL_TRACES_EXPORTER", "").strip()
    if exporters:
        return any(e.strip().lower() not in ("", "none") for e in exporters.split(","))
    return bool(
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
        or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    )


def _global_provider() -> Any:
    """The SDK provider the application set globally, without importing opentelemetry."""
    api = sys.modules.get("opentelemetry.trace")
    if api is None:
        return None
    provider = api.get_tracer_provider()
    if isinstance(provider, api.ProxyTracerProvider | api.NoOpTracerProvider):
        return None
    return provider


def _decide() -> Tracing | None:
    global _impl, _decided, _look_for_global
    env = os.environ
    _decided, _impl, _look_for_global = True, None, False
    content = _content
    if content is None:
        content = env.get(CONTENT_ENV, "").strip().lower() in ("1", "true", "yes")
    if _injected is not None:
        from nexus_agents.tracing._otel import Tracing

        _impl = Tracing(_injected, content=content)
        return _impl
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    provider = _global_provider()
    if provider is None and not _env_wants_traces(env):
        _look_for_global = True
        return None
    try:
        from nexus_agents.tracing._otel import Tracing, provider_from_env
    except ImportError as exc:
        logging.getLogger(__name__).warning(
            "OpenTelemetry is configured in the environment but not installed (%s);"
            " tracing stays off: pip install 'nexus-agents[otel]'",
            exc,
        )
        return None
    if provider is not None:
        _impl = Tracing(provider, content=content)
    else:
        _impl = Tracing(provider_from_env(env), content=content, owned=True)
    return _impl
