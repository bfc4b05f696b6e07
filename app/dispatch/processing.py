"""Process one task: claim it, run the PeerAgent graph, record the outcome once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import structlog
from langchain_core.runnables import RunnableConfig
from langgraph.types import Command, Interrupt
from pymongo.errors import PyMongoError

from app.agents.peer_state import PeerContext, PeerResult, PeerState
from app.agents.runs import RunRecorder
from app.dispatch.checkpoints import pause_for_decision
from app.dispatch.wiring import WorkerDeps
from app.domain.errors import AgentError, TaskErrorCode, error_record
from app.domain.models import (
    Message,
    RoutingDecision,
    RoutingOverride,
    Task,
    TaskErrorInfo,
    TaskResult,
    TaskStatus,
    Usage,
)
from app.observability.sentry import report_exception
from app.store import EventBuffer, uninterrupted
from app.store.graph_state import NEW_THREAD, HeldSaves

log = structlog.get_logger(__name__)
MAX_DEFER_SECONDS = 300.0


class Outcome(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    DEFERRED = "deferred"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    # The store failed mid-way: the task stays as the store has it (queued, or processing with
    # a lease that runs out), and the reconciler sends it again.
    HANDED_BACK = "handed_back"


async def process_task(task_id: str, deps: WorkerDeps) -> Outcome:
    """Run a queued task once; a duplicate delivery finds it claimed and does nothing."""
    deps.in_flight.add(task_id)
    try:
        return await _process(task_id, deps)
    except PyMongoError as exc:
        # Every store call is bounded (timeoutMS): the slot is freed, the reconciler recovers.
        log.error("task_handed_back_store_failed", error=str(exc) or type(exc).__name__)
        return Outcome.HANDED_BACK
    finally:
        deps.in_flight.discard(task_id)


@dataclass
class Attempt:
    """One claim of a task: what it writes goes through here."""

    task: Task
    events: EventBuffer
    runs: RunRecorder
    graph_saves: HeldSaves = field(default_factory=HeldSaves)

    @property
    def first(self) -> bool:
        """The task's first claim: not resumed, not recovered, so nothing was saved before it."""
        return self.task.attempt <= 1 and self.task.resume is None and not self.task.recover

    @property
    def usage_so_far(self) -> Usage | None:
        """What the task cost, when this claim alone knows it (the first)."""
        return self.runs.usage if self.first else None


async def _process(task_id: str, deps: WorkerDeps) -> Outcome:
    settings = deps.settings
    task = await deps.lifecycle.claim(task_id, deps.worker_id, settings.worker.lease_seconds)
    if task is None:
        log.info("task_not_claimable", task_id=task_id)
        return Outcome.SKIPPED
    structlog.contextvars.bind_contextvars(session_id=task.session_id)
    log.info("task_claimed", attempt=task.attempt)
    events = EventBuffer()
    # The claim's own event: only its answer told which attempt this is (and it names the
    # worker that holds it). It goes out with the first write of the attempt.
    claimed = {"status": TaskStatus.PROCESSING.value, "attempt": task.attempt}
    events.add("status", {**claimed, "worker_id": deps.worker_id})
    attempt = Attempt(task, events, RunRecorder(deps.store, task.task_id, task.attempt, events))

    async def record_routing(decision: RoutingDecision) -> None:
        await deps.lifecycle.record_routing(task.task_id, task.attempt, decision, events.take())

    async def record_override(override: RoutingOverride) -> None:
        await deps.lifecycle.record_override(task.task_id, task.attempt, override, events.take())

    context = PeerContext(
        registry=deps.registry,
        llm=deps.llm,
        runs=attempt.runs,
        min_confidence=settings.agents.router_min_confidence,
        record_routing=record_routing,
        record_override=record_override,
        confirm_below=settings.agents.router_auto_confidence,
        approval_agents=frozenset(settings.agents.approval_required_agents),
    )
    # The graph's thread is the task: a decision resumes it where it paused, and a recovered
    # attempt continues it from the last step the lost one completed, in any process.
    config: RunnableConfig = {"configurable": {"thread_id": task.task_id}}
    if attempt.first:
        config["configurable"][NEW_THREAD] = True  # nothing saved yet: no read for it
    graph_input = await _graph_input(deps, task)
    # The graph's state is stored only when the run pauses for a person (a resume needs it):
    # every other ending is recorded on the task, and the successor of a lost or deferred
    # attempt routes on the decision stored there (see _graph_input). LangGraph hands the state
    # over once, when the run stops (durability="exit"); the saver holds it until then.
    with deps.store.graph_state.holding() as attempt.graph_saves:
        run = asyncio.create_task(
            deps.graph.ainvoke(graph_input, config, context=context, durability="exit")
        )
    watch = asyncio.create_task(_watch(deps, task, run))
    try:
        final = PeerResult.of(
            await asyncio.wait_for(run, timeout=settings.worker.task_timeout_seconds)
        )
    except asyncio.CancelledError:
        why = watch.result() if watch.done() else None
        if why is None:
            raise  # the worker itself is being cancelled, not the run
        return await _stopped(deps, attempt, why)
    except AgentError as exc:
        if exc.deferrable and task.deferrals < settings.llm.defer_max:
            return await _defer(deps, attempt, exc)
        return await _fail(deps, attempt, exc.code, exc.message)
    except TimeoutError:
        limit = settings.worker.task_timeout_seconds
        return await _fail(
            deps, attempt, TaskErrorCode.TIMEOUT, f"The task ran longer than {limit:g}s."
        )
    except Exception as exc:
        log.exception("task_crashed")
        report_exception(exc)  # the task fails as INTERNAL_ERROR: Celery never sees the crash
        crash = error_record(exc)
        return await _fail(deps, attempt, crash.type, crash.message)
    finally:
        watch.cancel()
    return await _finish(deps, attempt, final)


async def _graph_input(deps: WorkerDeps, task: Task) -> PeerState | Command[Any]:
    """What the graph starts from: a decision on its pause, or the task."""
    if task.resume is not None:
        log.info("task_resumed", checkpoint_id=task.resume["checkpoint_id"])
        value, interrupt_id = task.resume["value"], task.resume.get("interrupt_id")
        # Named, the decision goes to its own interrupt only: should the thread hold a later
        # one (stored by an attempt lost before it recorded that pause), the graph pauses
        # there again instead of taking this decision for it.
        return Command(resume={interrupt_id: value} if interrupt_id else value)
    # Only a pause stores the graph's state (see _process). The successor of a lost or deferred
    # attempt starts again, routed on the decision the router stored on the task, if it made one:
    # the router is not asked twice.
    recovered = task.routing if task.recover else None
    if recovered is not None:
        log.info("task_recovered", agent_name=recovered.agent_name)
    history = (
        []
        if task.new_session
        else await deps.store.messages.recent(
            task.owner,
            task.session_id,
            deps.settings.agents.session_history_messages,
            before=task.task_id,
        )
    )
    return {
        "task_id": task.task_id,
        "session_id": task.session_id,
        "task": task.task,
        "history": [m.model_dump(mode="json") for m in history],
        "require_approval": task.require_approval,
        "routing": recovered.model_dump(mode="json") if recovered is not None else None,
        "error": None,  # the thread may hold an earlier run's
    }


class Stop(StrEnum):
    CANCEL_REQUESTED = "cancel_requested"
    LEASE_LOST = "lease_lost"


async def _watch(deps: WorkerDeps, task: Task, run: asyncio.Task[Any]) -> Stop | None:
    """Renew the lease while the run lasts; stop the run at once on cancel or lost lease.

    Ends by itself once the run is over (None), even if the cancellation meant to end it was
    lost: on Python 3.11 a cancel that lands as a store call times out can be swallowed, and a
    watch that outlived its run would renew a lease nobody holds, hiding the task from recovery.
    """
    worker = deps.settings.worker
    while True:
        await asyncio.sleep(worker.lease_renew_seconds)
        if run.done():
            return None
        try:
            # The watch is cancelled when its run ends, and then often inside this call.
            beat = await uninterrupted(
                deps.store.tasks.heartbeat(task.task_id, task.attempt, worker.lease_seconds)
            )
        except PyMongoError as exc:
            # The lease may run out meanwhile; once the store answers, the next beat tells.
            log.warning("task_lease_renewal_failed", error=str(exc) or type(exc).__name__)
            continue
        if not beat.owned or beat.cancel_requested:
            run.cancel()
            return Stop.LEASE_LOST if not beat.owned else Stop.CANCEL_REQUESTED


async def _stopped(deps: WorkerDeps, attempt: Attempt, why: Stop) -> Outcome:
    task = attempt.task
    if why is Stop.LEASE_LOST:
        # Another attempt owns the task now; nothing this attempt did may be written.
        log.warning("task_lease_lost", attempt=task.attempt)
        return Outcome.SKIPPED
    stopped = await deps.lifecycle.finish_cancelled(
        task.task_id, task.attempt, attempt.events.take()
    )
    if not stopped:
        return Outcome.SKIPPED
    await deps.store.messages.append(Message.question(task))
    log.info("task_cancelled", attempt=task.attempt)
    return Outcome.CANCELLED


async def _finish(deps: WorkerDeps, attempt: Attempt, final: PeerResult) -> Outcome:
    task = attempt.task
    if final.interrupt is not None:
        await deps.store.graph_state.keep(attempt.graph_saves)
        return await _pause(deps, attempt, final.interrupt)
    if final.error is not None:
        return await _fail(deps, attempt, final.error.type, final.error.message)
    assert final.output is not None  # a run that neither paused nor failed answered
    output = final.output
    result = TaskResult.model_validate(output.model_dump())
    usage = attempt.usage_so_far or await deps.store.agent_runs.total_usage(task.task_id)
    completed = await deps.lifecycle.complete(
        task.task_id, task.attempt, result, usage, final.selected_agent, attempt.events.take()
    )
    if not completed:
        log.warning("result_discarded_lost_ownership", attempt=task.attempt)
        return Outcome.SKIPPED
    await deps.store.messages.append(
        Message.question(task), Message.answer(task, output.raw_output)
    )
    log.info("task_completed", agent_name=final.selected_agent)
    return Outcome.COMPLETED


async def _fail(deps: WorkerDeps, attempt: Attempt, code: str, message: str) -> Outcome:
    task = attempt.task
    error = TaskErrorInfo(type=code, message=message)
    usage = attempt.usage_so_far or await deps.store.agent_runs.total_usage(task.task_id)
    failed = await deps.lifecycle.fail(
        task.task_id, task.attempt, error, usage, attempt.events.take()
    )
    if not failed:
        log.warning("failure_discarded_lost_ownership", attempt=task.attempt)
        return Outcome.SKIPPED
    await deps.store.messages.append(Message.question(task))
    log.info("task_failed", error_type=code)
    return Outcome.FAILED


async def _defer(deps: WorkerDeps, attempt: Attempt, exc: AgentError) -> Outcome:
    """Give the task back to the queue for later, waiting longer after each deferral."""
    task = attempt.task
    delay = min(deps.settings.llm.defer_seconds * 2**task.deferrals, MAX_DEFER_SECONDS)
    error = TaskErrorInfo(type=exc.code, message=exc.message)
    deferred = await deps.lifecycle.requeue(
        task.task_id, task.attempt, error, delay, attempt.events.take()
    )
    if not deferred:
        return Outcome.SKIPPED
    await deps.dispatcher.enqueue(task.task_id, countdown=delay)
    log.warning("task_deferred", deferrals=task.deferrals + 1, delay_s=delay, reason=exc.code)
    return Outcome.DEFERRED


async def _pause(deps: WorkerDeps, attempt: Attempt, interrupt: Interrupt) -> Outcome:
    """The graph stopped at an interrupt: record the checkpoint, free the worker slot."""
    timeout = deps.settings.agents.checkpoint_timeout_seconds
    paused = await pause_for_decision(
        deps.store, deps.lifecycle, attempt.task, interrupt, attempt.events, timeout
    )
    return Outcome.PAUSED if paused else Outcome.SKIPPED
