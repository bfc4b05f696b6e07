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

from app.dispatch.background import BackgroundJobs, Stopping, bounded


class StoreCall:
    """A call that lasts until the test releases it, and records whether a cancel reached it."""

    def __init__(self) -> None:
        self.inside = asyncio.Event()
        self.release = asyncio.Event()
        self.finished = asyncio.Event()
        self.cancelled = asyncio.Event()

    async def __call__(self) -> None:
        self.inside.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        self.finished.set()


async def test_a_stop_ends_the_job_at_once_and_leaves_its_store_call_to_end_uncancelled() -> None:
    call = StoreCall()
    ended = asyncio.Event()

    async def job(stopping: Stopping) -> None:
        while not stopping.is_set():
            await stopping.unless(call())
        ended.set()

    jobs = BackgroundJobs()
    jobs.start("job", job)
    await asyncio.wait_for(call.inside.wait(), 5)
    await asyncio.wait_for(jobs.stop(grace=30), 5)  # the call has not ended: no wait for it
    assert ended.is_set()
    assert not call.finished.is_set()
    assert not call.cancelled.is_set()
    assert len(jobs.stopping.left_behind) == 1
    call.release.set()
    await asyncio.wait_for(jobs.drain(seconds=30), 5)
    assert call.finished.is_set()
    assert not call.cancelled.is_set()
    assert jobs.stopping.left_behind == set()


async def test_unless_answers_what_the_call_answers_or_raises() -> None:
    stopping = Stopping()

    async def answer() -> int:
        return 42

    async def fail() -> int:
        raise ValueError("no")

    assert await stopping.unless(answer()) == 42
    with pytest.raises(ValueError, match="no"):
        await stopping.unless(fail())
    assert stopping.left_behind == set()


async def test_asked_to_stop_already_unless_makes_no_call() -> None:
    stopping = Stopping()
    stopping.set()
    call = StoreCall()
    assert await stopping.unless(call()) is None
    assert not call.inside.is_set()
    assert stopping.left_behind == set()


async def test_a_cancelled_caller_leaves_its_call_running_and_tracked() -> None:
    stopping, call = Stopping(), StoreCall()
    caller = asyncio.create_task(stopping.unless(call()))
    await asyncio.wait_for(call.inside.wait(), 5)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert not call.cancelled.is_set()
    [left] = stopping.left_behind
    call.release.set()
    # Done callbacks run in the order they were added: the set forgets it before this wakes.
    await asyncio.wait({left}, timeout=5)
    assert call.finished.is_set()
    assert stopping.left_behind == set()


async def test_a_stop_ends_within_its_grace_though_a_job_swallows_every_cancel() -> None:
    released = asyncio.Event()

    async def deaf(stopping: Stopping) -> None:
        while not released.is_set():  # neither asks `stopping` nor lets a cancel through
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0.01)

    jobs = BackgroundJobs()
    jobs.start("deaf", deaf)
    try:
        started = time.monotonic()
        await jobs.stop(grace=0.3)
        took = time.monotonic() - started
        # The grace, then at most AFTER_CANCEL_SECONDS (1 s) for the cancelled job.
        assert 0.3 <= took < 5
    finally:
        released.set()  # the test's own clean-up


async def test_a_bounded_step_that_hangs_is_left_behind_after_its_bound() -> None:
    hung = StoreCall()
    started = time.monotonic()
    await bounded(hung(), 0.2, "close")
    took = time.monotonic() - started
    assert 0.2 <= took < 5
    await asyncio.wait_for(hung.cancelled.wait(), 5)


async def test_within_answers_at_once_when_a_stop_is_asked() -> None:
    stopping = Stopping()
    assert await stopping.within(0.01) is False
    stopping.set()
    await asyncio.wait_for(stopping.within(3600), 1)
    assert stopping.is_set()
