"""Token usage reported by the provider, priced with the table in settings."""

from __future__ import annotations

from langchain_core.messages import AIMessage, BaseMessage

from app.config import ModelPrice
from app.domain.models import Usage


def usage_of(message: BaseMessage, price: ModelPrice | None) -> Usage:
    """Input/output tokens the provider reported for one response, and their cost."""
    if not isinstance(message, AIMessage) or message.usage_metadata is None:
        return Usage()
    meta = message.usage_metadata
    inputs, outputs = meta["input_tokens"], meta["output_tokens"]
    cost = 0.0 if price is None else (inputs * price.input + outputs * price.output) / 1_000_000
    return Usage(input_tokens=inputs, output_tokens=outputs, cost_usd=round(cost, 8))
