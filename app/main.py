"""create_app(): the FastAPI factory; lifespan opens and closes the clients."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from app.api.deps import Services
from app.api.errors import install_error_handlers
from app.api.middleware import RequestContextMiddleware
from app.api.routes import (
    agent,
    checkpoints,
    events,
    health,
    keys,
    me,
    metrics,
    sessions,
    system,
    tasks,
)
from app.config import Settings, load_settings_or_exit
from app.config.reporting import sentry_options
from app.dispatch.background import GRACE_SECONDS, BackgroundJobs, bounded, index_creation
from app.dispatch.celery_config import build_celery
from app.dispatch.enqueue import Dispatcher
from app.dispatch.intake import Intake
from app.dispatch.keys import KeyService
from app.dispatch.monitor import Monitor
from app.dispatch.rate_limits import RateLimiter
from app.dispatch.reads import TaskReads
from app.dispatch.reconciler import Reconciler
from app.dispatch.redis_clients import open_broker, open_redis
from app.observability.logging import configure_logging
from app.observability.metrics import mark_process_dead
from app.observability.sentry import init_sentry
from app.store import open_store
from app.tasks import TaskLifecycle
from app.web import install_dashboard


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API application; settings are read from the environment when not given."""
    settings = settings or load_settings_or_exit()
    configure_logging(settings.app.log_level)
    init_sentry("api", **sentry_options(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_store(settings)
        background = BackgroundJobs()
        # The API starts (and reports not-ready) even when MongoDB is down.
        background.start("indexes", index_creation(store))
        redis = open_redis(settings)
        broker = open_broker(settings, redis)
        dispatcher = Dispatcher(build_celery(settings), settings.worker.queue, broker)
        http = httpx.AsyncClient(timeout=settings.observability.probe_timeout_seconds)
        monitor = Monitor(settings, store, redis, http, broker)
        app.state.services = Services(
            settings,
            store,
            redis,
            dispatcher,
            Intake(TaskLifecycle.of(store), dispatcher),
            monitor,
            TaskReads(store),
            broker,
            KeyService(store.api_keys, settings.security.keys_by_secret()),
            RateLimiter(settings.tenancy, redis, settings.redis_url, settings.redis_namespace),
        )
        # Recovery must not depend on the workers whose tasks need recovering: the API takes
        # its turn at the reconciler's lock too, from one interval after it starts (workers
        # that are up keep the lock; an API that only briefly runs never takes it).
        owner = f"api:{socket.gethostname()}:{os.getpid()}"
        reconciler = Reconciler(settings, store, dispatcher, redis, owner=owner)
        interval = settings.worker.reconcile_interval_seconds
        background.start("reconciler", lambda stopping: reconciler.run_forever(stopping, interval))
        background.start("queue-sampler", monitor.sample_queue)
        try:
            yield
        finally:
            # The jobs end before the clients they use are closed.
            await background.stop()
            await http.aclose()
            if broker is not redis:
                await broker.aclose()
            await redis.aclose()
            await bounded(store.close(), GRACE_SECONDS, "store.close")
            await background.drain()
            mark_process_dead()

    # Swagger UI's and ReDoc's assets come from the API itself, so /docs works offline.
    app = FastAPIOffline(
        title="Agent Orchestrator",
        version="0.1.0",
        description="Submit natural-language tasks; workers route them to agents.",
        lifespan=lifespan,
    )
    if settings.app.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.app.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["X-API-Key", "Content-Type", "Idempotency-Key", "Last-Event-ID"],
            expose_headers=["X-Request-ID", "Idempotent-Replayed"],
        )
    app.add_middleware(RequestContextMiddleware)
    install_error_handlers(app)
    app.include_router(agent.router)
    app.include_router(tasks.router)
    app.include_router(tasks.admin_router)
    app.include_router(sessions.router)
    app.include_router(events.router)
    app.include_router(checkpoints.router)
    app.include_router(system.router)
    app.include_router(metrics.router)
    app.include_router(health.router)
    app.include_router(me.router)
    app.include_router(keys.router)
    install_dashboard(app)
    return app
