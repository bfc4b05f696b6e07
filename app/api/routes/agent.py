"""POST /v1/agent/execute: accept a task and queue it."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from app.api.deps import Caller, ServicesDep
from app.api.schemas import ErrorBody, ExecuteRequest, ExecuteResponse
from app.dispatch.submit import submit_task
from app.domain.models import RequestInfo

router = APIRouter(prefix="/v1/agent", tags=["agent"])

ACCEPTED = "Task accepted and queued."
DELAYED = "Task accepted; dispatch to the workers is delayed and will be retried."


@router.post(
    "/execute",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExecuteResponse,
    responses={401: {"model": ErrorBody}, 413: {"model": ErrorBody}, 503: {"model": ErrorBody}},
)
async def execute(
    body: ExecuteRequest, caller: Caller, services: ServicesDep, request: Request
) -> ExecuteResponse:
    """Persist the task and enqueue it for a worker; poll GET /v1/tasks/{task_id}."""
    submitted = await submit_task(
        services.store.tasks,
        services.dispatcher,
        owner=caller.key_id,
        text=body.task,
        session_id=body.session_id,
        request=RequestInfo(
            ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
            request_id=request.state.request_id,
        ),
    )
    task = submitted.task
    return ExecuteResponse(
        task_id=task.task_id,
        session_id=task.session_id,
        queued_at=task.queued_at,
        message=ACCEPTED if submitted.dispatched else DELAYED,
    )
