"""What an agent is: a name, a description for the router, and an async run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from pydantic import BaseModel, Field

from app.config import Settings
from app.domain.models import Citation, Message
from app.llm import LLMClient


@dataclass(frozen=True)
class AgentRequest:
    """What an agent is asked: the task text and the session's recent turns."""

    task_id: str
    session_id: str
    task: str
    history: list[Message] = field(default_factory=list)


class AgentOutput(BaseModel):
    """An agent's answer; becomes the task's `result`."""

    summary: str
    raw_output: str
    code_language: str | None = None
    citations: list[Citation] = Field(default_factory=list)
    dropped_citations: int = Field(
        default=0, description="Urls the model cited that the search did not return."
    )


@dataclass(frozen=True)
class AgentDeps:
    """What agents are built from: settings, the LLM client and the search tool."""

    settings: Settings
    llm: LLMClient
    search: SearchTool


class SearchResult(BaseModel):
    title: str
    url: str
    content: str
    score: float = 0.0


class SearchTool(Protocol):
    async def search(self, query: str) -> list[SearchResult]:
        """Web results for query, best first."""
        ...


class Agent(Protocol):
    """A specialised agent the router can pick."""

    name: str
    description: str

    async def run(self, request: AgentRequest) -> AgentOutput:
        """Answer the request."""
        ...
