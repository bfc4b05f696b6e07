"""Prometheus metric definitions, one module for the whole service."""

from __future__ import annotations

from prometheus_client import Counter

RECOVERED_TASKS = Counter(
    "orchestrator_recovered_tasks_total",
    "Tasks the reconciler recovered, by kind: redispatched (message lost), reclaimed (lease "
    "expired), failed_max_attempts.",
    ["kind"],
)
