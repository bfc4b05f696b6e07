"""Every LLM call goes through here: a chat model per role, retries, breaker, usage, errors."""

from app.llm.client import LLMClient, LLMReply, StructuredReply
from app.llm.errors import CircuitOpen
from app.llm.factory import ChatModelFactory, Role

__all__ = ["ChatModelFactory", "CircuitOpen", "LLMClient", "LLMReply", "Role", "StructuredReply"]
