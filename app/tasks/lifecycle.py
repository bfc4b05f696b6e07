"""The task lifecycle: every status change of a task, and what goes with it.

A change is one compare-and-set on the task's current status (`TaskRepository.find_and_update`)
that carries its events (the status event and the caller's), so no reader sees a status without
them; then the per-day counters and the Prometheus metrics follow it. The API (submit, cancel,
retry, decisions), the worker (claim, route, pause, finish) and the reconciler (reclaim, fail
expired) all change tasks through here.
"""

from __future__ import annotations

from app.tasks.asked import AskedTransitions
from app.tasks.held import HeldTransitions


class TaskLifecycle(HeldTransitions, AskedTransitions):
    """Every status change of tasks, with its events, counters and metrics: build one with
    `TaskLifecycle.of(store)`."""
