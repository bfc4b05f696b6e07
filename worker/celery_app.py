"""The Celery app the workers run: `celery -A worker.celery_app:celery_app worker`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from celery.signals import worker_init, worker_shutdown

from app.config import load_settings_or_exit
from app.config.reporting import sentry_options
from app.dispatch.celery_config import build_celery
from app.dispatch.runtime import WorkerRuntime
from app.observability.logging import configure_logging
from app.observability.metrics import mark_process_dead, serve_own
from app.observability.sentry import init_sentry

settings = load_settings_or_exit()
configure_logging(settings.app.log_level)

celery_app = build_celery(settings, "agent-orchestrator-worker")
celery_app.conf.include = ["worker.tasks"]

_runtime: WorkerRuntime | None = None
_stop_metrics: Callable[[], None] | None = None


def runtime() -> WorkerRuntime:
    """This process's runtime (opened when the worker starts)."""
    if _runtime is None:
        raise RuntimeError("the worker runtime is not started")
    return _runtime


@worker_init.connect
def _open_runtime(**_: Any) -> None:
    # The threads pool runs tasks in this process: one event loop, opened once, serves them all.
    global _runtime
    _runtime = WorkerRuntime(settings)
    try:
        # Before Celery builds its task tracers, which Sentry's Celery integration wraps.
        init_sentry("worker", **sentry_options(settings))
        _runtime.start()
    except Exception as exc:
        # Celery logs and ignores exceptions from signal handlers; a worker without its
        # runtime would take messages it cannot run, so stop the process instead.
        print(f"worker start-up failed: {exc!r}", file=sys.stderr, flush=True)
        raise SystemExit(1) from exc
    if settings.worker.metrics_port is not None:
        global _stop_metrics
        _stop_metrics = serve_own(settings.worker.metrics_port)


@worker_shutdown.connect
def _close_runtime(**_: Any) -> None:
    if _runtime is not None:
        _runtime.stop()
    if _stop_metrics is not None:
        _stop_metrics()
    mark_process_dead()
