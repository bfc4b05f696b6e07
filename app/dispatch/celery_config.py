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
        "broker_url": settings.redis_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            # Must exceed the hard time limit so a running task is never redelivered under it.
            "visibility_timeout": settings.worker.task_timeout_seconds + 300,
            "socket_connect_timeout": 5,
            "socket_timeout": 10,
        },
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,
        "result_backend": None,
        "task_default_queue": queue,
        "task_queues": (Queue(queue),),
        "task_routes": {PROCESS_TASK: {"queue": queue}},
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_time_limit": settings.worker.task_timeout_seconds + 60,
        "task_publish_retry": True,
        "task_publish_retry_policy": {
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
        "worker_prefetch_multiplier": 1,
        "worker_pool": "threads",
        "worker_concurrency": settings.worker.concurrency,
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
        "worker_send_task_events": False,
        "enable_utc": True,
    }


def build_celery(settings: Settings, name: str = "agent-orchestrator") -> Celery:
    """A Celery app configured for this service."""
    celery = Celery(name)
    celery.conf.update(celery_config(settings))
    return celery
