"""Process one task: claim it, run the PeerAgent graph, record the outcome once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import structlog

from app.agents.base import Agent, AgentDeps, AgentOutput
from app.agents.peer import PeerContext, PeerState, build_peer_graph
from app.agents.registry import AGENTS, AgentRegistry
from app.agents.runs import RunRecorder
from app.agents.tools.web_search import TavilySearch
from app.config import Settings
from app.dispatch.celery_config import build_celery
from app.dispatch.enqueue import Dispatcher
from app.domain.errors import AgentError
from app.domain.models import Message, RoutingDecision, Task, TaskErrorInfo, TaskResult, utcnow
from app.llm import LLMClient
from app.store import Store, open_store

log = structlog.get_logger(__name__)
MAX_DEFER_SECONDS = 300.0


class Outcome(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    DEFERRED = "deferred"
    SKIPPED = "skipped"


@dataclass
class WorkerDeps:
    """Everything one worker process needs, opened once on its event loop."""

    settings: Settings
    store: Store
    registry: AgentRegistry
    llm: LLMClient
    graph: Any
    dispatcher: Dispatcher
    worker_id: str
    indexes: asyncio.Task[None]

    @classmethod
    async def open(
        cls,
        settings: Settings,
        worker_id: str,
        agents: Sequence[Callable[[AgentDeps], Agent]] = AGENTS,
    ) -> WorkerDeps:
        """Open the store and build the agents (from `agents`) and the compiled graph."""
        store = open_store(settings)
        # Start even if MongoDB is not up yet; claims fail (and are retried) until it is.
        indexes = asyncio.create_task(store.ensure_indexes_when_reachable())
        llm = LLMClient(settings.llm)
        llm.warm_up()
        deps = AgentDeps(settings=settings, llm=llm, search=TavilySearch(settings.search))
        registry = AgentRegistry.build(deps, agents)
        graph = build_peer_graph(registry.names)
        dispatcher = Dispatcher(build_celery(settings), settings.worker.queue)
        return cls(settings, store, registry, llm, graph, dispatcher, worker_id, indexes)

    async def close(self) -> None:
        self.indexes.cancel()
        self.dispatcher.close()
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
    history = await deps.store.messages.recent(
        task.owner, task.session_id, settings.agents.session_history_messages, before=task.task_id
    )
    await deps.store.messages.append(_message(task, "user", task.task))
    state: PeerState = {
        "task_id": task.task_id,
        "session_id": task.session_id,
        "task": task.task,
        "history": [m.model_dump(mode="json") for m in history],
    }
    context = PeerContext(
        registry=deps.registry,
        llm=deps.llm,
        runs=RunRecorder(
            deps.store.agent_runs, deps.store.tool_executions, task.task_id, task.attempt
        ),
        min_confidence=settings.agents.router_min_confidence,
    )
    try:
        final: PeerState = await asyncio.wait_for(
            deps.graph.ainvoke(state, context=context),
            timeout=settings.worker.task_timeout_seconds,
        )
    except AgentError as exc:
        if exc.deferrable and task.deferrals < settings.llm.defer_max:
            return await _defer(deps, task, exc)
        return await _fail(deps, task, exc.code, exc.message)
    except TimeoutError:
        limit = settings.worker.task_timeout_seconds
        return await _fail(deps, task, "TIMEOUT", f"The task ran longer than {limit}s.")
    except Exception as exc:
        log.exception("task_crashed")
        return await _fail(deps, task, "INTERNAL_ERROR", str(exc) or type(exc).__name__)
    return await _finish(deps, task, final)


async def _finish(deps: WorkerDeps, task: Task, final: PeerState) -> Outcome:
    if "routing" in final:
        await deps.store.tasks.record_routing(
            task.task_id, task.attempt, RoutingDecision.model_validate(final["routing"])
        )
    if "error" in final:
        return await _fail(deps, task, final["error"]["type"], final["error"]["message"])
    output = AgentOutput.model_validate(final["output"])
    result = TaskResult.model_validate(output.model_dump())
    usage = await deps.store.agent_runs.total_usage(task.task_id)
    if not await deps.store.tasks.complete(task.task_id, task.attempt, result, usage):
        log.warning("result_discarded_lost_ownership", attempt=task.attempt)
        return Outcome.SKIPPED
    await deps.store.messages.append(_message(task, "assistant", output.raw_output))
    log.info("task_completed", agent_name=final.get("selected_agent"))
    return Outcome.COMPLETED


async def _fail(deps: WorkerDeps, task: Task, code: str, message: str) -> Outcome:
    error = TaskErrorInfo(type=code, message=message)
    usage = await deps.store.agent_runs.total_usage(task.task_id)
    if not await deps.store.tasks.fail(task.task_id, task.attempt, error, usage):
        log.warning("failure_discarded_lost_ownership", attempt=task.attempt)
        return Outcome.SKIPPED
    log.info("task_failed", error_type=code)
    return Outcome.FAILED


async def _defer(deps: WorkerDeps, task: Task, exc: AgentError) -> Outcome:
    """Give the task back to the queue for later, waiting longer after each deferral."""
    delay = min(deps.settings.llm.defer_seconds * 2**task.deferrals, MAX_DEFER_SECONDS)
    error = TaskErrorInfo(type=exc.code, message=exc.message)
    if not await deps.store.tasks.requeue(task.task_id, task.attempt, error):
        return Outcome.SKIPPED
    await deps.dispatcher.enqueue(task.task_id, countdown=delay)
    log.warning("task_deferred", deferrals=task.deferrals + 1, delay_s=delay, reason=exc.code)
    return Outcome.DEFERRED


def _message(task: Task, role: str, content: str) -> Message:
    return Message(
        session_id=task.session_id,
        owner=task.owner,
        task_id=task.task_id,
        role=role,
        content=content,
        created_at=utcnow(),
    )
