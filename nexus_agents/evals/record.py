"""Record live model traffic into a cassette, scrubbed before anything touches disk.

``Recorder.http_client()`` gives an ``httpx.AsyncClient`` whose transport forwards every
request to the real endpoint and keeps a copy of it:

- no request header is kept except the agent name (``X-Nexus-Agent``), so
  ``Authorization`` / ``api-key`` never reach the cassette;
- response headers are kept only when allow-listed (content-type, retry-after);
- every string in the parsed bodies is scrubbed of the configured API key and of the
  secret patterns (defaults: ``sk-...`` keys and ``Bearer`` tokens, plus any given);
- ``save`` checks the final text once more and refuses to write if a secret is left.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from nexus_agents.evals.cassette import (
    RESPONSE_HEADERS,
    Cassette,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    dump_cassette,
    save_cassette,
)
from nexus_agents.exceptions import NexusError
from nexus_agents.llm.openai_model import AGENT_HEADER

REDACTED = "[redacted]"
DEFAULT_SECRET_PATTERNS: tuple[str, ...] = (
    r"\bsk-[A-Za-z0-9_\-]{8,}",
    r"(?i)\bbearer\s+[A-Za-z0-9._~+/=\-]{8,}",
)
_DROPPED_RESPONSE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class Scrubber:
    """Replaces secrets in text and in parsed JSON values."""

    def __init__(
        self, secrets: Iterable[str] = (), patterns: Iterable[str | re.Pattern[str]] = ()
    ) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        self.patterns = [re.compile(p) if isinstance(p, str) else p for p in patterns]

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, REDACTED)
        for pattern in self.patterns:
            value = pattern.sub(REDACTED, value)
        return value

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value

    def leaks(self, text: str) -> bool:
        return any(s in text for s in self.secrets) or any(p.search(text) for p in self.patterns)


class RecordingTransport(httpx.AsyncBaseTransport):
    """Forwards to ``inner`` and hands each finished exchange to the recorder."""

    def __init__(self, recorder: Recorder, inner: httpx.AsyncBaseTransport) -> None:
        self._recorder = recorder
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        content = await request.aread()
        slot = self._recorder._reserve()
        response = await self._inner.handle_async_request(request)
        try:
            body = await response.aread()
        finally:
            await response.aclose()
        self._recorder._fill(slot, request, content, response, body)
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in _DROPPED_RESPONSE_HEADERS
        ]
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=body,
            request=request,
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


class Recorder:
    """Collects scrubbed interactions for ``base_url``; ``save`` writes the cassette."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | SecretStr | None = None,
        secret_patterns: Iterable[str | re.Pattern[str]] = (),
    ) -> None:
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        self.base_url = base_url.rstrip("/")
        self.scrubber = Scrubber([key] if key else [], [*DEFAULT_SECRET_PATTERNS, *secret_patterns])
        self._slots: list[Interaction | None] = []

    def transport(self, inner: httpx.AsyncBaseTransport | None = None) -> RecordingTransport:
        return RecordingTransport(self, inner or httpx.AsyncHTTPTransport())

    def http_client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport(), **kwargs)

    @property
    def interactions(self) -> list[Interaction]:
        return [i for i in self._slots if i is not None]

    def cassette(self) -> Cassette:
        return Cassette(interactions=self.interactions)

    def save(self, path: str | Path) -> Path:
        cassette = self.cassette()
        target = Path(path)
        if self.scrubber.leaks(dump_cassette(cassette, target.suffix)):
            raise NexusError(f"{target}: not written, a secret survived scrubbing")
        return save_cassette(cassette, target)

    # -- used by the transport ----------------------------------------------------------

    def _reserve(self) -> int:
        # Slots keep the order in which requests were sent, even when answers interleave.
        self._slots.append(None)
        return len(self._slots) - 1

    def _fill(
        self,
        slot: int,
        request: httpx.Request,
        content: bytes,
        response: httpx.Response,
        body: bytes,
    ) -> None:
        agent = request.headers.get(AGENT_HEADER) or None
        headers = {
            k.lower(): self.scrubber.text(v)
            for k, v in response.headers.items()
            if k.lower() in RESPONSE_HEADERS
        }
        self._slots[slot] = Interaction(
            agent=self.scrubber.text(agent) if agent else None,
            request=RecordedRequest(
                method=request.method,
                path=self._path(request.url),
                body=self.scrubber.value(_parse(content)),
            ),
            response=RecordedResponse(
                status=response.status_code,
                headers=headers,
                body=self.scrubber.value(_parse(body)),
            ),
        )

    def _path(self, url: httpx.URL) -> str:
        base_path = httpx.URL(self.base_url).path.rstrip("/")
        path = url.path
        if base_path and path.startswith(base_path):
            path = path[len(base_path) :]
        return self.scrubber.text(path or "/")


def _parse(content: bytes) -> Any:
    if not content:
        return None
    text = content.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text
