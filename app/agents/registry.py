"""The registry maps agent names to agents; adding an agent is one module plus one line here."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from app.agents.base import Agent, AgentDeps
from app.agents.code import CodeAgent
from app.agents.content import ContentAgent

AGENTS: Sequence[Callable[[AgentDeps], Agent]] = (
    ContentAgent,
    CodeAgent,
)


def agent_names(agents: Sequence[Callable[[AgentDeps], Agent]] = AGENTS) -> list[str]:
    """The registered agents' names, without building them (each class names itself)."""
    return [str(getattr(factory, "name", "")) for factory in agents]


class AgentRegistry:
    """The agents the router may choose from, by name."""

    def __init__(self, agents: Sequence[Agent]):
        self._agents = {agent.name: agent for agent in agents}

    @classmethod
    def build(
        cls, deps: AgentDeps, agents: Sequence[Callable[[AgentDeps], Agent]] = AGENTS
    ) -> AgentRegistry:
        """Every registered agent, built from deps."""
        return cls([factory(deps) for factory in agents])

    def __iter__(self) -> Iterator[Agent]:
        return iter(self._agents.values())

    def __contains__(self, name: object) -> bool:
        return name in self._agents

    def get(self, name: str) -> Agent:
        return self._agents[name]

    @property
    def names(self) -> list[str]:
        return list(self._agents)

    def describe(self) -> str:
        """One line per agent, for the router's prompt."""
        return "\n".join(f"- {agent.name}: {agent.description}" for agent in self)
