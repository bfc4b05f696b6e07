"""Every LLM call goes through here: a chat model per role, usage, error normalisation."""

from app.llm.errors import llm_errors
from app.llm.factory import ChatModelFactory, Role
from app.llm.usage import usage_of

__all__ = ["ChatModelFactory", "Role", "llm_errors", "usage_of"]
