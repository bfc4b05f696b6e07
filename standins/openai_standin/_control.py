"""Test control of the OpenAI stand-in: injected faults, request-log entries, control bodies."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, Field, model_validator

from standins.openai_standin._protocol import OpenAIAPIError

MALFORMED_LEAD_IN = "Here is the JSON you asked for: "
_INJECTED = " (injected by the offline stand-in)"
# What OpenAI answers for each status: message ({model} is the requested model), type, code.
_ERRORS: dict[int, tuple[str, str, str | None]] = {
    400: ("Invalid request: the request could not be processed.", "invalid_request_error", None),
    401: (
        "Incorrect API key provided. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        "invalid_request_error",
        "invalid_api_key",
    ),
    403: (
        "You have insufficient permissions for this operation. Check that you have the correct "
        "role in your organization and project, and that your API key has the necessary scopes.",
        "invalid_request_error",
        "permission_denied",
    ),
    404: (
        "The model `{model}` does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    ),
    429: (
        "Rate limit reached for {model} on requests per min (RPM): Limit 500, Used 500, "
        "Requested 1. Please try again later.",
        "requests",
        "rate_limit_exceeded",
    ),
    500: (
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        None,
    ),
    502: ("Bad gateway.", "server_error", None),
    503: ("The server is overloaded or not ready yet.", "server_error", None),
    504: ("Gateway timeout.", "server_error", None),
}


class LatencyUpdate(BaseModel):
    """Body of POST /_standin/latency."""

    ms: int = Field(ge=0, le=600_000)


class ConfidencePlan(BaseModel):
    """Body of POST /_standin/confidence: the next `count` structured answers give this
    confidence (the router's, say) instead of the classifier's."""

    model_config = ConfigDict(extra="forbid")

    value: float = Field(ge=0, le=1)
    count: int = Field(default=1, ge=1, le=1000)


class PlantRequest(BaseModel):
    """Body of POST /_standin/plant: a url every following cited answer also cites."""

    url: str = Field(pattern=r"^https?://\S+$")


class FaultPlan(BaseModel):
    """Body of POST /_standin/faults: how the next `count` completions misbehave."""

    model_config = ConfigDict(extra="forbid")

    status: Literal[400, 401, 403, 404, 429, 500, 502, 503, 504] | None = None
    malformed: bool = False
    delay_ms: int | None = Field(default=None, ge=0, le=600_000)
    retry_after_ms: int | None = Field(default=None, ge=0)
    count: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _one_misbehaviour(self) -> FaultPlan:
        if self.status is not None and self.malformed:
            raise ValueError("give either status or malformed, not both")
        if self.status is None and not self.malformed and self.delay_ms is None:
            raise ValueError("give status, malformed or delay_ms")
        if self.retry_after_ms is not None and self.status is None:
            raise ValueError("retry_after_ms goes with a status")
        return self

    def fits(self, *, structured: bool) -> bool:
        """Whether this fault can take a completion: a malformed one waits for structured output."""
        return structured or not self.malformed

    def error(self, model: str) -> OpenAIAPIError | None:
        """The error OpenAI would answer with for this fault's status, if it has one."""
        if self.status is None:
            return None
        message, kind, code = _ERRORS[self.status]
        headers: dict[str, str] = {}
        if self.retry_after_ms is not None:
            headers["retry-after-ms"] = str(self.retry_after_ms)
            headers["retry-after"] = str(math.ceil(self.retry_after_ms / 1000))
        text = message.format(model=model) + _INJECTED
        return OpenAIAPIError(self.status, text, code=code, kind=kind, headers=headers)


def truncated_json(text: str) -> str:
    """A chatty lead-in and the JSON cut off halfway: never valid JSON, and no lenient parser
    (langchain's partial-JSON repair) can recover an object from it."""
    return MALFORMED_LEAD_IN + text[: max(1, len(text) // 2)]


def request_entry(body: Any) -> dict[str, Any]:
    """A request-log entry for a request as received; status and usage stay null until answered."""
    sent = body if isinstance(body, dict) else {}
    return {
        "id": "req_" + uuid4().hex,
        "model": sent.get("model"),
        "messages": sent.get("messages"),
        "response_format": sent.get("response_format"),
        "tools": sent.get("tools"),
        "status": None,
        "usage": None,
        "received_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
