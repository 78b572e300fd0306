"""Retry policy for model calls: which failures are worth another attempt, and how long to wait.

The policy knows nothing about HTTP clients: an implementation raises ``TransientError``
for a failure worth retrying (rate limit, server error, timeout, lost connection) and
any other exception for one that is not. Waits grow exponentially with jitter, a
server's ``Retry-After`` wins when given, and both are capped by ``backoff_max_s``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

import nexus_agents.tracing as tracing

T = TypeVar("T")
logger = logging.getLogger(__name__)

SleepFn = Callable[[float], Awaitable[None]]


class TransientError(Exception):
    """A failure that another attempt may fix."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after_s = retry_after_s


class RetriesExhausted(Exception):
    """Every attempt failed with a transient error; ``last`` is the final one."""

    def __init__(self, last: TransientError, attempts: int) -> None:
        super().__init__(f"gave up after {attempts} attempts: {last.message}")
        self.last = last
        self.attempts = attempts


@dataclass
class RetryPolicy:
    """Bounded exponential backoff with jitter; ``sleep`` is injectable for tests."""

    max_attempts: int = 4
    backoff_base_s: float = 0.5
    backoff_max_s: float = 20.0
    jitter: float = 0.5
    sleep: SleepFn = asyncio.sleep
    rng: Callable[[], float] = field(default=random.random)

    def _log_retry(self, attempt: int, error: BaseException | None, wait_s: float) -> None:
        cause = error.message if isinstance(error, TransientError) else str(error)
        status = error.status if isinstance(error, TransientError) else None
        tracing.retry_event(attempt, self.max_attempts, wait_s, status, cause)
        logger.info(
            "model call attempt %d/%d failed (%s); retrying in %.2fs",
            attempt,
            self.max_attempts,
            cause,
            wait_s,
            extra={
                "event": "model_retry",
                "attempt": attempt,
                "max_attempts": self.max_attempts,
                "cause": cause,
                "http_status": status,
                "wait_s": round(wait_s, 3),
            },
        )

    def wait_before(self, attempt: int, error: BaseException | None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if isinstance(error, TransientError) and error.retry_after_s is not None:
            return min(max(error.retry_after_s, 0.0), self.backoff_max_s)
        backoff = self.backoff_base_s * (2 ** (attempt - 1))
        backoff += backoff * self.jitter * self.rng()
        return min(backoff, self.backoff_max_s)

    async def run(self, fn: Callable[[], Awaitable[T]]) -> tuple[T, int]:
        """Run ``fn`` until it succeeds; return its result and the number of attempts.

        Raises ``RetriesExhausted`` when every attempt failed transiently; any other
        exception propagates at once.
        """

        try:  # most calls succeed at once: no retry machinery for them
            return await fn(), 1
        except TransientError as exc:
            if self.max_attempts <= 1:
                raise RetriesExhausted(exc, 1) from exc
            first_wait = self.wait_before(1, exc)
            self._log_retry(1, exc, first_wait)
            await self.sleep(first_wait)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            return self.wait_before(state.attempt_number + 1, error)

        def before_sleep(state: RetryCallState) -> None:  # only when another attempt follows
            error = state.outcome.exception() if state.outcome else None
            seconds = state.next_action.sleep if state.next_action else 0.0
            self._log_retry(state.attempt_number + 1, error, seconds)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts - 1),
            wait=wait,
            retry=retry_if_exception_type(TransientError),
            before_sleep=before_sleep,
            sleep=self.sleep,
            reraise=True,
        )
        attempts = 1
        try:
            async for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number + 1
                    result = await fn()
        except TransientError as exc:
            raise RetriesExhausted(exc, attempts) from exc
        return result, attempts


def parse_retry_after(headers: dict[str, str] | object) -> float | None:
    """Seconds from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    millis = get("retry-after-ms")
    if millis is not None:
        try:
            return float(millis) / 1000.0
        except ValueError:
            pass
    value = get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)
