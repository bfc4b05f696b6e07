"""A process's background jobs end when asked to, and a stop ends even when one does not.

A cancel is not how they are stopped: on Python 3.11 one that lands inside PyMongo's server
selection can be swallowed or turned into RuntimeError, and the job goes on (seen as an API
whose reconciler outlived its shutdown and held the test run open at exit).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from app.dispatch.background import BackgroundJobs, bounded, stopped_within, until_stopped


class StoreCall:
    """A call that takes a while and records whether a cancel reached it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.inside = asyncio.Event()
        self.finished = 0
        self.cancelled = 0

    async def __call__(self) -> None:
        self.inside.set()
        try:
            await asyncio.sleep(self.seconds)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        self.finished += 1


async def test_a_stop_ends_the_job_at_once_and_leaves_its_store_call_to_end_uncancelled() -> None:
    call = StoreCall(0.5)

    async def job(stopping: asyncio.Event) -> None:
        while await until_stopped(stopping, call()) is None and not stopping.is_set():
            await stopped_within(stopping, 3600)

    jobs = BackgroundJobs()
    jobs.start("job", job)
    await asyncio.wait_for(call.inside.wait(), 5)
    started = time.monotonic()
    await jobs.stop(grace=30)
    took = time.monotonic() - started
    assert took < 0.4, f"the stop took {took:.1f}s: it waited for the call"
    assert (call.finished, call.cancelled) == (0, 0)
    await asyncio.sleep(0.7)
    assert (call.finished, call.cancelled) == (1, 0), "the call was not left to end on its own"


async def test_until_stopped_answers_what_the_call_answers_or_raises() -> None:
    stopping = asyncio.Event()

    async def answer() -> int:
        return 42

    async def fail() -> int:
        raise ValueError("no")

    assert await until_stopped(stopping, answer()) == 42
    with pytest.raises(ValueError, match="no"):
        await until_stopped(stopping, fail())


async def test_a_stop_ends_within_its_grace_though_a_job_swallows_every_cancel() -> None:
    released = asyncio.Event()

    async def deaf(stopping: asyncio.Event) -> None:
        while not released.is_set():  # neither looks at `stopping` nor lets a cancel through
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0.01)

    jobs = BackgroundJobs()
    jobs.start("deaf", deaf)
    started = time.monotonic()
    await jobs.stop(grace=0.3)
    took = time.monotonic() - started
    assert 0.3 <= took < 5
    released.set()  # the test's own clean-up


async def test_a_bounded_step_that_hangs_is_left_behind_after_its_bound() -> None:
    hung = StoreCall(3600)
    started = time.monotonic()
    await bounded(hung(), 0.2, "close")
    took = time.monotonic() - started
    assert 0.2 <= took < 5
    await asyncio.sleep(0)  # the cancel it was sent reaches it
    assert hung.cancelled == 1


async def test_stopped_within_answers_at_once_when_stopping_is_set() -> None:
    stopping = asyncio.Event()
    assert await stopped_within(stopping, 0.01) is False
    stopping.set()
    started = time.monotonic()
    assert await stopped_within(stopping, 3600) is True
    assert time.monotonic() - started < 1
