"""Checkpoints: a task's (owner or admin) and the admin's review queue and decisions."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query

from app.api.deps import Approver, Reader, ServicesDep
from app.api.schemas import (
    AUTHENTICATED,
    ApproveBody,
    CheckpointList,
    CheckpointOut,
    ErrorBody,
    RejectBody,
)
from app.dispatch import checkpoints
from app.domain.access import Permission
from app.domain.models import CheckpointStatus

router = APIRouter(tags=["checkpoints"], responses=AUTHENTICATED)


@router.get(
    "/v1/tasks/{task_id}/checkpoints",
    response_model=CheckpointList,
    responses={404: {"model": ErrorBody}},
)
async def task_checkpoints(task_id: UUID, caller: Reader, services: ServicesDep) -> CheckpointList:
    """The task's checkpoints with their decisions (who, when, what, comment), oldest first."""
    found = await services.reads.checkpoints_of(
        str(task_id), caller.tenant, caller.can(Permission.READ_ANY)
    )
    return CheckpointList(items=[CheckpointOut.of(c) for c in found])


@router.get(
    "/v1/admin/checkpoints", response_model=CheckpointList, responses={403: {"model": ErrorBody}}
)
async def review_queue(
    admin: Approver,
    services: ServicesDep,
    status: CheckpointStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    order: Annotated[
        Literal["newest", "oldest"], Query(description="By creation: newest or oldest first.")
    ] = "newest",
) -> CheckpointList:
    """Checkpoints of every tenant, newest first or oldest first (admin only)."""
    found = await services.reads.review_queue(status, limit, oldest_first=order == "oldest")
    return CheckpointList(items=[CheckpointOut.of(c) for c in found])


_DECISION_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "The body is not UTF-8 JSON."},
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
}


@router.post(
    "/v1/admin/checkpoints/{checkpoint_id}/approve",
    response_model=CheckpointOut,
    responses=_DECISION_ERRORS,
)
async def approve(
    checkpoint_id: UUID, body: ApproveBody, admin: Approver, services: ServicesDep
) -> CheckpointOut:
    """Approve (with optional edits): the task resumes where it paused, in any worker."""
    decided = await checkpoints.approve(
        services.store,
        services.dispatcher,
        str(checkpoint_id),
        admin.key_id,
        body.comment,
        body.edits,
    )
    return CheckpointOut.of(decided)


@router.post(
    "/v1/admin/checkpoints/{checkpoint_id}/reject",
    response_model=CheckpointOut,
    responses=_DECISION_ERRORS,
)
async def reject(
    checkpoint_id: UUID, body: RejectBody, admin: Approver, services: ServicesDep
) -> CheckpointOut:
    """Reject: the task fails with CHECKPOINT_REJECTED."""
    decided = await checkpoints.reject(
        services.store, str(checkpoint_id), admin.key_id, body.reason
    )
    return CheckpointOut.of(decided)
