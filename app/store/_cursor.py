"""Opaque list cursors: a position in newest-first order."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime

from app.domain.errors import InvalidCursor
from app.domain.models import Task


def encode_cursor(task: Task) -> str:
    """An opaque cursor pointing just after `task` in newest-first order."""
    raw = json.dumps([task.created_at.isoformat(), task.task_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (created_at, task_id) a cursor points after; InvalidCursor when it is not ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, task_id = json.loads(base64.urlsafe_b64decode(padded))
        when = datetime.fromisoformat(created)
        # MongoDB stores UTC: a date that does not fit in UTC is not one we issued.
        return (when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)), str(task_id)
    except (ValueError, TypeError, OverflowError, binascii.Error) as exc:
        raise InvalidCursor("The cursor is not one this API returned.") from exc
