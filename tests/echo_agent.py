"""A third agent, as a user of the platform would add one: one module plus one registry line."""

from __future__ import annotations

from app.agents.base import AgentDeps, AgentOutput, AgentRequest


class EchoAgent:
    name = "EchoAgent"
    description = "Echoes the user's text back unchanged; for repeating or echoing text."

    def __init__(self, deps: AgentDeps):
        self._deps = deps

    async def run(self, request: AgentRequest) -> AgentOutput:
        """Answer with the task itself."""
        return AgentOutput(summary=request.task[:80], raw_output=request.task)
