"""Token usage reported by the provider, priced with the table in settings."""

from __future__ import annotations

from openai.types import CompletionUsage

from app.config import ModelPrice
from app.domain.models import Usage


def usage_of(reported: CompletionUsage | None, price: ModelPrice | None) -> Usage:
    """Input/output tokens the provider reported for one response, and their cost."""
    if reported is None:
        return Usage()
    # Some OpenAI-compatible servers send null counts: counted as none.
    inputs, outputs = reported.prompt_tokens or 0, reported.completion_tokens or 0
    cost = 0.0 if price is None else (inputs * price.input + outputs * price.output) / 1_000_000
    return Usage(input_tokens=inputs, output_tokens=outputs, cost_usd=round(cost, 8))
