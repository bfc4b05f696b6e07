"""The router's rules: threshold, Unknown, and answers that name no registered agent."""

from __future__ import annotations

from typing import Any

import pytest

from app.agents.peer import parse_decision, route_to_agent, routing_schema
from app.agents.registry import AgentRegistry
from app.domain.models import RoutingDecision, Usage
from app.llm import StructuredReply


class _Named:
    def __init__(self, name: str) -> None:
        self.name = name
        self.description = f"{name} does things"

    async def run(self, request: Any) -> Any:
        raise NotImplementedError


REGISTRY = AgentRegistry([_Named("ContentAgent"), _Named("CodeAgent")])


def _route(
    agent: str, confidence: float, threshold: float = 0.5, confirm_below: float | None = None
) -> dict[str, Any]:
    decision = RoutingDecision(agent_name=agent, confidence=confidence, reasoning="because")
    return dict(route_to_agent(decision, threshold, confirm_below))


def test_confident_decision_selects_the_agent() -> None:
    assert _route("CodeAgent", 0.5) == {"selected_agent": "CodeAgent", "needs_confirmation": False}


def test_mid_confidence_asks_for_confirmation_when_the_policy_is_on() -> None:
    assert _route("CodeAgent", 0.75, confirm_below=0.9)["needs_confirmation"] is True
    assert _route("CodeAgent", 0.95, confirm_below=0.9)["needs_confirmation"] is False
    assert "error" in _route("CodeAgent", 0.4, confirm_below=0.9), "below the minimum still fails"


def test_low_confidence_fails_with_unknown_task_type() -> None:
    outcome = _route("CodeAgent", 0.49)
    assert outcome["selected_agent"] is None
    assert outcome["error"]["type"] == "UNKNOWN_TASK_TYPE"
    assert "0.49" in outcome["error"]["message"]
    assert "0.50" in outcome["error"]["message"]


def test_threshold_comes_from_settings() -> None:
    assert _route("ContentAgent", 0.75, threshold=0.8)["error"]["type"] == "UNKNOWN_TASK_TYPE"


def test_unknown_fails_even_when_confident() -> None:
    outcome = _route("Unknown", 0.99)
    assert outcome["error"] == {
        "type": "UNKNOWN_TASK_TYPE",
        "message": "No agent fits this task: because",
    }


def _reply(parsed: object, parsing_error: str | None = None) -> StructuredReply:
    return StructuredReply(parsed, parsing_error, raw_text="{}", usage=Usage(), model="m")


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        (_reply(None, "Expecting value: line 1 column 1"), "not JSON matching the schema"),
        (_reply({"agent_name": "CodeAgent"}), "does not match the schema"),
        (
            _reply({"agent_name": "ShellAgent", "confidence": 1, "reasoning": ""}),
            "'ShellAgent' is not one of the agents",
        ),
    ],
    ids=["not json", "missing fields", "unregistered agent"],
)
def test_invalid_answers_say_what_is_wrong(reply: StructuredReply, problem: str) -> None:
    decision, said = parse_decision(reply, REGISTRY)
    assert decision is None
    assert problem in said


def test_valid_answer_parses() -> None:
    reply = _reply({"agent_name": "CodeAgent", "confidence": 0.8, "reasoning": "code"})
    decision, said = parse_decision(reply, REGISTRY)
    assert decision is not None
    assert (decision.agent_name, decision.confidence, said) == ("CodeAgent", 0.8, "")


def test_schema_lists_the_registry_and_unknown() -> None:
    schema = routing_schema(REGISTRY.names)
    assert schema["properties"]["agent_name"]["enum"] == ["ContentAgent", "CodeAgent", "Unknown"]
    assert schema["required"] == ["agent_name", "confidence", "reasoning"]
    assert "- CodeAgent: CodeAgent does things" in REGISTRY.describe()
