"""The router graph's types: its state, the context its nodes run with, the compiled graph, and
how a run of it ended."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict, cast

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Interrupt

from app.agents.base import AgentOutput
from app.agents.registry import AgentRegistry
from app.agents.runs import RunRecorder
from app.domain.models import RoutingDecision, RoutingOverride, TaskErrorInfo
from app.llm import LLMClient

# Where LangGraph's ainvoke answers the interrupts a run stopped at (it has no public name).
INTERRUPTS = "__interrupt__"


class PeerState(TypedDict, total=False):
    task_id: str
    session_id: str
    task: str
    history: list[dict[str, Any]]
    require_approval: bool
    routing: dict[str, Any] | None
    selected_agent: str | None
    needs_confirmation: bool
    output: dict[str, Any]
    error: dict[str, str] | None


@dataclass(frozen=True)
class PeerContext:
    """What the graph's nodes run with (LangGraph runtime context)."""

    registry: AgentRegistry
    llm: LLMClient
    runs: RunRecorder
    min_confidence: float
    # Stores the decision on the task as soon as it is made (dashboards, the event stream).
    record_routing: Callable[[RoutingDecision], Awaitable[object]]
    # Stores a reviewer's choice of another agent (a routing checkpoint's edit) on the task.
    record_override: Callable[[RoutingOverride], Awaitable[object]]
    # Human in the loop: confirm decisions below this confidence; approve these agents' output.
    confirm_below: float | None = None
    approval_agents: frozenset[str] = frozenset()


PeerGraph = CompiledStateGraph[PeerState, PeerContext, PeerState, PeerState]


@dataclass(frozen=True)
class PeerResult:
    """How one run of the graph ended: paused for a person, failed, or answered."""

    selected_agent: str | None
    interrupt: Interrupt | None = None
    error: TaskErrorInfo | None = None
    output: AgentOutput | None = None

    @classmethod
    def of(cls, final: Mapping[str, Any]) -> PeerResult:
        """Read the final state ainvoke answered (a PeerState, plus its interrupts)."""
        state = cast(PeerState, final)
        agent = state.get("selected_agent")
        if interrupts := final.get(INTERRUPTS):
            return cls(agent, interrupt=interrupts[0])
        if error := state.get("error"):
            return cls(agent, error=TaskErrorInfo.model_validate(error))
        return cls(agent, output=AgentOutput.model_validate(state["output"]))
