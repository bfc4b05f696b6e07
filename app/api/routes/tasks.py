"""GET /v1/tasks and /v1/tasks/{task_id}: the caller's own tasks (an admin's: any tenant's),
and GET /v1/admin/tasks: every tenant's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import AfterValidator

from app.agents.registry import agent_names
from app.api.deps import Operator, Reader, ServicesDep, TaskActor, TaskOwner
from app.api.schemas import (
    AUTHENTICATED,
    SESSION_ID_PATTERN,
    AgentRunOut,
    ErrorBody,
    TaskList,
    TaskOut,
    TaskRuns,
    TaskSummary,
)
from app.dispatch.control import cancel_task, retry_task
from app.domain.models import TaskStatus
from app.store import TaskFilters


def _storable(value: datetime) -> datetime:
    """A filter date MongoDB can encode: still within years 1 to 9999 once in UTC.

    A date without a zone is UTC, as MongoDB stores every date.
    """
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError as exc:
        raise ValueError("date is out of range once converted to UTC") from exc


FilterDate = Annotated[datetime, AfterValidator(_storable)]

AGENT_NAMES = agent_names()


def _registered(name: str) -> str:
    """An agent the registry knows (its name, as tasks record it in `selected_agent`)."""
    if name not in AGENT_NAMES:
        raise ValueError(f"unknown agent {name!r}; the agents are {', '.join(AGENT_NAMES)}")
    return name


AgentName = Annotated[str, AfterValidator(_registered)]

router = APIRouter(prefix="/v1/tasks", tags=["tasks"], responses=AUTHENTICATED)
admin_router = APIRouter(prefix="/v1/admin", tags=["tasks"], responses=AUTHENTICATED)


async def task_filters(
    status: TaskStatus | None = None,
    agent_type: Annotated[
        AgentName | None,
        Query(
            description="Tasks an agent ran: " + ", ".join(AGENT_NAMES) + ".",
            json_schema_extra={"enum": AGENT_NAMES},
        ),
    ] = None,
    session_id: Annotated[str | None, Query(pattern=SESSION_ID_PATTERN)] = None,
    created_from: FilterDate | None = None,
    created_to: FilterDate | None = None,
    text: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            pattern=r"^[^\x00-\x1f\x7f]+$",
            description="A part of the task's text, any case (no control characters).",
        ),
    ] = None,
) -> TaskFilters:
    """The filters a task listing takes."""
    return TaskFilters(
        status=status,
        agent_type=agent_type,
        session_id=session_id,
        created_from=created_from,
        created_to=created_to,
        text=text,
    )


Filters = Annotated[TaskFilters, Depends(task_filters)]
PageSize = Annotated[int, Query(ge=1, le=100, description="Page size.")]
Cursor = Annotated[str | None, Query(max_length=512, description="From next_cursor.")]


@router.get("", response_model=TaskList, responses={400: {"model": ErrorBody}})
async def list_tasks(
    caller: Reader,
    services: ServicesDep,
    filters: Filters,
    limit: PageSize = 20,
    cursor: Cursor = None,
) -> TaskList:
    """The caller's tasks, newest first, filtered, one page at a time."""
    page = await services.reads.tasks(caller.tenant, filters, limit=limit, cursor=cursor)
    return TaskList(items=[TaskSummary.of(t) for t in page.tasks], next_cursor=page.next_cursor)


@admin_router.get(
    "/tasks",
    response_model=TaskList,
    responses={400: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)
async def list_every_tenants_tasks(
    operator: Operator,
    services: ServicesDep,
    filters: Filters,
    owner: Annotated[
        str | None, Query(min_length=1, max_length=128, description="Only this tenant's tasks.")
    ] = None,
    limit: PageSize = 20,
    cursor: Cursor = None,
) -> TaskList:
    """Every tenant's tasks (or one tenant's), newest first, filtered (operator and admin)."""
    page = await services.reads.tasks(owner, filters, limit=limit, cursor=cursor)
    return TaskList(items=[TaskSummary.of(t) for t in page.tasks], next_cursor=page.next_cursor)


@router.get("/{task_id}", response_model=TaskOut, responses={404: {"model": ErrorBody}})
async def get_task(task_id: UUID, owner: TaskOwner, services: ServicesDep) -> TaskOut:
    """One task with its routing, result or error, and usage."""
    return TaskOut.of(await services.reads.task(str(task_id), owner))


@router.get("/{task_id}/runs", response_model=TaskRuns, responses={404: {"model": ErrorBody}})
async def get_task_runs(task_id: UUID, owner: TaskOwner, services: ServicesDep) -> TaskRuns:
    """The router and agent runs of every attempt, each with its tool and LLM calls."""
    task, runs = await services.reads.runs(str(task_id), owner)
    return TaskRuns(task_id=task.task_id, runs=[AgentRunOut.of(run) for run in runs])


@router.post(
    "/{task_id}/cancel",
    response_model=TaskOut,
    responses={202: {"model": TaskOut}, 404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
async def cancel(
    task_id: UUID, owner: TaskActor, services: ServicesDep, response: Response
) -> TaskOut:
    """200 with the cancelled task, or 202 while its worker stops at the next step."""
    task = await cancel_task(services.store, str(task_id), owner)
    if task.status is not TaskStatus.CANCELLED:
        response.status_code = status.HTTP_202_ACCEPTED
    return TaskOut.of(task)


@router.post(
    "/{task_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TaskOut,
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
async def retry(
    task_id: UUID, owner: TaskActor, services: ServicesDep, request: Request
) -> TaskOut:
    """Queue a failed or cancelled task again as a new attempt; its history is kept."""
    task = await retry_task(
        services.store, services.dispatcher, str(task_id), owner, request.state.request_id
    )
    return TaskOut.of(task)
