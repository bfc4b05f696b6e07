"""GET /v1/sessions/{session_id}/messages: a session's history, the caller's own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.api.deps import Caller, ServicesDep
from app.api.schemas import SESSION_ID_PATTERN, ErrorBody, MessageOut, SessionMessages

router = APIRouter(prefix="/v1/sessions", tags=["sessions"], responses={401: {"model": ErrorBody}})


@router.get(
    "/{session_id}/messages", response_model=SessionMessages, responses={404: {"model": ErrorBody}}
)
async def session_messages(
    session_id: Annotated[str, Path(pattern=SESSION_ID_PATTERN)],
    caller: Caller,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=200, description="The latest this many.")] = 50,
) -> SessionMessages:
    """Tasks and answers of the session, oldest first."""
    messages = await services.reads.session(session_id, caller.key_id, limit)
    return SessionMessages(
        session_id=session_id,
        messages=[MessageOut.model_validate(m.model_dump()) for m in messages],
    )
