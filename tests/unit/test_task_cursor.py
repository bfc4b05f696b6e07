"""List cursors round-trip and foreign cursors are refused."""

from __future__ import annotations

import pytest

from app.domain.errors import InvalidCursor
from app.domain.models import Task
from app.store._cursor import decode_cursor, encode_cursor


def test_cursor_round_trips() -> None:
    task = Task.submitted("t-1", "o", "x", "s")
    assert decode_cursor(encode_cursor(task)) == (task.created_at, "t-1")


@pytest.mark.parametrize(
    "cursor",
    # the last holds ["0001-01-01T00:00:00+01:00", "a"]: a date that does not fit in UTC
    [
        "",
        "not-base64!",
        "bm90IGpzb24",
        "WzEsMiwzXQ",
        "WyIwMDAxLTAxLTAxVDAwOjAwOjAwKzAxOjAwIiwgImEiXQ",
    ],
)
def test_foreign_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor)
