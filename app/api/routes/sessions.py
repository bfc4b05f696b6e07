"""GET /v1/sessions/{session_id}/messages: a session's history, the caller's own (an admin's:
any tenant's, named by `owner`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.api.deps import Reader, ServicesDep
from app.api.schemas import (
    AUTHENTICATED,
    SESSION_ID_PATTERN,
    ErrorBody,
    MessageOut,
    SessionMessages,
)
from app.domain.access import Permission
from app.domain.errors import Forbidden

router = APIRouter(prefix="/v1/sessions", tags=["sessions"], responses=AUTHENTICATED)


@router.get(
    "/{session_id}/messages",
    response_model=SessionMessages,
    responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
async def session_messages(
    session_id: Annotated[str, Path(pattern=SESSION_ID_PATTERN)],
    caller: Reader,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=200, description="The latest this many.")] = 50,
    owner: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=128,
            description="Whose (tenant) session: roles that read every tenant's tasks only.",
        ),
    ] = None,
) -> SessionMessages:
    """Tasks and answers of the session, oldest first."""
    if owner not in (None, caller.tenant) and not caller.can(Permission.READ_ANY):
        raise Forbidden("Only an operator or admin key reads another tenant's sessions.")
    messages = await services.reads.session(session_id, owner or caller.tenant, limit)
    return SessionMessages(
        session_id=session_id,
        messages=[MessageOut.model_validate(m.model_dump()) for m in messages],
    )
