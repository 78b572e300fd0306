"""Model retries are logged at INFO with their cause, attempt and wait; the last failure
is not announced as a retry."""

from __future__ import annotations

import logging

import pytest

from nexus_agents.llm.retry import RetriesExhausted, RetryPolicy, TransientError


async def _no_sleep(_seconds: float) -> None:
    return None


async def test_each_retry_is_one_info_line_with_its_cause(caplog: pytest.LogCaptureFixture) -> None:
    calls = {"n": 0}

    async def flaky() -> str:
        calls["n"] += 1
        if calls["n"] < 3:
            raise TransientError("server error 500", status=500, retry_after_s=0.25)
        return "ok"

    policy = RetryPolicy(max_attempts=4, sleep=_no_sleep)
    with caplog.at_level(logging.INFO, logger="nexus_agents.llm.retry"):
        result, attempts = await policy.run(flaky)
    assert (result, attempts) == ("ok", 3)
    retries = [r for r in caplog.records if getattr(r, "event", None) == "model_retry"]
    assert [r.levelno for r in retries] == [logging.INFO, logging.INFO]
    assert [getattr(r, "attempt", None) for r in retries] == [1, 2]
    assert all(getattr(r, "cause", None) == "server error 500" for r in retries)
    assert all(getattr(r, "http_status", None) == 500 for r in retries)
    assert "retrying in 0.25s" in retries[0].getMessage()


async def test_giving_up_logs_no_retry_after_the_last_attempt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def down() -> str:
        raise TransientError("connection reset")

    policy = RetryPolicy(max_attempts=3, sleep=_no_sleep, jitter=0)
    with caplog.at_level(logging.INFO, logger="nexus_agents.llm.retry"), pytest.raises(
        RetriesExhausted
    ):
        await policy.run(down)
    retries = [r for r in caplog.records if getattr(r, "event", None) == "model_retry"]
    assert [getattr(r, "attempt", None) for r in retries] == [1, 2]
