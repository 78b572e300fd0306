"""Deliver actions to webhooks (``[integrations]`` in ``nexus.toml``).

Each action kind with a target is POSTed to its URL; a kind without one stays file-only.
The workspace record stays the source of truth of what was executed: after a successful
delivery the action is also executed by the ``WorkspaceIntegration`` (``actions.jsonl``, a
deploy marks its backlog item shipped, ...). A failed delivery writes nothing there.

The request
    ``POST`` with a JSON body (keys sorted, compact; the same bytes on every attempt)::

        {"action": {"kind": ..., "payload": ...}, "facts": {...},
         "idempotency_key": "<run>:<step>", "run_id": ..., "step_id": ...}

    ``facts`` are the code-computed facts of the artifact the action carries (``{}`` when
    none). A ``slack`` target gets a Slack message instead (``nexus_agents.actions.slack``).

Headers
    ``Idempotency-Key``: the action's key, the same on every attempt, retry and resume.
    ``X-Nexus-Timestamp``: Unix seconds when this attempt was signed.
    ``X-Nexus-Signature``: ``sha256=`` + hex HMAC-SHA256, keyed with the secret from the
    environment variable ``secret_env`` names, over ``<timestamp>.<raw body bytes>``.
    A receiver recomputes it over the raw body it received, compares in constant time,
    and rejects a timestamp more than a few minutes old (a replayed request), then
    de-duplicates on ``Idempotency-Key``.

Retries
    A timeout, a connection error, HTTP 429 and 5xx are retried with exponential backoff
    (tenacity; ``max_attempts``, ``backoff_base_s``, ``backoff_max_s``); any other 4xx (or a
    redirect) fails at once. An action that still fails is recorded ``failed`` in the
    delivery ledger (``nexus_agents.actions.ledger``) with its attempts and last error and
    returned as ``ok=False``; ``nexus actions retry`` sends it again with the same key.

Once-only
    A ``delivered`` line is flushed to the ledger before this integration returns (so
    before the run records its step); an action whose key is delivered is never sent
    again. The one gap left: a process killed after the receiver answered but before that
    line is written sends again on resume, with the same ``Idempotency-Key``.

Webhook URLs and the secret never appear in logs, errors, the ledger or results: a URL is
shown as ``scheme://host/…``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from nexus_agents._version import __version__
from nexus_agents.actions.base import ACTION_KINDS, ActionRequest, ActionResult, dispatch
from nexus_agents.actions.ledger import Delivery, DeliveryLedger, now_iso, redact_url
from nexus_agents.actions.slack import slack_message
from nexus_agents.actions.workspace import WorkspaceIntegration
from nexus_agents.config import IntegrationsConfig, WebhookTarget
from nexus_agents.untrusted_text import cut, normalise

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "WebhookIntegration", "sign", "webhook_body"]

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Nexus-Signature"
TIMESTAMP_HEADER = "X-Nexus-Timestamp"
ERROR_CHARS = 300


def webhook_body(request: ActionRequest) -> bytes:
    """The JSON body of a (non-Slack) delivery: the same bytes for the same action."""
    artifact = request.payload.get("artifact")
    facts = artifact.get("facts") if isinstance(artifact, dict) else None
    doc = {
        "action": {"kind": request.kind, "payload": request.payload},
        "facts": facts if isinstance(facts, dict) else {},
        "idempotency_key": request.idempotency_key,
        "run_id": request.run_id,
        "step_id": request.step_id,
    }
    return _json(doc)


def _json(doc: Any) -> bytes:
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return text.encode("utf-8")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Nexus-Signature`` value: ``sha256=<hex HMAC of "<timestamp>." + body>``."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class _Retryable(Exception):
    """A failure worth another attempt (timeout, connection, 429, 5xx)."""


class _Rejected(Exception):
    """A final answer from the receiver (4xx other than 429, or a redirect)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class _Secrets(logging.Filter):
    """Keeps webhook URLs out of the log lines of httpx (it logs every request's URL)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.urls and isinstance(record.args, tuple):
            record.args = tuple(
                redact_url(str(a)) if str(a) in self.urls else a for a in record.args
            )
        return True


_LOG_FILTER = _Secrets()
logging.getLogger("httpx").addFilter(_LOG_FILTER)


class WebhookIntegration:
    """Sends actions to the webhooks of ``settings``; records them in ``workspace``."""

    def __init__(
        self,
        workspace: str | Path,
        settings: IntegrationsConfig,
        *,
        env: Mapping[str, str] | None = None,
        local: WorkspaceIntegration | None = None,
    ) -> None:
        self.settings = settings
        self.env = os.environ if env is None else env
        self.local = local or WorkspaceIntegration(workspace)
        self.ledger = DeliveryLedger(workspace)
        self._locks: dict[str, asyncio.Lock] = {}
        self._secrets = [s for s in (self._url(t) for t in self._targets()) if s]
        _LOG_FILTER.urls.update(self._secrets)

    async def deploy(self, request: ActionRequest) -> ActionResult:
        return await self.deliver(request)

    async def publish(self, request: ActionRequest) -> ActionResult:
        return await self.deliver(request)

    async def status_post(self, request: ActionRequest) -> ActionResult:
        return await self.deliver(request)

    async def backlog_append(self, request: ActionRequest) -> ActionResult:
        return await self.deliver(request)

    async def notify(self, request: ActionRequest) -> ActionResult:
        return await self.deliver(request)

    async def deliver(self, request: ActionRequest) -> ActionResult:
        """Send ``request`` unless its key was delivered; then record it in the workspace."""
        target = self.settings.target(request.kind)
        if target is None:
            return await dispatch(self.local, request)
        key = request.idempotency_key
        async with self._locks.setdefault(key, asyncio.Lock()):
            done = self.local.recorded(key)
            last = self.ledger.get(key)
            if done is not None:
                return _with_delivery(done, last)
            if last is None or last.status != "delivered":
                last = await self._send(request, target, last.attempts if last else 0)
                if last.status != "delivered":
                    return ActionResult(
                        ok=False,
                        detail=f"delivery to {last.target} failed: {last.last_error}",
                        data={"delivery": last.summary()},
                    )
            return _with_delivery(await dispatch(self.local, request), last)

    async def retry(self, run_id: str | None = None) -> list[tuple[Delivery, ActionResult]]:
        """Send every failed action again (of runs whose id starts with ``run_id``), with
        its idempotency key; also finish the workspace record of an action delivered just
        before its process died. Pending ones are left to their run (resume it)."""
        executed = set(self.local.executed_keys())
        outcomes: list[tuple[Delivery, ActionResult]] = []
        for state in self.ledger.latest().values():
            if state.key in executed or state.status == "pending":
                continue
            if run_id and not state.run_id.startswith(run_id):
                continue
            outcomes.append((state, await self.deliver(state.request())))
        return outcomes

    # ------------------------------------------------------------------ internals

    def _targets(self) -> list[WebhookTarget]:
        found = (self.settings.target(kind) for kind in ACTION_KINDS)
        return [t for t in found if t is not None]

    def _url(self, target: WebhookTarget) -> str | None:
        if target.url is not None:
            return target.url.get_secret_value()
        return self.env.get(target.url_env or "") or None

    def _secret(self, target: WebhookTarget) -> tuple[str | None, str | None]:
        """(the signing secret, the variable it comes from)."""
        name = target.secret_env or self.settings.secret_env
        return (self.env.get(name) or None if name else None), name

    def _scrub(self, text: str) -> str:
        for secret in [*self._secrets, *(s for t in self._targets() if (s := self._secret(t)[0]))]:
            text = text.replace(secret, redact_url(secret) if "://" in secret else "[secret]")
        return cut(normalise(text, single_line=True), ERROR_CHARS)

    async def _send(self, request: ActionRequest, target: WebhookTarget, before: int) -> Delivery:
        url = self._url(target)
        shown = redact_url(url) if url else f"${target.url_env}"
        record = Delivery(
            key=request.idempotency_key,
            run_id=request.run_id,
            step_id=request.step_id,
            kind=request.kind,
            status="pending",
            target=shown,
            attempts=before,
            payload=request.payload,
        )
        secret, secret_name = self._secret(target)
        problem = None
        if url is None:
            problem = f"the webhook URL variable {target.url_env} is not set"
        elif target.flavour == "webhook" and secret is None:
            problem = f"the signing secret variable {secret_name} is not set"
        if problem is not None:
            return self._record(record, "failed", error=problem)
        assert url is not None
        self.ledger.append(record)
        body = _json(slack_message(request)) if target.flavour == "slack" else webhook_body(request)
        attempts, status = 0, None
        try:
            async with httpx.AsyncClient(timeout=self.settings.timeout_s, follow_redirects=False) as client:
                retrying = AsyncRetrying(
                    stop=stop_after_attempt(self.settings.max_attempts),
                    wait=wait_exponential(
                        multiplier=self.settings.backoff_base_s, max=self.settings.backoff_max_s
                    ),
                    retry=retry_if_exception_type(_Retryable),
                    reraise=True,
                )
                async for attempt in retrying:
                    with attempt:
                        attempts += 1
                        status = await self._post(client, url, body, request, secret)
        except (_Retryable, _Rejected) as exc:
            tries = f" (after {attempts} attempt{'s' if attempts != 1 else ''})"
            status = exc.status if isinstance(exc, _Rejected) else status
            record = record.model_copy(update={"attempts": before + attempts, "http_status": status})
            error = self._scrub(str(exc)) + tries
            logger.warning("action %s: delivery to %s failed: %s", record.key, shown, error)
            return self._record(record, "failed", error=error)
        record = record.model_copy(update={"attempts": before + attempts, "http_status": status})
        return self._record(record, "delivered")

    async def _post(
        self,
        client: httpx.AsyncClient,
        url: str,
        body: bytes,
        request: ActionRequest,
        secret: str | None,
    ) -> int:
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"nexus-agents/{__version__}",
            "Idempotency-Key": request.idempotency_key,
            TIMESTAMP_HEADER: timestamp,
        }
        if secret is not None:
            headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
        try:
            response = await client.post(url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise _Retryable(f"{type(exc).__name__}: {exc}") from None
        code = response.status_code
        if 200 <= code < 300:
            return code
        answer = f"HTTP {code} {response.reason_phrase}".strip()
        snippet = normalise(cut(response.text, 200), single_line=True) if response.content else ""
        if snippet:
            answer += f": {snippet}"
        if code == 429 or code >= 500:
            raise _Retryable(answer)
        raise _Rejected(answer, code)

    def _record(self, record: Delivery, status: str, *, error: str | None = None) -> Delivery:
        final = record.model_copy(update={"status": status, "last_error": error, "at": now_iso()})
        self.ledger.append(final)
        return final


def _with_delivery(result: ActionResult, delivery: Delivery | None) -> ActionResult:
    """The workspace's result of a delivered action, with where and how it was delivered."""
    if delivery is None or delivery.status != "delivered":
        return result  # executed before its kind had a webhook
    detail = f"delivered to {delivery.target}; {result.detail}"
    return result.model_copy(update={"detail": detail, "data": {**result.data, "delivery": delivery.summary()}})
