"""A session's earlier turns as chat messages."""

from __future__ import annotations

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from app.domain.models import Message


def history_messages(history: list[Message]) -> list[BaseMessage]:
    """Earlier user tasks and agent answers, oldest first."""
    return [HumanMessage(m.content) if m.role == "user" else AIMessage(m.content) for m in history]
