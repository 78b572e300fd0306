"""Independent parts of a facts build run at the same time, with the caller's context."""

from __future__ import annotations

import contextvars
import threading

import pytest

from nexus_agents.facts.concurrent import together

WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


def test_results_come_back_in_order_and_parts_overlap() -> None:
    both_running = threading.Barrier(2, timeout=5)

    def part(value: int) -> int:
        both_running.wait()  # only passes when two parts run at the same time
        return value

    assert together(lambda: part(1), lambda: part(2)) == [1, 2]


def test_parts_see_the_callers_context() -> None:
    token = WHO.set("builder")
    try:
        assert together(WHO.get, WHO.get, WHO.get) == ["builder"] * 3
    finally:
        WHO.reset(token)


def test_the_first_error_is_raised_after_every_part_finished() -> None:
    finished: list[str] = []
    release = threading.Event()

    def slow() -> str:
        assert release.wait(5)
        finished.append("slow")
        return "slow"

    def fail() -> str:
        release.set()
        raise ValueError("first")

    def also_fail() -> str:
        raise KeyError("second")

    with pytest.raises(ValueError, match="first"):
        together(fail, slow, also_fail)
    assert finished == ["slow"]
