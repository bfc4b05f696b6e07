"""Prometheus metric definitions, one module for the whole service.

With PROMETHEUS_MULTIPROC_DIR set (before this module is imported) every process writes its
samples there and `/metrics` on the API aggregates them: the API and every worker process.
Label values are bounded: route templates, agent and tool names, configured models.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_TASK_SECONDS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800)

HTTP_REQUESTS = Counter(
    "orchestrator_http_requests_total",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "orchestrator_http_request_duration_seconds",
    "HTTP request latency by method and route template.",
    ["method", "route"],
    buckets=_SECONDS,
)
TASKS_SUBMITTED = Counter(
    "orchestrator_tasks_submitted_total",
    "Submissions answered 202, by outcome: accepted, dispatch_delayed, replayed.",
    ["outcome"],
)
TASKS_FINISHED = Counter(
    "orchestrator_tasks_finished_total",
    "Tasks that reached a final status, by status and selected agent (none if unrouted).",
    ["status", "agent"],
)
TASK_DURATION = Histogram(
    "orchestrator_task_duration_seconds",
    "Run time of the attempt that finished a task (claim to final status), by agent.",
    ["agent"],
    buckets=_TASK_SECONDS,
)
TASK_QUEUE_WAIT = Histogram(
    "orchestrator_task_queue_wait_seconds",
    "Time a task waited in the queue before the attempt that finished it was claimed.",
    ["agent"],
    buckets=_TASK_SECONDS,
)
AGENT_RUNS = Counter(
    "orchestrator_agent_runs_total",
    "Router and agent runs, by agent and outcome (completed, failed, cancelled).",
    ["agent", "status"],
)
TOOL_EXECUTIONS = Counter(
    "orchestrator_tool_executions_total",
    "Tool and LLM calls made during agent runs, by tool and status (ok, error).",
    ["tool", "status"],
)
TOOL_DURATION = Histogram(
    "orchestrator_tool_execution_duration_seconds",
    "Duration of tool and LLM calls, by tool.",
    ["tool"],
    buckets=_SECONDS,
)
LLM_REQUESTS = Counter(
    "orchestrator_llm_requests_total",
    "LLM calls (each attempt), by model, role and outcome.",
    ["model", "role", "outcome"],
)
LLM_TOKENS = Counter(
    "orchestrator_llm_tokens_total",
    "Tokens reported by the LLM provider, by model, role and kind (input, output).",
    ["model", "role", "kind"],
)
LLM_COST = Counter(
    "orchestrator_llm_cost_usd_total",
    "Cost of LLM calls in US dollars, priced with LLM_PRICES, by model and role.",
    ["model", "role"],
)
CIRCUIT_STATE = Gauge(
    "orchestrator_circuit_breaker_state",
    "LLM circuit breaker state per endpoint and model: 0 closed, 1 half-open, 2 open "
    "(the worst over live worker processes).",
    ["circuit"],
    multiprocess_mode="livemax",
)
RATE_LIMIT_HITS = Counter(
    "orchestrator_rate_limit_hits_total",
    "HTTP 429s: received from a provider (scope llm, search) or answered by this API to a"
    " caller over its limit (scope key_submit, key_read, tenant_submit, tenant_read).",
    ["scope"],
)
QUEUE_LENGTH = Gauge(
    "orchestrator_queue_length",
    "Messages waiting in the broker queue, all Celery priority levels summed.",
    ["queue"],
    multiprocess_mode="livemostrecent",
)
PENDING_CHECKPOINTS = Gauge(
    "orchestrator_pending_checkpoints",
    "Approval checkpoints waiting for a decision.",
    multiprocess_mode="livemostrecent",
)
WORKERS_ONLINE = Gauge(
    "orchestrator_workers_online",
    "Worker processes whose heartbeat is fresh.",
    multiprocess_mode="livemostrecent",
)
WORKERS_STALLED = Gauge(
    "orchestrator_workers_stalled",
    "Worker processes holding tasks that make no progress: their store answers nothing, or "
    "their event loop is blocked (each process's watchdog sets 0 or 1).",
    multiprocess_mode="livesum",
)
WORKER_LOOP_LAG = Gauge(
    "orchestrator_worker_event_loop_lag_seconds",
    "How late the worker's event loop answers its watchdog (the worst live process).",
    multiprocess_mode="livemax",
)
WORKER_SLOTS_BUSY = Gauge(
    "orchestrator_worker_slots_busy",
    "Celery worker threads waiting for a task they handed to the event loop.",
    multiprocess_mode="livesum",
)
CHECKPOINTS_CREATED = Counter(
    "orchestrator_checkpoints_created_total",
    "Checkpoints created, by kind (approval, info) and stage (routing, output).",
    ["kind", "stage"],
)
CHECKPOINTS_DECIDED = Counter(
    "orchestrator_checkpoints_decided_total",
    "Checkpoint decisions, by kind and decision (approved, rejected, expired, cancelled).",
    ["kind", "decision"],
)
CHECKPOINT_DECISION_SECONDS = Histogram(
    "orchestrator_checkpoint_decision_seconds",
    "Time from a checkpoint's creation to its decision, by stage.",
    ["stage"],
    buckets=(1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600),
)
MONGO_COMMANDS = Counter(
    "orchestrator_mongo_commands_total",
    "MongoDB commands that completed (PyMongo command monitoring), by command and collection.",
    ["command", "collection"],
)
MONGO_COMMAND_FAILURES = Counter(
    "orchestrator_mongo_command_failures_total",
    "MongoDB commands that failed or timed out, by command and collection.",
    ["command", "collection"],
)
MONGO_COMMAND_DURATION = Histogram(
    "orchestrator_mongo_command_duration_seconds",
    "MongoDB command round trips as the driver measured them, by command.",
    ["command"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
)
RECOVERED_TASKS = Counter(
    "orchestrator_recovered_tasks_total",
    "Tasks the reconciler recovered, by kind: redispatched (message lost), reclaimed (lease "
    "expired), failed_max_attempts.",
    ["kind"],
)


def render() -> tuple[bytes, str]:
    """The exposition text: every process's samples when multiprocess mode is on."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def mark_process_dead() -> None:
    """Drop this process's live gauges from the aggregate (call when it exits)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def serve_own(port: int) -> Callable[[], None]:
    """Serve this process's own samples at /metrics on `port` (all interfaces), beside any
    multiprocess aggregate; returns what stops the server."""
    server, thread = start_http_server(port, registry=REGISTRY)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
