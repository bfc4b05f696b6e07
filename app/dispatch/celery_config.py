"""Celery configuration shared by the API (publisher) and the workers (consumers)."""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Queue

from app.config import Settings

PROCESS_TASK = "tasks.process"


def celery_config(settings: Settings) -> dict[str, Any]:
    """Broker, serialisation, routing and delivery guarantees."""
    queue = settings.worker.queue
    return {
        "broker_url": settings.broker_url,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 2,
        "broker_transport_options": {
            # Must exceed how long a thread may hold a task (Settings.wait_limit_seconds) so a
            # running task is never redelivered under it.
            "visibility_timeout": settings.wait_limit_seconds + 60,
            "socket_connect_timeout": settings.redis.connect_timeout_seconds,
            "socket_timeout": settings.redis.socket_timeout_seconds,
        },
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,
        "result_backend": settings.result_backend,
        "task_default_queue": queue,
        "task_queues": (Queue(queue),),
        "task_routes": {PROCESS_TASK: {"queue": queue}},
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # No task_time_limit: the threads pool cannot enforce one. WorkerRuntime.process bounds
        # the wait instead, and the run itself stops at TASK_TIMEOUT_SECONDS.
        "task_publish_retry": True,
        # A publish that fails leaves the task queued in MongoDB for the reconciler: fail fast.
        "task_publish_retry_policy": {
            "max_retries": 1,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.2,
        },
        "worker_prefetch_multiplier": 1,
        # Losing the broker means unacknowledged messages come back: stop those runs rather
        # than finish them twice; the claim (compare-and-set) makes the redelivery safe.
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        # A cold shutdown (SIGQUIT) waits this long before cancelling. SIGTERM (docker stop) is
        # the warm shutdown: running tasks finish, bounded by the container's stop grace period.
        "worker_soft_shutdown_timeout": settings.worker.shutdown_grace_seconds,
        "worker_pool": "threads",
        "worker_concurrency": settings.worker.concurrency,
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
        "worker_send_task_events": settings.worker.send_task_events,
        "enable_utc": True,
    }


def build_celery(settings: Settings, name: str = "agent-orchestrator") -> Celery:
    """A Celery app configured for this service."""
    celery = Celery(name)
    celery.conf.update(celery_config(settings))
    return celery
