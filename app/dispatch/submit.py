"""Accept a task: persist it first (source of truth), then enqueue it; idempotent on request."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from dataclasses import dataclass

import structlog
from pymongo.errors import PyMongoError

from app.dispatch.intake import Intake
from app.domain.errors import IdempotencyConflict, StoreUnavailable
from app.domain.models import RequestInfo, Task
from app.observability.metrics import TASKS_SUBMITTED
from app.store import IdempotencyRepository, Store, TaskRepository

log = structlog.get_logger(__name__)
REPLAY_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class Submitted:
    task: Task
    dispatched: bool
    replayed: bool = False


@dataclass(frozen=True)
class Idempotency:
    """The caller's Idempotency-Key and where keys are kept."""

    key: str
    keys: IdempotencyRepository


def fingerprint(text: str, session_id: str | None, require_approval: bool = False) -> str:
    """What makes two submissions "the same body"."""
    body: dict[str, object] = {"task": text, "session_id": session_id}
    if require_approval:
        body["require_approval"] = True
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


async def submit_task(
    store: Store,
    intake: Intake,
    *,
    owner: str,
    text: str,
    session_id: str | None,
    request: RequestInfo,
    idempotency_key: str | None = None,
    require_approval: bool = False,
) -> Submitted:
    """Store the task as queued, then publish it; a lost publish leaves it queued, not lost.

    With an Idempotency-Key, the same key and body return the task the first request created
    (no second task, no second enqueue); the same key with another body is a conflict.
    """
    idempotency = Idempotency(idempotency_key, store.idempotency) if idempotency_key else None
    try:
        submitted = await _submit(
            store.tasks, intake, owner, text, session_id, request, idempotency, require_approval
        )
    except PyMongoError as exc:
        raise StoreUnavailable("The task store is unavailable; nothing was queued.") from exc
    outcome = (
        "replayed"
        if submitted.replayed
        else "accepted"
        if submitted.dispatched
        else "dispatch_delayed"
    )
    TASKS_SUBMITTED.labels(outcome).inc()
    log.info(
        "task_submitted",
        task_id=submitted.task.task_id,
        session_id=submitted.task.session_id,
        outcome=outcome,
    )
    return submitted


async def _submit(
    tasks: TaskRepository,
    intake: Intake,
    owner: str,
    text: str,
    session_id: str | None,
    request: RequestInfo,
    idempotency: Idempotency | None,
    require_approval: bool,
) -> Submitted:
    task_id = str(uuid.uuid4())
    if idempotency is not None:
        digest = fingerprint(text, session_id, require_approval)
        held = await idempotency.keys.reserve(owner, idempotency.key, digest, task_id)
        if not held.created:
            if held.fingerprint != digest:
                raise IdempotencyConflict(
                    "This Idempotency-Key was already used with a different request body."
                )
            return Submitted(await _original(tasks, held.task_id, owner), True, replayed=True)
    task = Task.submitted(
        task_id, owner, text, session_id, request=request, require_approval=require_approval
    )
    try:
        dispatched = await intake.accept(task)
    except PyMongoError:
        if idempotency is not None:
            await idempotency.keys.release(owner, idempotency.key, task_id)
        raise
    return Submitted(task=task, dispatched=dispatched)


async def _original(tasks: TaskRepository, task_id: str, owner: str) -> Task:
    """The task the first request with this key created (it may still be being stored)."""
    deadline = asyncio.get_running_loop().time() + REPLAY_WAIT_SECONDS
    while True:
        task = await tasks.get_for_owner(task_id, owner)
        if task is not None:
            return task
        if asyncio.get_running_loop().time() > deadline:
            raise IdempotencyConflict(
                "The first request with this Idempotency-Key is still in progress; retry later."
            )
        await asyncio.sleep(0.05)
