"""The lease watch of a run ends with the run, even when the cancel meant to end it is lost.

On Python 3.11 a cancellation that arrives while a store call times out can be swallowed (the
call raises its timeout instead). Seen under load with MongoDB paused: the watch of a task that
had been handed back went on renewing its lease, so the reconciler never recovered the task.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace
from typing import Any

from pymongo.errors import NetworkTimeout

from app.dispatch.processing import Stop, _watch
from app.store.tasks import Heartbeat


class StalledStore:
    """A heartbeat that answers only with a timeout, and turns a cancel into one too."""

    def __init__(self) -> None:
        self.beats = 0
        self.inside = asyncio.Event()
        self.swallow = True  # off: a cancel is a cancel again (the test's own clean-up)

    async def heartbeat(self, task_id: str, attempt: int, lease_seconds: float) -> Heartbeat:
        self.beats += 1
        self.inside.set()
        if not self.swallow:
            raise asyncio.CancelledError
        with contextlib.suppress(asyncio.CancelledError):  # swallowed, as the timed-out call did
            await asyncio.sleep(0.05)
        self.inside.clear()
        raise NetworkTimeout("timed out")


def deps_with(tasks: Any) -> Any:
    worker = SimpleNamespace(lease_renew_seconds=0.01, lease_seconds=1.0)
    return SimpleNamespace(
        settings=SimpleNamespace(worker=worker), store=SimpleNamespace(tasks=tasks)
    )


async def test_the_watch_ends_when_its_run_is_over_though_its_cancel_was_lost() -> None:
    store = StalledStore()
    task = SimpleNamespace(task_id="t-1", attempt=1)
    run: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    watch = asyncio.create_task(_watch(deps_with(store), task, run))
    try:
        # No cancel needed (one can be lost, see above): the run's end is enough.
        await asyncio.wait_for(store.inside.wait(), timeout=5)
        run.set_result(None)
        await asyncio.wait({watch}, timeout=5)
        assert watch.done(), "the watch outlived its run"
        assert watch.result() is None
        beats = store.beats
        await asyncio.sleep(0.2)
        assert store.beats == beats, "no lease renewal after the run ended"
    finally:
        store.swallow = False
        watch.cancel()
        await asyncio.wait({watch}, timeout=5)


async def test_a_cancel_of_the_watch_never_reaches_its_store_call() -> None:
    """On Python 3.11 a cancel inside PyMongo's server selection can leave its topology lock
    held, and every later call of the client hangs: the watch is cancelled when its run ends,
    often in the middle of a heartbeat, and the heartbeat must run to its own end."""

    class SlowBeat:
        def __init__(self) -> None:
            self.inside = asyncio.Event()
            self.cancelled = False
            self.finished = asyncio.Event()

        async def heartbeat(self, task_id: str, attempt: int, lease_seconds: float) -> Heartbeat:
            self.inside.set()
            try:
                await asyncio.sleep(0.1)
            except asyncio.CancelledError:
                self.cancelled = True
                raise
            self.finished.set()
            return Heartbeat(owned=True, cancel_requested=False)

    store = SlowBeat()
    task = SimpleNamespace(task_id="t-1", attempt=1)
    run = asyncio.create_task(asyncio.sleep(30))
    watch = asyncio.create_task(_watch(deps_with(store), task, run))
    await asyncio.wait_for(store.inside.wait(), timeout=5)
    watch.cancel()
    await asyncio.wait({watch}, timeout=1)

    assert watch.cancelled(), "the watch itself stops at once"
    await asyncio.wait_for(store.finished.wait(), timeout=5)
    assert not store.cancelled, "the store call was interrupted"
    run.cancel()


async def test_the_watch_stops_the_run_when_the_lease_is_lost() -> None:
    class LostLease:
        async def heartbeat(self, task_id: str, attempt: int, lease_seconds: float) -> Heartbeat:
            return Heartbeat(owned=False, cancel_requested=False)

    task = SimpleNamespace(task_id="t-1", attempt=1)
    run = asyncio.create_task(asyncio.sleep(30))
    watch = asyncio.create_task(_watch(deps_with(LostLease()), task, run))
    assert await asyncio.wait_for(watch, timeout=5) is Stop.LEASE_LOST
    await asyncio.sleep(0)
    assert run.cancelled()
