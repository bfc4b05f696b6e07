"""GET /v1/tasks/{task_id}/events: the task's events as Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Query
from sse_starlette import EventSourceResponse, ServerSentEvent

from app.api.deps import ServicesDep, TaskOwner
from app.api.schemas import AUTHENTICATED, ErrorBody
from app.dispatch.reads import TaskReads

router = APIRouter(prefix="/v1/tasks", tags=["tasks"], responses=AUTHENTICATED)
POLL_SECONDS = 0.25
MAX_EVENT_ID = 2**63 - 1


@router.get(
    "/{task_id}/events",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "The event stream."},
        404: {"model": ErrorBody},
    },
)
async def task_events(
    task_id: UUID,
    owner: TaskOwner,
    services: ServicesDep,
    # An event id is a position in the task's event list: MongoDB's 64-bit integers bound it.
    last_event_id: Annotated[
        int | None, Header(alias="Last-Event-ID", ge=0, le=MAX_EVENT_ID)
    ] = None,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_EVENT_ID, description="Same as Last-Event-ID.")
    ] = None,
) -> EventSourceResponse:
    """Status changes, routing, agent runs and tool calls, with increasing ids.

    Stored events first (a late client gets the whole history), then live ones; reconnect with
    `Last-Event-ID` to get exactly what was missed. The stream ends after the final status.
    """
    task = await services.reads.task(str(task_id), owner)
    start = last_event_id if last_event_id is not None else after or 0
    return EventSourceResponse(_stream(services.reads, task.task_id, start), ping=15)


async def _stream(reads: TaskReads, task_id: str, last: int) -> AsyncIterator[ServerSentEvent]:
    # Each step is one read: the status and the events after the last one sent, written
    # together by every change.
    async for status, events in reads.events(task_id, last):
        for event in events:
            payload = {"task_id": task_id, "at": event.at.isoformat(), **event.data}
            yield ServerSentEvent(id=str(event.seq), event=event.kind, data=json.dumps(payload))
        # A final status arrived with its own event, so once it is read that event is sent.
        if status is None or (status.final and not events):
            return
        if not events:
            await asyncio.sleep(POLL_SECONDS)
