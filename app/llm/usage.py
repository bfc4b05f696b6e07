"""Token usage reported by the provider, as the domain's Usage."""

from __future__ import annotations

from langchain_core.messages import AIMessage, BaseMessage

from app.domain.models import Usage


def usage_of(message: BaseMessage) -> Usage:
    """The input/output tokens the provider reported for one response."""
    if not isinstance(message, AIMessage) or message.usage_metadata is None:
        return Usage()
    meta = message.usage_metadata
    return Usage(input_tokens=meta["input_tokens"], output_tokens=meta["output_tokens"])
