"""One error root: every expected failure is an AppError with a code and an HTTP status."""

from __future__ import annotations


class AppError(Exception):
    """An expected failure, rendered as {"error": code, "detail": message, "request_id"}."""

    code = "INTERNAL_ERROR"
    status = 500

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class Unauthorized(AppError):
    code = "UNAUTHORIZED"
    status = 401


class Forbidden(AppError):
    code = "FORBIDDEN"
    status = 403


class TaskNotFound(AppError):
    code = "TASK_NOT_FOUND"
    status = 404

    def __init__(self, task_id: str):
        super().__init__(f"Task {task_id} was not found.")


class SessionNotFound(AppError):
    code = "SESSION_NOT_FOUND"
    status = 404

    def __init__(self, session_id: str):
        super().__init__(f"Session {session_id} has no messages of yours.")


class InvalidTransition(AppError):
    code = "INVALID_TRANSITION"
    status = 409


class IdempotencyConflict(AppError):
    code = "IDEMPOTENCY_KEY_REUSED"
    status = 409


class CheckpointNotFound(AppError):
    code = "CHECKPOINT_NOT_FOUND"
    status = 404

    def __init__(self, checkpoint_id: str):
        super().__init__(f"Checkpoint {checkpoint_id} was not found.")


class InvalidCursor(AppError):
    code = "INVALID_CURSOR"
    status = 400


class StoreUnavailable(AppError):
    code = "STORE_UNAVAILABLE"
    status = 503


class AgentError(Exception):
    """A failure during a run that fails the task with error.type = code.

    A deferrable one (a dependency is unavailable for now) sends the task back to the queue
    until the deferrals allowed run out.
    """

    def __init__(self, code: str, message: str, *, deferrable: bool = False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.deferrable = deferrable
