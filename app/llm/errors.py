"""Provider failures become typed task errors (error.type) instead of stack traces."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import openai

from app.domain.errors import AgentError


def classify(exc: openai.OpenAIError) -> AgentError:
    """The task error for one provider exception."""
    if isinstance(exc, openai.RateLimitError):
        return AgentError("LLM_RATE_LIMITED", f"The LLM provider rate-limited the call: {exc}")
    if isinstance(exc, openai.APITimeoutError):
        return AgentError("LLM_TIMEOUT", "The LLM call timed out.")
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return AgentError("LLM_AUTH_ERROR", f"The LLM provider refused the credentials: {exc}")
    if isinstance(exc, openai.BadRequestError | openai.UnprocessableEntityError):
        return AgentError("LLM_BAD_REQUEST", f"The LLM provider rejected the request: {exc}")
    return AgentError("LLM_UNAVAILABLE", f"The LLM provider is unavailable: {exc}")


@contextmanager
def llm_errors() -> Iterator[None]:
    """Re-raise provider exceptions as AgentError with a typed code."""
    try:
        yield
    except openai.OpenAIError as exc:
        raise classify(exc) from exc
