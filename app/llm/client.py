"""Every LLM call: circuit breaker, bounded retries with jittered backoff, telemetry, usage."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import openai
import structlog
from langchain_core.messages import BaseMessage
from openai.types.chat import ChatCompletion
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from app.config import LLMSettings
from app.domain.models import Usage
from app.llm.completions import (
    answer_text,
    check_completion,
    openai_messages,
    parse_structured,
    response_format,
)
from app.llm.errors import CircuitOpen, classify, counts_against_endpoint, is_retryable
from app.llm.factory import ChatEndpoint, ModelRole
from app.llm.usage import usage_of
from app.observability.metrics import (
    CIRCUIT_STATE,
    LLM_COST,
    LLM_REQUESTS,
    LLM_TOKENS,
    RATE_LIMIT_HITS,
)
from app.observability.run_context import current_run, tool_call

log = structlog.get_logger(__name__)
PREVIEW_CHARS = 500


@dataclass(frozen=True)
class LLMReply:
    """A chat answer with what it cost."""

    text: str
    usage: Usage
    model: str


@dataclass(frozen=True)
class StructuredReply:
    """A structured answer: the parsed object, or why it did not parse, and the raw text."""

    parsed: Any
    parsing_error: str | None
    raw_text: str
    usage: Usage
    model: str


_STATE_VALUES = {"closed": 0, "half-opened": 1, "opened": 2}


def _breaker_changed(circuit: str, event: str, payload: Any) -> None:
    if event == "state_changed":
        CIRCUIT_STATE.labels(circuit).set(_STATE_VALUES.get(payload.state, 2))
    elif event == "circuit_breaker_created":
        CIRCUIT_STATE.labels(circuit).set(0)


def _task_error(exc: Exception, endpoint: str, model: str) -> Exception:
    """The task error a failed call is: an open circuit, or the provider's error classified;
    anything else as it is."""
    if isinstance(exc, OpenedState):
        return CircuitOpen(endpoint, model)
    if isinstance(exc, openai.OpenAIError):
        return classify(exc)
    return exc


def _outcome(exc: BaseException) -> str:
    """A bounded label for a failed LLM call."""
    if isinstance(exc, OpenedState):
        return "circuit_open"
    if isinstance(exc, openai.RateLimitError):
        return "rate_limited"
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection_error"
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return "auth_error"
    if isinstance(exc, openai.APIStatusError):
        return "server_error" if exc.status_code >= 500 else "bad_request"
    return "other_error"


def _preview(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


class LLMClient:
    """The one way the agents talk to a model; policies come from settings."""

    def __init__(self, settings: LLMSettings, endpoint: ChatEndpoint | None = None):
        self._settings = settings
        self._endpoint = endpoint or ChatEndpoint(settings)
        self._breakers = AsyncCircuitBreakerFactory(
            default_threshold=settings.breaker_failures,
            default_ttl=settings.breaker_reset_seconds,
            exclude=[
                asyncio.CancelledError,
                (openai.OpenAIError, lambda exc: not counts_against_endpoint(exc)),
            ],
        )
        self._breakers.add_listener(_breaker_changed)

    def model_name(self, role: ModelRole) -> str:
        return self._endpoint.model_name(role)

    def warm_up(self) -> None:
        """Build the HTTP clients now rather than on the first task."""
        self._endpoint.warm_up()

    async def aclose(self) -> None:
        """Close the models' HTTP connections."""
        await self._endpoint.aclose()

    async def chat(self, role: ModelRole, messages: Sequence[BaseMessage]) -> LLMReply:
        """A free-text answer."""
        model = self.model_name(role)
        completion = await self._call(role, messages)
        return LLMReply(answer_text(completion), self._usage(completion, model, role), model)

    async def structured(
        self, role: ModelRole, messages: Sequence[BaseMessage], schema: dict[str, Any]
    ) -> StructuredReply:
        """An answer constrained to a JSON schema (response_format json_schema, strict)."""
        model = self.model_name(role)
        # The request with_structured_output(schema, method="json_schema", strict=True) makes.
        completion = await self._call(role, messages, response_format(schema))
        parsed, error = parse_structured(completion)
        return StructuredReply(
            parsed=parsed,
            parsing_error=error,
            raw_text=answer_text(completion),
            usage=self._usage(completion, model, role),
            model=model,
        )

    def _usage(self, completion: ChatCompletion, model: str, role: ModelRole) -> Usage:
        usage = usage_of(completion.usage, self._settings.prices.get(model))
        LLM_TOKENS.labels(model, role.value, "input").inc(usage.input_tokens)
        LLM_TOKENS.labels(model, role.value, "output").inc(usage.output_tokens)
        LLM_COST.labels(model, role.value).inc(usage.cost_usd)
        run = current_run()
        if run is not None:
            run.add_usage(usage, model)
        return usage

    async def _call(
        self,
        role: ModelRole,
        messages: Sequence[BaseMessage],
        response_format: dict[str, Any] | None = None,
    ) -> ChatCompletion:
        settings = self._settings
        model = self.model_name(role)
        request: dict[str, Any] = {"model": model, "messages": openai_messages(model, messages)}
        if response_format is not None:
            request["response_format"] = response_format
        circuit = f"{settings.endpoint}|{model}"
        retrying = AsyncRetrying(
            stop=stop_after_attempt(settings.max_attempts)
            | stop_after_delay(settings.retry_budget_seconds),
            wait=wait_exponential_jitter(
                multiplier=settings.retry_initial_seconds,
                max=settings.retry_max_wait_seconds,
                jitter=settings.retry_initial_seconds,
            ),
            retry=retry_if_exception(is_retryable),
            before_sleep=self._count_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(role, request, messages, circuit, attempt)
        except (OpenedState, openai.OpenAIError) as exc:
            raise _task_error(exc, settings.endpoint, model) from exc
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def _attempt(
        self,
        role: ModelRole,
        request: dict[str, Any],
        messages: Sequence[BaseMessage],
        circuit: str,
        attempt: Any,
    ) -> ChatCompletion:
        model = self.model_name(role)
        tool_input = {
            "model": model,
            "role": role.value,
            "attempt": attempt.retry_state.attempt_number,
            "messages": len(messages),
            "prompt": _preview(messages[-1].text) if messages else "",
        }
        breaker = await self._breakers.get_breaker(circuit)

        def typed(exc: Exception) -> Exception:
            # Recorded as what _call raises for it once retries end.
            return _task_error(exc, self._settings.endpoint, model)

        try:
            async with tool_call("llm", tool_input, typed) as call, breaker:
                # The body is plain JSON built here, so it is posted as it is: the SDK's
                # chat.completions.create would walk it against its TypedDicts first, which
                # changes nothing in it and costs 0.3-0.6 ms of CPU per call. Same endpoint,
                # same errors and response model (the SDK's documented `post`).
                result = await self._endpoint.client.post(
                    "/chat/completions", cast_to=ChatCompletion, body=request
                )
                check_completion(result)
                if result.usage is not None:
                    call.output = {
                        "input_tokens": result.usage.prompt_tokens,
                        "output_tokens": result.usage.completion_tokens,
                        "text": _preview(answer_text(result)),
                    }
        except Exception as exc:
            outcome = _outcome(exc)
            LLM_REQUESTS.labels(model, role.value, outcome).inc()
            if outcome == "rate_limited":
                RATE_LIMIT_HITS.labels("llm").inc()
            raise
        LLM_REQUESTS.labels(model, role.value, "ok").inc()
        return result

    @staticmethod
    def _count_retry(state: RetryCallState) -> None:
        run = current_run()
        if run is not None:
            run.llm_retries += 1
        error = state.outcome.exception() if state.outcome else None
        log.warning("llm_retry", attempt=state.attempt_number, error=type(error).__name__)
