"""Provider failures become typed task errors (error.type) instead of stack traces."""

from __future__ import annotations

import openai

from app.domain.errors import AgentError, TaskErrorCode


class CircuitOpen(AgentError):
    """The endpoint's circuit is open: the task should wait and retry, not fail at once."""

    def __init__(self, endpoint: str, model: str):
        super().__init__(
            TaskErrorCode.LLM_UNAVAILABLE,
            f"The circuit for {model} at {endpoint} is open after repeated failures.",
            deferrable=True,
        )


def is_retryable(exc: BaseException) -> bool:
    """429, 5xx, timeouts and connection failures are worth another try; 4xx are not."""
    return isinstance(
        exc,
        openai.RateLimitError
        | openai.InternalServerError
        | openai.APITimeoutError
        | openai.APIConnectionError,
    ) or (isinstance(exc, openai.APIStatusError) and exc.status_code >= 500)


def counts_against_endpoint(exc: BaseException) -> bool:
    """Whether a failure says the endpoint is unhealthy (opens the circuit)."""
    return is_retryable(exc) and not isinstance(exc, openai.RateLimitError)


def classify(exc: openai.OpenAIError) -> AgentError:
    """The task error for one provider exception (after retries ran out).

    Rate limits, timeouts and unavailability are deferrable: the task waits and tries again.
    """
    if isinstance(exc, openai.RateLimitError):
        return AgentError(
            TaskErrorCode.LLM_RATE_LIMITED,
            f"The LLM provider rate-limited the call: {exc}",
            deferrable=True,
        )
    if isinstance(exc, openai.APITimeoutError):
        return AgentError(TaskErrorCode.LLM_TIMEOUT, "The LLM call timed out.", deferrable=True)
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return AgentError(
            TaskErrorCode.LLM_AUTH_ERROR, f"The LLM provider refused the credentials: {exc}"
        )
    if isinstance(exc, openai.APIStatusError) and exc.status_code < 500:
        return AgentError(
            TaskErrorCode.LLM_BAD_REQUEST, f"The LLM provider rejected the request: {exc}"
        )
    return AgentError(
        TaskErrorCode.LLM_UNAVAILABLE, f"The LLM provider is unavailable: {exc}", deferrable=True
    )
