"""Every LLM call goes through here: a model per role, retries, breaker, usage, errors."""

from app.llm.client import LLMClient, LLMReply, StructuredReply
from app.llm.errors import CircuitOpen
from app.llm.factory import ChatEndpoint, ModelRole

__all__ = ["ChatEndpoint", "CircuitOpen", "LLMClient", "LLMReply", "ModelRole", "StructuredReply"]
