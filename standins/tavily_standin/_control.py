"""Test control of the Tavily stand-in: injected search faults."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Tavily's messages per status, as its API documentation words them.
_MESSAGES = {
    400: "Bad Request: the request is invalid or cannot be served.",
    401: "Unauthorized: missing or invalid API key.",
    403: "Forbidden: the requested resource is not available to this API key.",
    429: "Your request has been blocked due to excessive requests. "
    "Please reduce the rate of requests.",
    432: "This request exceeds your plan's set usage limit. "
    "Please upgrade your plan or contact support@tavily.com",
    433: "This request exceeds the pay-as-you-go limit. "
    "You can increase your limit on the Tavily dashboard.",
    500: "Internal Server Error: an unexpected error occurred.",
    502: "Bad Gateway: the search backend did not answer.",
    503: "Service Unavailable: Tavily is temporarily overloaded.",
}


class SearchFault(BaseModel):
    """Body of POST /_standin/faults: how the next `count` searches misbehave."""

    model_config = ConfigDict(extra="forbid")

    status: Literal[400, 401, 403, 429, 432, 433, 500, 502, 503] | None = None
    delay_ms: int | None = Field(default=None, ge=0, le=600_000)
    count: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _misbehaves(self) -> SearchFault:
        if self.status is None and self.delay_ms is None:
            raise ValueError("give status or delay_ms")
        return self

    @property
    def message(self) -> str:
        """What Tavily says with this fault's status (injected, so the stand-in says so too)."""
        status = self.status or 500
        return f"{_MESSAGES[status]} (injected by the offline stand-in)"
