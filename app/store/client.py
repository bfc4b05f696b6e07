"""Open and close the MongoDB client; create its indexes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import pymongo
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from app.config import Settings
from app.store._base import Document
from app.store.agent_runs import AgentRunRepository
from app.store.api_keys import ApiKeyRepository
from app.store.checkpoints import CheckpointRepository
from app.store.graph_state import MongoGraphStateSaver
from app.store.idempotency import IdempotencyRepository
from app.store.messages import MessageRepository
from app.store.monitoring import CommandMetrics
from app.store.task_stats import TaskStatsRepository
from app.store.tasks import TaskRepository

T = TypeVar("T")


async def within(seconds: float, call: Awaitable[T]) -> T:
    """A MongoDB call bounded by PyMongo's own timeout (raises a PyMongoError past it).

    Not asyncio.wait_for: a cancel that lands while PyMongo waits for a server to select
    raises "RuntimeError: Lock is not acquired" from its topology lock, and the client can then
    hang on close (seen under load in the /ready probe).
    """
    with pymongo.timeout(seconds):
        return await call


def uninterrupted(call: Coroutine[Any, Any, T]) -> Awaitable[T]:
    """A MongoDB call that a cancel of its caller does not reach.

    A cancel that lands while PyMongo waits for a server to select (the store unreachable) can
    leave its topology lock held on Python 3.11, and every later call of the client then hangs
    past any timeout (seen with MongoDB paused, when many lease watches were cancelled at once).
    The caller's await still ends at once on a cancel; the call goes on to its own end, bounded
    by timeoutMS, and its outcome is dropped.
    """
    running = asyncio.ensure_future(call)
    running.add_done_callback(drop_outcome)
    return asyncio.shield(running)


def drop_outcome(done: asyncio.Future[Any]) -> None:
    """A done callback for a call nobody awaits: its exception counts as retrieved (no
    "exception was never retrieved" at exit)."""
    if not done.cancelled():
        done.exception()


@dataclass
class Store:
    """The open client and the repositories built on it."""

    client: AsyncMongoClient[Document]
    db: AsyncDatabase[Document]
    tasks: TaskRepository
    agent_runs: AgentRunRepository
    messages: MessageRepository
    idempotency: IdempotencyRepository
    api_keys: ApiKeyRepository
    stats: TaskStatsRepository
    checkpoints: CheckpointRepository
    graph_state: MongoGraphStateSaver
    commands: CommandMetrics

    async def ensure_indexes(self) -> None:
        """Create every index the repositories rely on (idempotent)."""
        await self.tasks.ensure_indexes()
        await self.agent_runs.ensure_indexes()
        await self.messages.ensure_indexes()
        await self.idempotency.ensure_indexes()
        await self.api_keys.ensure_indexes()
        await self.checkpoints.ensure_indexes()
        await self.graph_state.ensure_indexes()

    async def close(self) -> None:
        await self.client.close()


def open_store(settings: Settings) -> Store:
    """Build the client (it connects lazily) and the repositories."""
    timeout = settings.mongo.timeout_ms
    commands = CommandMetrics()
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        settings.mongo_uri,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout,
        connectTimeoutMS=timeout,
        # Every operation, pool wait and server selection included, ends within this (CSOT):
        # a store that hangs fails calls, it does not hold them.
        timeoutMS=settings.mongo.operation_timeout_ms,
        appname="agent-orchestrator",
        event_listeners=[commands],
    )
    db = client[settings.mongo.db_name]
    stats = TaskStatsRepository(db["task_stats"])
    return Store(
        client=client,
        db=db,
        tasks=TaskRepository(db["tasks"]),
        agent_runs=AgentRunRepository(db["agent_runs"]),
        messages=MessageRepository(db["messages"]),
        idempotency=IdempotencyRepository(db["idempotency_keys"]),
        api_keys=ApiKeyRepository(db["api_keys"]),
        stats=stats,
        checkpoints=CheckpointRepository(db["checkpoints"]),
        graph_state=MongoGraphStateSaver(db),
        commands=commands,
    )
