"""A task's events, kept in its own document: a change and the events it causes are one write.

The n-th element of the task's `events` array is the event with id n (the SSE id), so ids are
gap-free by construction. A final status and its event are one atomic change: a reader can never
see one without the other. A task's events are bounded by what its attempts do (a few per step),
far below MongoDB's 16 MB per document; tasks from before this layout kept theirs in a
`task_events` collection, which nothing reads any more.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.domain.models import TaskEvent, utcnow
from app.store._base import Document


def event(kind: str, data: Document) -> Document:
    """An event as stored in the task document."""
    return {"kind": kind, "data": data, "at": utcnow()}


def appended(events: Sequence[Document]) -> Document:
    """The update operators that append `events` (none when there are none)."""
    if not events:
        return {}
    return {"$push": {"events": {"$each": list(events)}}}


def after(task_id: str, stored: Sequence[Document], first_seq: int) -> list[TaskEvent]:
    """Stored events as TaskEvents, the first of them having id `first_seq`."""
    return [
        TaskEvent(task_id=task_id, seq=first_seq + n, kind=e["kind"], data=e["data"], at=e["at"])
        for n, e in enumerate(stored)
    ]


class EventBuffer:
    """Events an attempt has produced that go out with its next write to the task."""

    def __init__(self) -> None:
        self._events: list[Document] = []

    def add(self, kind: str, data: Document) -> None:
        self._events.append(event(kind, data))

    def take(self, *more: Document) -> list[Document]:
        """Everything buffered (then `more`), leaving the buffer empty."""
        taken, self._events = [*self._events, *more], []
        return taken

    def __len__(self) -> int:
        return len(self._events)
