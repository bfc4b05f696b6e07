"""How a request is written and a structured answer becomes (parsed, parsing_error)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.utils.function_calling import convert_to_openai_function
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletion

from app.agents.peer import routing_schema
from app.config import ModelPrice
from app.domain.errors import AgentError
from app.llm.completions import (
    answer_text,
    check_completion,
    openai_messages,
    parse_structured,
    response_format,
)
from app.llm.usage import usage_of


def completion(content: str | None, finish_reason: str = "stop", **message: Any) -> ChatCompletion:
    """A chat completion as the SDK parses one from the wire."""
    return ChatCompletion.model_validate(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "gpt-4.1-mini",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": finish_reason,
                    "message": {"role": "assistant", "content": content, **message},
                }
            ],
        }
    )


def test_response_format_is_the_strict_json_schema_with_structured_output_sends() -> None:
    schema = routing_schema(["ContentAgent", "CodeAgent"])
    expected = convert_to_openai_function(schema, strict=True)
    expected["schema"] = expected.pop("parameters")
    sent = response_format(schema)
    assert sent == {"type": "json_schema", "json_schema": expected}
    assert sent["json_schema"]["strict"] is True
    # Property order is generation order for strict schemas: it is kept as written.
    assert list(sent["json_schema"]["schema"]["properties"]) == list(schema["properties"])


def test_json_answer_parses() -> None:
    message = completion('{"agent_name": "CodeAgent", "confidence": 0.9, "reasoning": "code"}')
    assert parse_structured(message) == (
        {"agent_name": "CodeAgent", "confidence": 0.9, "reasoning": "code"},
        None,
    )


def test_fenced_json_parses_as_langchain_json_parser_does() -> None:
    message = completion('```json\n{"agent_name": "ContentAgent"}\n```')
    assert parse_structured(message) == ({"agent_name": "ContentAgent"}, None)


def test_text_that_is_not_json_is_a_parsing_error() -> None:
    parsed, error = parse_structured(completion("I would pick the code agent."))
    assert parsed is None
    assert error is not None
    assert "Invalid json output" in error


def test_refusal_and_content_filter_are_parsing_errors() -> None:
    refused = completion(None, refusal="I can't help with that.")
    assert parse_structured(refused) == (None, "the model refused: I can't help with that.")
    filtered = completion('{"agent_name": "Co', finish_reason="content_filter")
    parsed, error = parse_structured(filtered)
    assert parsed is None
    assert error == "the model's output was stopped by a content filter"


def test_an_answer_without_choices_is_a_parsing_error_and_no_text() -> None:
    empty = completion("unused").model_copy(update={"choices": []})
    assert parse_structured(empty) == (None, "the answer has no choices")
    assert answer_text(empty) == ""


def test_messages_are_sent_in_the_chat_completions_format() -> None:
    turns = [
        SystemMessage("route"),
        HumanMessage("earlier"),
        AIMessage("answer"),
        HumanMessage("now"),
    ]
    assert openai_messages("gpt-4.1-mini", turns) == [
        {"role": "system", "content": "route"},
        {"role": "user", "content": "earlier"},
        {"role": "assistant", "content": "answer"},
        {"role": "user", "content": "now"},
    ]


def test_reasoning_models_get_the_system_prompt_as_a_developer_message() -> None:
    sent = openai_messages("o3-mini", [SystemMessage("write code"), HumanMessage("task")])
    assert [m["role"] for m in sent] == ["developer", "user"]


@pytest.mark.parametrize(
    "answer",
    [
        completion("ok").model_copy(update={"choices": []}),
        ChatCompletion.construct(error={"message": "upstream overloaded"}),  # type: ignore[call-arg]
        "<html>Bad gateway</html>",
    ],
    ids=["no choices", "an error body", "not JSON"],
)
def test_a_200_without_a_completion_is_a_provider_failure(answer: object) -> None:
    with pytest.raises(AgentError) as raised:
        check_completion(answer)
    assert raised.value.code == "LLM_UNAVAILABLE"
    assert raised.value.deferrable


def test_a_completion_passes_the_check() -> None:
    check_completion(completion("fine"))


def test_null_token_counts_count_as_none() -> None:
    reported = CompletionUsage.construct(
        prompt_tokens=None, completion_tokens=None, total_tokens=None
    )
    assert usage_of(reported, ModelPrice(input=1.0, output=2.0)).input_tokens == 0
    counted = usage_of(
        CompletionUsage(prompt_tokens=1000, completion_tokens=500, total_tokens=1500),
        ModelPrice(input=1.0, output=2.0),
    )
    assert (counted.input_tokens, counted.output_tokens, counted.cost_usd) == (1000, 500, 0.002)
