"""A small OpenAI-compatible chat-completions server on 127.0.0.1 for tests and benchmarks.

``MockLLMServer`` answers ``POST /v1/chat/completions`` (non-streaming) and
``GET /v1/models``. Content is schema-valid JSON generated from
``response_format.json_schema.schema``, ``{}`` (or JSON for a schema written in the
system message) for ``json_object``, and plain text otherwise; a ``responder`` may
decide per request instead. With ``random_seed`` the generated answers are random
rather than fixed per schema: request ``n`` gets the instance seeded by
``answer_seed(random_seed, n)``, so every call (a repair round too) is a fresh,
deterministic draw, as from a model behind guided JSON decoding that knows nothing of
the task. Faults are injected on a schedule keyed by the 1-based request number. The server runs in a background thread with its own event loop
(``with`` / ``async with``), so sync tests, async tests and subprocesses can all use it.

Two introspection routes serve a parent process that started the server elsewhere:
``GET /_mock/stats`` (``MockServerStats`` as JSON) and ``GET /_mock/requests?since=N``
(the recorded requests after the first N, credential headers removed). Neither is counted
as a request.

Run it alone: ``python -m nexus_agents.testing.mock_server --port 8765 --latency-ms 50``
(``--author`` or ``--responder module:factory`` pick the responder, ``--random-seed N``
the random answers; ``--help`` lists all).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field

from nexus_agents._refs import RefError, resolve_ref
from nexus_agents.testing._http import (
    HttpError,
    HttpRequest,
    error_body,
    read_request,
    render_response,
)
from nexus_agents.testing.completions import (
    completion_body,
    default_content,
    reply_from_responder,
    requested_schema,
)
from nexus_agents.testing.faults import (
    Fault,
    FaultKind,
    FaultSchedule,
    as_fault,
    break_instance,
    fault_at,
    validate_schedule,
)
from nexus_agents.testing.random_model import answer_seed
from nexus_agents.testing.schema_faker import fake_instance

__all__ = ["MockLLMServer", "MockServerStats", "RecordedRequest", "Responder", "load_responder"]

LOOPBACK = "127.0.0.1"
MOCK_MODEL_ID = "mock-model"
ResponderResult = dict[str, Any] | Fault | FaultKind | str | None
Responder = Callable[[dict[str, Any]], ResponderResult | Awaitable[ResponderResult]]
# headers that carry credentials never reach ``.requests``
_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie", "openai-api-key"}
)
_RESET = object()


class MockServerStats(BaseModel):
    """A snapshot of what the server has seen."""

    model_config = ConfigDict(frozen=True)

    requests: int = Field(
        description="chat-completion requests numbered and answered (<= max_requests)"
    )
    rejected: int = Field(description="requests answered 503 because max_requests was reached")
    other_requests: int = Field(
        description="requests to other routes (models, unknown paths); /_mock/* is not counted"
    )
    in_flight: int
    peak_concurrency: int
    connections: int = Field(description="connections accepted so far")
    open_connections: int
    faults: dict[str, int] = Field(description="injected faults by kind")
    prompt_tokens: int
    completion_tokens: int
    running: bool
    stopped_reason: str | None = Field(description="'stopped' or 'max_lifetime' once stopped")


class RecordedRequest(BaseModel):
    """One numbered chat-completion request, without credential headers."""

    model_config = ConfigDict(frozen=True)

    number: int
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    fault: FaultKind | None = None
    received_at: float = Field(description="time.time() when the request was read")


class _Reply:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers


class MockLLMServer:
    """OpenAI-compatible mock server; see the module docstring."""

    def __init__(
        self,
        latency_s: float = 0.0,
        faults: FaultSchedule | None = None,
        responder: Responder | None = None,
        max_requests: int = 10_000,
        max_lifetime_s: float = 600,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        retry_after_s: float = 1.0,
        slow_s: float = 30.0,
        random_seed: int | None = None,
    ) -> None:
        if host != LOOPBACK:
            raise ValueError(f"MockLLMServer binds only to {LOOPBACK}, not {host!r}")
        if latency_s < 0 or retry_after_s < 0 or slow_s < 0:
            raise ValueError("latency_s, retry_after_s and slow_s must be >= 0")
        if max_requests < 1 or max_lifetime_s <= 0:
            raise ValueError("max_requests must be >= 1 and max_lifetime_s > 0")
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0..65535, got {port}")
        validate_schedule(faults)
        self.latency_s = latency_s
        self.faults = faults
        self.responder = responder
        self.max_requests = max_requests
        self.max_lifetime_s = max_lifetime_s
        self.retry_after_s = retry_after_s
        self.slow_s = slow_s
        self.random_seed = random_seed
        self.port = port
        self._lock = threading.Lock()
        self._counts: dict[str, int] = dict.fromkeys(
            (
                "requests",
                "rejected",
                "other_requests",
                "in_flight",
                "peak_concurrency",
                "connections",
                "open_connections",
                "prompt_tokens",
                "completion_tokens",
            ),
            0,
        )
        self._fault_counts: dict[str, int] = {}
        self._recorded: list[RecordedRequest] = []
        self._schema_cache: dict[str, str] = {}
        self._running = False
        self._stopped_reason: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[asyncio.Task[Any]] = set()

    # -- public surface -------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if not self.port:
            raise RuntimeError("the server is not started; use 'with MockLLMServer() as server'")
        return f"http://{LOOPBACK}:{self.port}/v1"

    @property
    def stats(self) -> MockServerStats:
        with self._lock:
            return MockServerStats(
                **self._counts,
                faults=dict(self._fault_counts),
                running=self._running,
                stopped_reason=self._stopped_reason,
            )

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._recorded)

    def start(self) -> Self:
        """Serve in a background thread; returns once the port is bound."""
        if self._thread is not None:
            raise RuntimeError("this MockLLMServer was already started")
        ready = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            try:
                asyncio.run(self.serve(on_ready=ready.set))
            except BaseException as exc:  # surfaced to the starting thread
                failure.append(exc)
            finally:
                ready.set()

        self._thread = threading.Thread(target=main, name="mock-llm-server", daemon=True)
        self._thread.start()
        ready.wait(timeout=30)
        if failure:
            raise RuntimeError(f"mock server failed to start: {failure[0]}") from failure[0]
        if not self._running:
            raise RuntimeError("mock server did not start within 30 s")
        return self

    def stop(self) -> None:
        """Stop serving (idempotent): open connections are closed, handlers cancelled."""
        loop, thread = self._loop, self._thread
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(self._request_stop, "stopped")
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)

    def wait_stopped(self, timeout: float | None = None) -> bool:
        """Block until the server has stopped (for any reason); False on timeout."""
        if self._thread is None:
            return not self._running
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    async def serve(self, on_ready: Callable[[], None] | None = None) -> None:
        """Serve on the running loop until ``stop()`` or ``max_lifetime_s``."""
        loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        server = await asyncio.start_server(
            self._on_connection, LOOPBACK, self.port, backlog=1024, limit=1024 * 1024
        )
        self.port = server.sockets[0].getsockname()[1]
        self._loop = loop
        lifetime = loop.call_later(self.max_lifetime_s, self._request_stop, "max_lifetime")
        with self._lock:
            self._running = True
        if on_ready is not None:
            on_ready()
        try:
            await self._stop_event.wait()
        finally:
            lifetime.cancel()
            server.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await server.wait_closed()
            with self._lock:
                self._running = False
                self._stopped_reason = self._stopped_reason or "stopped"

    # -- connection handling ----------------------------------------------------------
    def _request_stop(self, reason: str) -> None:
        with self._lock:
            if self._stopped_reason is None:
                self._stopped_reason = reason
        if self._stop_event is not None:
            self._stop_event.set()

    def _count(self, key: str, delta: int = 1) -> None:
        with self._lock:
            self._counts[key] += delta

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        with self._lock:
            self._counts["connections"] += 1
            self._counts["open_connections"] += 1
        graceful = False
        try:
            graceful = await self._serve_connection(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went away or the server is stopping
        finally:
            self._connections.discard(task)
            self._count("open_connections", -1)
            if graceful:
                writer.close()  # flushes what is still buffered
            else:
                writer.transport.abort()

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer requests until the client closes; False means drop the socket unanswered."""
        while True:
            try:
                request = await read_request(reader)
            except HttpError as exc:
                body = error_body(exc.message, type_="invalid_request_error")
                writer.write(render_response(exc.status, body, keep_alive=False))
                await writer.drain()
                return True
            if request is None:
                return True
            reply = await self._dispatch(request)
            if reply is _RESET:
                return False
            assert isinstance(reply, _Reply)
            keep_alive = request.keep_alive
            writer.write(
                render_response(
                    reply.status, reply.body, keep_alive=keep_alive, headers=reply.headers
                )
            )
            await writer.drain()
            if not keep_alive:
                return True

    async def _dispatch(self, request: HttpRequest) -> _Reply | object:
        path = request.path.rstrip("/")
        if path.startswith("/_mock/"):
            return self._introspect(request, path)
        if path == "/v1/chat/completions":
            if request.method != "POST":
                self._count("other_requests")
                return _error(405, "use POST for /v1/chat/completions", "invalid_request_error")
            return await self._chat(request)
        self._count("other_requests")
        if path == "/v1/models" and request.method == "GET":
            models = {
                "object": "list",
                "data": [
                    {
                        "id": MOCK_MODEL_ID,
                        "object": "model",
                        "created": 0,
                        "owned_by": "nexus-agents-mock",
                    }
                ],
            }
            return _Reply(200, json.dumps(models).encode())
        return _error(404, f"no route for {request.method} {request.path}", "invalid_request_error")

    def _introspect(self, request: HttpRequest, path: str) -> _Reply:
        """``/_mock/stats`` and ``/_mock/requests``: read-only, not counted as requests."""
        if request.method != "GET":
            return _error(405, f"use GET for {path}", "invalid_request_error")
        if path == "/_mock/stats":
            return _Reply(200, self.stats.model_dump_json().encode())
        if path == "/_mock/requests":
            query = parse_qs(urlsplit(request.target).query)
            raw = query.get("since", ["0"])[-1]
            if not raw.isdigit():
                return _error(
                    400,
                    f"since must be a whole number >= 0, got {raw!r}",
                    "invalid_request_error",
                    param="since",
                )
            recorded = self.requests[int(raw) :]
            body = json.dumps([r.model_dump(mode="json") for r in recorded])
            return _Reply(200, body.encode())
        return _error(404, f"no route for {request.method} {request.path}", "invalid_request_error")

    # -- chat completions ---------------------------------------------------------------
    async def _chat(self, request: HttpRequest) -> _Reply | object:
        with self._lock:
            if self._counts["requests"] >= self.max_requests:
                self._counts["rejected"] += 1
                return _error(
                    503,
                    f"mock server limit of {self.max_requests} requests reached",
                    "server_error",
                )
            self._counts["requests"] += 1
            number = self._counts["requests"]
            self._counts["in_flight"] += 1
            self._counts["peak_concurrency"] = max(
                self._counts["peak_concurrency"], self._counts["in_flight"]
            )
        try:
            return await self._answer(request, number)
        finally:
            self._count("in_flight", -1)

    async def _answer(self, request: HttpRequest, number: int) -> _Reply | object:
        try:
            payload = json.loads(request.body or b"null")
        except ValueError:
            payload = None
        headers = {k: v for k, v in request.headers.items() if k not in _SECRET_HEADERS}
        record = RecordedRequest(
            number=number,
            method=request.method,
            path=request.path,
            headers=headers,
            body=payload,
            received_at=time.time(),
        )
        if not isinstance(payload, dict):
            self._record(record)
            return _error(400, "the request body must be a JSON object", "invalid_request_error")
        if payload.get("stream"):
            self._record(record)
            return _error(
                400,
                "the mock server does not support streaming; send stream=false",
                "invalid_request_error",
                param="stream",
                code="unsupported_parameter",
            )
        fault = fault_at(self.faults, number)
        result: Any = None
        try:
            if fault is None and self.responder is not None:
                result = self.responder(payload)
                if inspect.isawaitable(result):
                    result = await result
                if result is None or isinstance(result, Fault | FaultKind | str):
                    fault = as_fault(result)
        except Exception as exc:
            self._record(record)
            return _error(500, f"responder raised {type(exc).__name__}: {exc}", "server_error")
        self._record(record.model_copy(update={"fault": fault.kind if fault else None}))
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if fault is not None:
            with self._lock:
                self._fault_counts[fault.kind.value] = (
                    self._fault_counts.get(fault.kind.value, 0) + 1
                )
        try:
            if fault is not None:
                return await self._fault_reply(fault, payload, number)
            if isinstance(result, Mapping):
                body = reply_from_responder(result, payload, number)
            else:
                body = completion_body(payload, number, content=self._content(payload, number))
        except ValueError as exc:  # a bad responder result or an unsatisfiable schema
            return _error(500, str(exc), "server_error")
        return self._ok(body)

    def _content(self, payload: dict[str, Any], number: int) -> str:
        """The generated answer: fixed per schema, or a random draw per request."""
        if self.random_seed is not None:
            schema = requested_schema(payload)
            if schema is not None:
                return json.dumps(fake_instance(schema, seed=answer_seed(self.random_seed, number)))
        return default_content(payload, self._schema_cache)

    def _record(self, record: RecordedRequest) -> None:
        with self._lock:
            self._recorded.append(record)

    def _ok(self, body: dict[str, Any]) -> _Reply:
        usage = body.get("usage") or {}
        with self._lock:
            self._counts["prompt_tokens"] += int(usage.get("prompt_tokens", 0))
            self._counts["completion_tokens"] += int(usage.get("completion_tokens", 0))
        return _Reply(200, json.dumps(body).encode())

    async def _fault_reply(
        self, fault: Fault, payload: dict[str, Any], number: int
    ) -> _Reply | object:
        kind = fault.kind
        if kind is FaultKind.RESET:
            return _RESET
        if kind is FaultKind.RATE_LIMIT:
            seconds = self.retry_after_s if fault.retry_after_s is None else fault.retry_after_s
            shown = str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
            return _error(
                429,
                fault.message or "rate limit reached (injected by the mock server)",
                "requests",
                code="rate_limit_exceeded",
                headers={"Retry-After": shown, "Retry-After-Ms": str(int(seconds * 1000))},
            )
        if kind is FaultKind.SERVER_ERROR:
            return _error(
                500, fault.message or "internal error (injected by the mock server)", "server_error"
            )
        if kind is FaultKind.SLOW:
            await asyncio.sleep(self.slow_s if fault.delay_s is None else fault.delay_s)
            return self._ok(
                completion_body(payload, number, content=self._content(payload, number))
            )
        if kind is FaultKind.INVALID_JSON:
            content = 'Sure! Here is the JSON you asked for: {"answer": '
            return self._ok(completion_body(payload, number, content=content))
        if kind is FaultKind.SCHEMA_INVALID:
            schema = requested_schema(payload)
            valid = fake_instance(schema) if schema else {}
            content = json.dumps(break_instance(valid, schema))
            return self._ok(completion_body(payload, number, content=content))
        if kind is FaultKind.REFUSAL:
            refusal = fault.message or "I'm sorry, I can't help with that request."
            return self._ok(completion_body(payload, number, content=None, refusal=refusal))
        if kind is FaultKind.LENGTH:
            return self._ok(
                completion_body(
                    payload,
                    number,
                    content=_truncate(self._content(payload, number)),
                    finish_reason="length",
                )
            )
        raise AssertionError(f"unhandled fault {kind}")  # pragma: no cover


def _error(
    status: int,
    message: str,
    type_: str,
    *,
    code: str | None = None,
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> _Reply:
    return _Reply(status, error_body(message, type_=type_, code=code, param=param), headers)


def _truncate(text: str) -> str:
    """Cut ``text`` so that it no longer parses as JSON, as a model hitting max_tokens would."""
    cut = text[: max(1, len(text) // 2)]
    try:
        json.loads(cut)
    except ValueError:
        return cut
    return "[" + cut


def load_responder(spec: str) -> Responder:
    """Import ``module:attr`` and call it (a zero-argument factory) for a responder."""
    try:
        factory = resolve_ref(spec)
    except RefError as exc:
        if exc.problem == "form":
            raise ValueError(f"responder {spec!r} is not of the form 'module:factory'") from None
        if exc.import_error is not None:
            raise ValueError(
                f"responder {spec!r}: cannot import {exc.module!r}: {exc.import_error}"
            ) from exc.import_error
        raise ValueError(f"responder {spec!r}: {exc.module} has no callable {exc.attr!r}") from None
    responder = factory()
    if not callable(responder):
        raise ValueError(
            f"responder {spec!r}: the factory returned {type(responder).__name__}, not a callable"
        )
    return responder  # type: ignore[no-any-return]


def _cli_responder(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Responder | None:
    if args.responder is not None:
        if args.author_scenario is not None:
            parser.error("--author-scenario applies to --author, not to --responder")
        try:
            return load_responder(args.responder)
        except ValueError as exc:
            parser.error(str(exc))
    if not args.author and args.author_scenario is None:
        return None
    from nexus_agents.testing.playbook_author import AuthorScenario, PlaybookAuthor

    scenario = None
    if args.author_scenario is not None:
        from pydantic import ValidationError

        try:
            scenario = AuthorScenario.model_validate_json(args.author_scenario)
        except ValidationError as exc:
            parser.error(f"--author-scenario: {exc}")
    return PlaybookAuthor(scenario)


def main(argv: list[str] | None = None) -> None:
    """Serve until interrupted; prints the base URL on the first line of stdout."""
    parser = argparse.ArgumentParser(prog="python -m nexus_agents.testing.mock_server")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    parser.add_argument("--max-lifetime-s", type=float, default=3600.0)
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument(
        "--author",
        action="store_true",
        help="answer with PlaybookAuthor's rule-respecting narratives instead of schema fakes",
    )
    choice.add_argument(
        "--responder",
        metavar="MODULE:FACTORY",
        help="import MODULE and call FACTORY() for the responder (same contract as responder=)",
    )
    parser.add_argument(
        "--random-seed",
        type=int,
        metavar="N",
        help="answer each request with a different random schema-valid object (seeded by N "
        "and the request number) instead of one fixed object per schema",
    )
    parser.add_argument(
        "--author-scenario",
        metavar="JSON",
        help="AuthorScenario fields for --author, e.g. '{\"qa_failures\": 1}' (implies --author)",
    )
    args = parser.parse_args(argv)
    responder = _cli_responder(parser, args)
    server = MockLLMServer(
        responder=responder,
        latency_s=args.latency_ms / 1000,
        max_requests=args.max_requests,
        max_lifetime_s=args.max_lifetime_s,
        port=args.port,
        random_seed=args.random_seed,
    )

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, server._request_stop, "stopped")
        await server.serve(on_ready=lambda: print(server.base_url, flush=True))

    asyncio.run(run())


if __name__ == "__main__":
    main()
