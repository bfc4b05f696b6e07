"""POST /v1/agent/execute: accept a task and queue it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response, status

from app.api.deps import ServicesDep, Submitter
from app.api.schemas import AUTHENTICATED, ErrorBody, ExecuteRequest, ExecuteResponse
from app.dispatch.submit import submit_task
from app.domain.models import RequestInfo

router = APIRouter(prefix="/v1/agent", tags=["agent"])

ACCEPTED = "Task accepted and queued."
DELAYED = "Task accepted; dispatch to the workers is delayed and will be retried."
REPLAYED = "Task already accepted with this Idempotency-Key."


@router.post(
    "/execute",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExecuteResponse,
    responses={
        400: {"model": ErrorBody, "description": "The body is not UTF-8 JSON."},
        **AUTHENTICATED,
        403: {"model": ErrorBody, "description": "The key's role may not submit (viewer)."},
        409: {"model": ErrorBody},
        413: {"model": ErrorBody},
        503: {"model": ErrorBody},
    },
)
async def execute(
    body: ExecuteRequest,
    caller: Submitter,
    services: ServicesDep,
    request: Request,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            pattern=r"^[\x21-\x7e]{1,255}$",
            description="Same key and body within 24 h: the original task, not a new one.",
        ),
    ] = None,
) -> ExecuteResponse:
    """Persist the task and enqueue it for a worker; poll GET /v1/tasks/{task_id}."""
    submitted = await submit_task(
        services.store,
        services.intake,
        owner=caller.tenant,
        text=body.task,
        session_id=body.session_id,
        request=RequestInfo(
            ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
            request_id=request.state.request_id,
        ),
        idempotency_key=idempotency_key,
        require_approval=body.require_approval,
    )
    task = submitted.task
    if submitted.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return ExecuteResponse(
        task_id=task.task_id,
        session_id=task.session_id,
        status=task.status,
        queued_at=task.queued_at,
        message=REPLAYED if submitted.replayed else ACCEPTED if submitted.dispatched else DELAYED,
    )
