"""``ChatModel`` for any OpenAI-compatible chat-completions endpoint.

Built on ``openai.AsyncOpenAI`` with a legacy ``httpx.AsyncClient`` (so ``respx`` sees
the traffic) and ``max_retries=0``: retries belong to ``RetryPolicy``. Servers that
reject ``response_format`` of type ``json_schema`` get ``json_object`` instead, remembered
per model for the life of this instance: the schema goes in the system message and in the
format's ``schema`` key, which llama-cpp-python (and some hosted APIs) turn into a grammar.
A rejection is a 400 or 422, or any error status whose message names the format
(llama-cpp-python answers 500 to a request body it cannot validate).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import re
import ssl
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

import httpx
from pydantic import SecretStr

import nexus_agents.tracing as tracing
from nexus_agents.exceptions import ModelError
from nexus_agents.llm.call_record import CallRecord
from nexus_agents.llm.interface import (
    ChatMessage,
    ChatRequest,
    ChatResponse,
    FinishReason,
    ToolCall,
    Usage,
)
from nexus_agents.llm.limiter import ConcurrencyLimiter, shared_limiter
from nexus_agents.llm.pricing import PriceTable
from nexus_agents.llm.retry import RetriesExhausted, RetryPolicy, TransientError, parse_retry_after

if TYPE_CHECKING:
    import openai
    from openai.types.chat import ChatCompletion

    from nexus_agents.config import NexusConfig

OnCall = Callable[[CallRecord], Awaitable[None] | None]
FormatMode = Literal["json_schema", "json_object", "none"]

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}
_KEY_LIKE = re.compile(r"\bsk-[A-Za-z0-9_\-*.]{6,}")
_BEARER = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)
_URL_USERINFO = re.compile(r"//[^/@\s]+@")
_NAMES_FORMAT = re.compile(r"response_format|json_schema", re.IGNORECASE)


AGENT_HEADER = "X-Nexus-Agent"
REDACTED = "[redacted]"


class _BadRequest(Exception):
    """A 4xx the server will keep answering the same way."""

    def __init__(self, message: str, status: int | None, *, format_rejected: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.format_rejected = format_rejected or status in (400, 422)


class OpenAIChatModel:
    """A chat model behind an OpenAI-compatible HTTP API."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | SecretStr | None = None,
        timeout_s: float = 60.0,
        retry: RetryPolicy | None = None,
        limiter: ConcurrencyLimiter | None = None,
        prices: PriceTable | None = None,
        http_client: httpx.AsyncClient | None = None,
        on_call: OnCall | None = None,
    ) -> None:
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        if not key:
            raise ModelError("an API key is required (use any placeholder for a local server)")
        self._model = model
        self._base_url = base_url
        self._api_key = SecretStr(key)
        tracing.hide(key)  # never on a span, whatever a prompt or an error carries
        self._timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self.limiter = limiter or shared_limiter(8)
        self.prices = prices or PriceTable()
        self.on_call = on_call
        self._http_client = http_client
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, openai.AsyncOpenAI] = (
            weakref.WeakKeyDictionary()
        )
        self._shared_client: openai.AsyncOpenAI | None = None
        self._lock = threading.Lock()
        self.json_object_models: set[str] = set()
        """Models whose server rejected ``json_schema``; they get ``json_object`` instead."""

    @classmethod
    def from_config(cls, config: NexusConfig, **kwargs: Any) -> OpenAIChatModel:
        """Same as ``nexus_agents.llm.build_chat_model(config, **kwargs)``."""
        from nexus_agents.llm.factory import build_chat_model

        return build_chat_model(config, **kwargs)

    @property
    def default_model(self) -> str:
        return self._model

    def __repr__(self) -> str:
        return f"OpenAIChatModel(model={self._model!r}, base_url={_safe_url(self._base_url)!r})"

    # -- client -----------------------------------------------------------------------

    def _client(self) -> openai.AsyncOpenAI:
        import openai

        with self._lock:
            if self._http_client is not None:
                if self._shared_client is None:
                    self._shared_client = self._new_client(openai, self._http_client)
                return self._shared_client
            # httpx connection pools belong to one event loop: one client per loop.
            loop = asyncio.get_running_loop()
            client = self._clients.get(loop)
            if client is None:
                # keep a connection alive for every call that may run at once (httpx keeps
                # 20 by default: more concurrent calls would reconnect again and again)
                slots = max(self.limiter.limit, 1)
                limits = httpx.Limits(
                    max_connections=max(100, slots), max_keepalive_connections=max(20, slots)
                )
                http = httpx.AsyncClient(
                    timeout=self._timeout_s, verify=_tls_context(), limits=limits
                )
                client = self._new_client(openai, http)
                self._clients[loop] = client
            return client

    def _new_client(self, openai: Any, http_client: httpx.AsyncClient) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            base_url=self._base_url,
            api_key=self._api_key.get_secret_value(),
            http_client=http_client,
            max_retries=0,
            timeout=self._timeout_s,
        )

    async def aclose(self) -> None:
        """Close the HTTP client of the running loop (an injected client stays open)."""
        with self._lock:
            loop = asyncio.get_running_loop()
            client = self._clients.pop(loop, None)
        if client is not None:
            await client.close()

    async def __aenter__(self) -> OpenAIChatModel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- the call ---------------------------------------------------------------------

    async def complete(self, request: ChatRequest) -> ChatResponse:
        import openai
        from openai.types.chat import ChatCompletion

        model = request.model or self._model
        asked: FormatMode = "none"
        if request.response_format is not None:
            asked = "json_object" if model in self.json_object_models else "json_schema"
        mode = asked
        started = time.perf_counter()
        attempts = 0  # HTTP requests sent, across retries and the json_object fallback
        rejected: list[_BadRequest] = []  # the server's refusal of json_schema, if it refused
        client = self._client()
        options: Any = {"headers": {AGENT_HEADER: request.agent}} if request.agent else {}

        async def attempt() -> ChatCompletion:
            nonlocal attempts, mode
            while True:
                attempts += 1
                # The body is plain JSON data already: posted as it is, it skips the SDK's
                # walk over every message and schema node to coerce typed parameters (a
                # millisecond of CPU per call); the response is parsed into a
                # ChatCompletion as ``create`` does.
                body = self._to_kwargs(request, model, mode)
                try:
                    async with self.limiter.slot():
                        completion: ChatCompletion = await client.post(
                            "/chat/completions", body=body, cast_to=ChatCompletion, options=options
                        )
                        return completion
                except openai.OpenAIError as exc:
                    error = self._failure(exc, mode)
                    if not isinstance(error, _BadRequest) or not error.format_rejected:
                        raise error from exc
                    if mode != "json_schema":
                        raise error from exc
                # Some servers (older proxies, vLLM, llama.cpp builds) reject json_schema:
                # the same call again at once with json_object.
                rejected.append(error)
                mode = "json_object"

        try:
            try:
                completion, _ = await self.retry.run(attempt)
            except (_BadRequest, RetriesExhausted):
                if rejected:
                    raise rejected[0] from None  # the fallback failed too: the first reason
                raise
            if rejected:
                self.json_object_models.add(model)
            response, priced = self._to_response(
                completion, model, _ms_since(started), request.agent
            )
        except (_BadRequest, RetriesExhausted, ModelError) as exc:
            error = exc if isinstance(exc, ModelError) else self._model_error(exc, request, model)
            await self._record(
                CallRecord(
                    agent=request.agent,
                    model=model,
                    status="error",
                    latency_ms=_ms_since(started),
                    attempts=attempts,
                    http_status=error.status,
                    error=str(error),
                    response_format=asked,
                )
            )
            raise error from None
        await self._record(
            CallRecord(
                agent=request.agent,
                model=response.model or model,
                status="ok",
                usage=response.usage,
                latency_ms=response.usage.latency_ms,
                attempts=attempts,
                priced=priced,
                response_format=mode,
            )
        )
        return response

    def _failure(self, exc: Exception, mode: FormatMode) -> Exception:
        """What a failed request means: worth a retry (``TransientError``) or not."""
        import openai

        if isinstance(exc, openai.APITimeoutError):
            return TransientError(f"timed out after {self._timeout_s:g} s")
        if isinstance(exc, openai.APIConnectionError):
            where = _safe_url(self._base_url) or "the OpenAI API"
            return TransientError(f"connection to {where} failed ({_cause_name(exc)})")
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            detail = self._redact(_detail(exc))
            if mode == "json_schema" and _NAMES_FORMAT.search(detail):
                # not worth a retry: the fallback to json_object follows at once
                return _BadRequest(f"HTTP {status}: {detail}", status, format_rejected=True)
            if status in (408, 429) or status >= 500:
                retry_after = parse_retry_after(exc.response.headers)
                return TransientError(
                    f"HTTP {status}: {detail}", status=status, retry_after_s=retry_after
                )
            return _BadRequest(f"HTTP {status}: {detail}", status)
        return _BadRequest(self._redact(str(exc)), None)

    # -- mapping ----------------------------------------------------------------------

    def _to_kwargs(self, request: ChatRequest, model: str, mode: FormatMode) -> dict[str, Any]:
        messages = [_message_dict(m) for m in request.messages]
        kwargs: dict[str, Any] = {"model": model, "messages": messages}
        fmt = request.response_format
        if fmt is not None and mode == "json_schema":
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": fmt.name, "schema": fmt.json_schema, "strict": fmt.strict},
            }
        elif fmt is not None and mode == "json_object":
            kwargs["response_format"] = {"type": "json_object", "schema": fmt.json_schema}
            kwargs["messages"] = _with_schema_instruction(messages, fmt.json_schema)
        if request.tools:
            kwargs["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                }
                for t in request.tools
            ]
        if request.temperature is not None:
            kwargs["temperature"] = request.temperature
        if request.max_tokens is not None:
            kwargs["max_tokens"] = request.max_tokens
        return kwargs

    def _to_response(
        self, completion: ChatCompletion, model: str, latency_ms: float, agent: str | None
    ) -> tuple[ChatResponse, bool]:
        if not completion.choices:
            raise ModelError(f"model {model!r} returned no choices", agent=agent)
        choice = completion.choices[0]
        msg = choice.message
        # a model (or a proxy) that echoes the key must not get it stored or shown
        hide = self._hide_key
        tool_calls = [
            ToolCall(id=tc.id, name=tc.function.name, arguments=hide(tc.function.arguments or ""))
            for tc in (msg.tool_calls or [])
            if getattr(tc, "type", "function") == "function"
        ]
        refusal = hide(getattr(msg, "refusal", None) or "") or None
        finish: FinishReason = (
            "refusal" if refusal else _FINISH.get(str(choice.finish_reason), "other")
        )
        served = hide(completion.model or model)
        u = completion.usage
        prompt = u.prompt_tokens if u else 0
        completion_tokens = u.completion_tokens if u else 0
        cost = self.prices.cost(served, prompt, completion_tokens)
        usage = Usage(
            calls=1,
            prompt_tokens=prompt,
            completion_tokens=completion_tokens,
            total_tokens=(u.total_tokens if u else 0) or prompt + completion_tokens,
            latency_ms=latency_ms,
            cost_usd=cost.usd,
        )
        response = ChatResponse(
            message=ChatMessage(
                role="assistant",
                content=None if msg.content is None else hide(msg.content),
                tool_calls=tool_calls,
            ),
            finish_reason=finish,
            refusal=refusal,
            model=served,
            usage=usage,
        )
        return response, cost.priced

    # -- errors and records -----------------------------------------------------------

    def _model_error(
        self, exc: _BadRequest | RetriesExhausted, request: ChatRequest, model: str
    ) -> ModelError:
        if isinstance(exc, RetriesExhausted):
            status = exc.last.status
            text = f"model {model!r} failed after {exc.attempts} attempts: {exc.last.message}"
        else:
            status = exc.status
            text = f"model {model!r} request failed: {exc.message}"
            if status in (401, 403):
                text += " (check NEXUS_LLM_API_KEY / OPENAI_API_KEY)"
            elif status == 404:
                text += " (check the model id and NEXUS_LLM_BASE_URL)"
        return ModelError(self._redact(text), agent=request.agent, status=status)

    def _hide_key(self, text: str) -> str:
        """``text`` with the configured key replaced (answers: nothing else is touched)."""
        key = self._api_key.get_secret_value()
        return text.replace(key, REDACTED) if len(key) >= 4 and key in text else text

    def _redact(self, text: str) -> str:
        """Error text without the key, a bearer token or anything shaped like a key."""
        text = _BEARER.sub(rf"\1{REDACTED}", self._hide_key(text))
        return _KEY_LIKE.sub(REDACTED, text)

    async def _record(self, record: CallRecord) -> None:
        tracing.model_attempts(record.attempts, record.http_status, self._base_url)
        if self.on_call is None:
            return
        result = self.on_call(record)
        if inspect.isawaitable(result):
            await result


def _message_dict(message: ChatMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.role == "assistant" and message.tool_calls:
        out["tool_calls"] = [
            {
                "id": tc.id,
                "type": "function",
                "function": {"name": tc.name, "arguments": tc.arguments},
            }
            for tc in message.tool_calls
        ]
    if message.role == "tool":
        out["tool_call_id"] = message.tool_call_id
        out["content"] = message.content or ""
    if message.name and message.role in ("system", "user"):
        out["name"] = message.name
    return out


def _with_schema_instruction(
    messages: list[dict[str, Any]], schema: dict[str, Any]
) -> list[dict[str, Any]]:
    instruction = (
        "Answer with one JSON object and nothing else. It must match this JSON schema:\n"
        + json.dumps(schema, separators=(",", ":"))
    )
    out = [dict(m) for m in messages]
    if out and out[0]["role"] == "system":
        out[0]["content"] = f"{out[0].get('content') or ''}\n\n{instruction}".strip()
    else:
        out.insert(0, {"role": "system", "content": instruction})
    return out


def _detail(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        message = inner.get("message") if isinstance(inner, dict) else None
        if isinstance(message, str) and message:
            return message
    text = getattr(exc, "message", None) or str(exc)
    return str(text)[:500]


def _safe_url(url: str | None) -> str | None:
    return _URL_USERINFO.sub("//", url) if url else url


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def _cause_name(exc: BaseException) -> str:
    """A short, secret-free name for what broke a connection (refused, reset, DNS ...)."""
    cause = exc.__cause__ or exc.__context__
    while cause is not None and (cause.__cause__ or cause.__context__) is not None:
        if isinstance(cause, ConnectionError | OSError):
            break
        cause = cause.__cause__ or cause.__context__
    return type(cause).__name__ if cause is not None else "no response"


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default verifying TLS context (certifi, or SSL_CERT_FILE / SSL_CERT_DIR), made
    once per process: loading the CA bundle costs ~15 ms for every new client otherwise."""
    return httpx.create_ssl_context()
