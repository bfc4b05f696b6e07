"""Count every MongoDB command the service sends (PyMongo command monitoring).

The counts per command and collection are Prometheus metrics, so what a task costs in store
round trips is measured rather than guessed; the time of the last answered command tells a
watchdog whether the store is making progress.
"""

from __future__ import annotations

import time
from typing import Any

from pymongo import monitoring

from app.observability.metrics import MONGO_COMMAND_DURATION, MONGO_COMMAND_FAILURES, MONGO_COMMANDS


def _collection(name: str, command: Any) -> str:
    """The collection a command targets ("" for server commands such as ping)."""
    target = command.get(name)
    if name == "getMore":
        target = command.get("collection")
    return target if isinstance(target, str) else ""


class CommandMetrics(monitoring.CommandListener):
    """Counts commands by name and collection; remembers when the last one was answered."""

    def __init__(self) -> None:
        self._targets: dict[tuple[int, Any], tuple[str, str]] = {}
        self.last_success = time.monotonic()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        key = (event.request_id, event.connection_id)
        self._targets[key] = (name, _collection(name, event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        _, collection = self._targets.pop((event.request_id, event.connection_id), ("", ""))
        MONGO_COMMANDS.labels(event.command_name, collection).inc()
        MONGO_COMMAND_DURATION.labels(event.command_name).observe(event.duration_micros / 1e6)
        self.last_success = time.monotonic()

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        _, collection = self._targets.pop((event.request_id, event.connection_id), ("", ""))
        MONGO_COMMAND_FAILURES.labels(event.command_name, collection).inc()
