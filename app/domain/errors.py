"""The service's errors: one root, the API's (AppError, with an HTTP status), the tasks'
(AgentError, with a TaskErrorCode), and the one way an exception becomes a recorded error."""

from __future__ import annotations

from enum import StrEnum

from app.domain.models import TaskErrorInfo


class TaskErrorCode(StrEnum):
    """Every `error.type` a task, an agent run or a tool call can end with (the public codes)."""

    # routing
    UNKNOWN_TASK_TYPE = "UNKNOWN_TASK_TYPE"  # no agent fits, or the router was not sure enough
    ROUTER_INVALID_OUTPUT = "ROUTER_INVALID_OUTPUT"  # the router's answer was invalid twice
    # agents
    CODE_NO_OUTPUT = "CODE_NO_OUTPUT"
    SEARCH_NO_RESULTS = "SEARCH_NO_RESULTS"
    # dependencies (the deferrable ones send the task back to the queue for a while first)
    LLM_RATE_LIMITED = "LLM_RATE_LIMITED"
    LLM_TIMEOUT = "LLM_TIMEOUT"
    LLM_UNAVAILABLE = "LLM_UNAVAILABLE"
    LLM_AUTH_ERROR = "LLM_AUTH_ERROR"
    LLM_BAD_REQUEST = "LLM_BAD_REQUEST"
    SEARCH_RATE_LIMITED = "SEARCH_RATE_LIMITED"
    SEARCH_UNAVAILABLE = "SEARCH_UNAVAILABLE"
    SEARCH_AUTH_ERROR = "SEARCH_AUTH_ERROR"
    SEARCH_BAD_REQUEST = "SEARCH_BAD_REQUEST"
    # the task's life
    TIMEOUT = "TIMEOUT"  # ran longer than TASK_TIMEOUT_SECONDS
    CANCELLED = "CANCELLED"
    MAX_ATTEMPTS_EXCEEDED = "MAX_ATTEMPTS_EXCEEDED"  # its worker was lost too many times
    CHECKPOINT_EXPIRED = "CHECKPOINT_EXPIRED"
    CHECKPOINT_REJECTED = "CHECKPOINT_REJECTED"
    INTERNAL_ERROR = "INTERNAL_ERROR"  # a bug: the message names the exception


class OrchestratorError(Exception):
    """The root of the service's own errors: a code and a message meant for people."""

    code: str = TaskErrorCode.INTERNAL_ERROR

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class AppError(OrchestratorError):
    """An expected failure of a request, rendered as {"error": code, "detail": message,
    "request_id"} with its HTTP status."""

    status = 500

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message, code=code)
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


class InvalidInput(AppError):
    """A request body that fits its schema but not the service's own rules (an approval's
    edits for another stage, say). Answered 422 in FastAPI's validation shape, naming the
    field, so that every 422 reads the same."""

    status = 422

    def __init__(self, message: str, *, field: str, kind: str):
        super().__init__(message, code=kind)
        self.field = field


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


class KeyNotFound(AppError):
    code = "KEY_NOT_FOUND"
    status = 404


class InvalidCursor(AppError):
    code = "INVALID_CURSOR"
    status = 400


class StoreUnavailable(AppError):
    code = "STORE_UNAVAILABLE"
    status = 503


class RateLimited(AppError):
    """429 with the limit that refused the request, in Retry-After and X-RateLimit-*."""

    code = "RATE_LIMITED"
    status = 429

    def __init__(self, message: str, headers: dict[str, str]):
        super().__init__(message)
        self.headers = headers


class LimiterUnavailable(AppError):
    code = "RATE_LIMITER_UNAVAILABLE"
    status = 503


class AgentError(OrchestratorError):
    """A failure during a run that fails the task with error.type = code.

    A deferrable one (a dependency is unavailable for now) sends the task back to the queue
    until the deferrals allowed run out.
    """

    code: TaskErrorCode

    def __init__(self, code: TaskErrorCode, message: str, *, deferrable: bool = False):
        super().__init__(message, code=code)
        self.code = code
        self.deferrable = deferrable


def error_record(exc: BaseException) -> TaskErrorInfo:
    """The error recorded for an exception, wherever it ends a task, a run or a tool call: an
    AgentError's own code, INTERNAL_ERROR naming the exception for anything else."""
    if isinstance(exc, AgentError):
        return TaskErrorInfo(type=exc.code, message=exc.message)
    detail = str(exc)
    name = type(exc).__name__
    return TaskErrorInfo(
        type=TaskErrorCode.INTERNAL_ERROR, message=f"{name}: {detail}" if detail else name
    )
