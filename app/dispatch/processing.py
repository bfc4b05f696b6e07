"""Process one task: claim it, run the PeerAgent graph, record the outcome once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import structlog

from app.agents.base import AgentDeps, AgentOutput
from app.agents.peer import PeerContext, PeerState, build_peer_graph, total_usage
from app.agents.registry import AgentRegistry
from app.agents.runs import RunRecorder
from app.agents.tools.web_search import TavilySearch
from app.config import Settings
from app.domain.errors import AgentError
from app.domain.models import (
    Message,
    RoutingDecision,
    Task,
    TaskErrorInfo,
    TaskResult,
    Usage,
    utcnow,
)
from app.llm import ChatModelFactory
from app.store import Store, open_store

log = structlog.get_logger(__name__)


class Outcome(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass
class WorkerDeps:
    """Everything one worker process needs, opened once on its event loop."""

    settings: Settings
    store: Store
    registry: AgentRegistry
    llm: ChatModelFactory
    graph: Any
    worker_id: str
    indexes: asyncio.Task[None]

    @classmethod
    async def open(cls, settings: Settings, worker_id: str) -> WorkerDeps:
        """Open the store and build the agents and the compiled graph."""
        store = open_store(settings)
        # Start even if MongoDB is not up yet; claims fail (and are retried) until it is.
        indexes = asyncio.create_task(store.ensure_indexes_when_reachable())
        llm = ChatModelFactory(settings.llm)
        llm.warm_up()
        registry = AgentRegistry.build(
            AgentDeps(settings=settings, llm=llm, search=TavilySearch(settings.search))
        )
        graph = build_peer_graph(registry.names)
        return cls(settings, store, registry, llm, graph, worker_id, indexes)

    async def close(self) -> None:
        self.indexes.cancel()
        await self.store.close()


async def process_task(task_id: str, deps: WorkerDeps) -> Outcome:
    """Run a queued task once; a duplicate delivery finds it claimed and does nothing."""
    settings = deps.settings
    task = await deps.store.tasks.claim(task_id, deps.worker_id, settings.worker.lease_seconds)
    if task is None:
        log.info("task_not_claimable", task_id=task_id)
        return Outcome.SKIPPED
    structlog.contextvars.bind_contextvars(session_id=task.session_id)
    log.info("task_claimed", attempt=task.attempt)
    history = await deps.store.messages.recent(task.owner, task.session_id, limit=10)
    await deps.store.messages.append(_message(task, "user", task.task))
    state: PeerState = {
        "task_id": task.task_id,
        "session_id": task.session_id,
        "task": task.task,
        "history": [m.model_dump(mode="json") for m in history],
        "usage": [],
    }
    context = PeerContext(
        registry=deps.registry,
        llm=deps.llm,
        runs=RunRecorder(deps.store.agent_runs, task.task_id, task.attempt),
        min_confidence=settings.agents.router_min_confidence,
    )
    try:
        final: PeerState = await asyncio.wait_for(
            deps.graph.ainvoke(state, context=context),
            timeout=settings.worker.task_timeout_seconds,
        )
    except AgentError as exc:
        return await _fail(deps, task, exc.code, exc.message, Usage())
    except TimeoutError:
        limit = settings.worker.task_timeout_seconds
        return await _fail(deps, task, "TIMEOUT", f"The task ran longer than {limit}s.", Usage())
    except Exception as exc:
        log.exception("task_crashed")
        return await _fail(deps, task, "INTERNAL_ERROR", str(exc) or type(exc).__name__, Usage())
    return await _finish(deps, task, final)


async def _finish(deps: WorkerDeps, task: Task, final: PeerState) -> Outcome:
    usage = total_usage(final)
    if "routing" in final:
        await deps.store.tasks.record_routing(
            task.task_id, task.attempt, RoutingDecision.model_validate(final["routing"])
        )
    if "error" in final:
        error = final["error"]
        return await _fail(deps, task, error["type"], error["message"], usage)
    output = AgentOutput.model_validate(final["output"])
    result = TaskResult.model_validate(output.model_dump())
    if not await deps.store.tasks.complete(task.task_id, task.attempt, result, usage):
        log.warning("result_discarded_lost_ownership", attempt=task.attempt)
        return Outcome.SKIPPED
    await deps.store.messages.append(_message(task, "assistant", output.raw_output))
    log.info("task_completed", agent_name=final.get("selected_agent"))
    return Outcome.COMPLETED


async def _fail(deps: WorkerDeps, task: Task, code: str, message: str, usage: Usage) -> Outcome:
    error = TaskErrorInfo(type=code, message=message)
    if not await deps.store.tasks.fail(task.task_id, task.attempt, error, usage):
        log.warning("failure_discarded_lost_ownership", attempt=task.attempt)
        return Outcome.SKIPPED
    log.info("task_failed", error_type=code)
    return Outcome.FAILED


def _message(task: Task, role: str, content: str) -> Message:
    return Message(
        session_id=task.session_id,
        owner=task.owner,
        task_id=task.task_id,
        role=role,
        content=content,
        created_at=utcnow(),
    )
