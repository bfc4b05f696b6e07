"""Test control shared by the stand-ins: the fault queue, the request log and their routes."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Generic, Protocol, Self, TypeVar, get_type_hints

from fastapi import FastAPI

REQUEST_LOG_SIZE = 500


class Fault(Protocol):
    """A fault body (a pydantic model) that misbehaves for `count` calls."""

    @property
    def count(self) -> int: ...

    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> Self: ...

    def model_dump(self) -> dict[str, Any]: ...


F = TypeVar("F", bound=Fault)


class FaultQueue(Generic[F]):
    """Faults in order of arrival; each misbehaves for `count` calls, then leaves."""

    def __init__(self) -> None:
        self._waiting: deque[F] = deque()

    def add(self, fault: F) -> None:
        """Queue a fault behind those already waiting."""
        self._waiting.append(fault)

    def take(self, fits: Callable[[F], bool] | None = None) -> F | None:
        """The fault for the next call, its count dropping by one; a head that `fits` turns
        away keeps waiting, and the call goes unfaulted."""
        if not self._waiting or (fits is not None and not fits(self._waiting[0])):
            return None
        head = self._waiting.popleft()
        if head.count > 1:
            self._waiting.appendleft(head.model_copy(update={"count": head.count - 1}))
        return head

    def pending(self) -> list[dict[str, Any]]:
        """The waiting faults, oldest first, each with the calls it still takes."""
        return [fault.model_dump() for fault in self._waiting]

    def clear(self) -> None:
        """Drop every waiting fault."""
        self._waiting.clear()


class RequestLog:
    """The last requests as received, oldest first; an entry is filled in once answered."""

    def __init__(self, size: int = REQUEST_LOG_SIZE) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)

    def add(self, entry: dict[str, Any]) -> None:
        """Log a request, dropping the oldest once the log is full."""
        self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        """The logged requests, oldest first."""
        return list(self._entries)

    def clear(self) -> None:
        """Forget every logged request."""
        self._entries.clear()


def add_control_routes(
    app: FastAPI,
    faults: FaultQueue[F],
    log: RequestLog,
    fault_model: type[F],
    on_reset: Callable[[], dict[str, Any]],
) -> None:
    """Serve POST /_standin/reset (empties `faults` and `log`, answers what `on_reset` returns),
    GET and POST /_standin/faults (POST queues a `fault_model` body) and GET /_standin/requests."""

    # The stand-in's own return type stays the documented response schema.
    @app.post("/_standin/reset", response_model=get_type_hints(on_reset)["return"])
    async def reset() -> dict[str, Any]:
        faults.clear()
        log.clear()
        return on_reset()

    async def add_fault(fault: Any) -> list[dict[str, Any]]:
        faults.add(fault)
        return faults.pending()

    # FastAPI takes the body model from the annotation, known here only at run time.
    add_fault.__annotations__["fault"] = fault_model
    app.post("/_standin/faults")(add_fault)

    @app.get("/_standin/faults")
    async def pending_faults() -> list[dict[str, Any]]:
        return faults.pending()

    @app.get("/_standin/requests")
    async def requests() -> list[dict[str, Any]]:
        return log.entries()
