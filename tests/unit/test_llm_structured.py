"""How a structured answer becomes (parsed, parsing_error), without nested runnables."""

from __future__ import annotations

from langchain_core.messages import AIMessage
from langchain_core.utils.function_calling import convert_to_openai_function

from app.agents.peer import routing_schema
from app.llm.client import parse_structured, response_format


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
    message = AIMessage('{"agent_name": "CodeAgent", "confidence": 0.9, "reasoning": "code"}')
    assert parse_structured(message) == (
        {"agent_name": "CodeAgent", "confidence": 0.9, "reasoning": "code"},
        None,
    )


def test_fenced_json_parses_as_langchain_json_parser_does() -> None:
    message = AIMessage('```json\n{"agent_name": "ContentAgent"}\n```')
    assert parse_structured(message) == ({"agent_name": "ContentAgent"}, None)


def test_text_that_is_not_json_is_a_parsing_error() -> None:
    parsed, error = parse_structured(AIMessage("I would pick the code agent."))
    assert parsed is None
    assert error is not None
    assert "Invalid json output" in error


def test_refusal_and_content_filter_are_parsing_errors() -> None:
    refused = AIMessage("", additional_kwargs={"refusal": "I can't help with that."})
    assert parse_structured(refused) == (None, "the model refused: I can't help with that.")
    filtered = AIMessage(
        '{"agent_name": "Co', response_metadata={"finish_reason": "content_filter"}
    )
    parsed, error = parse_structured(filtered)
    assert parsed is None
    assert error == "the model's output was stopped by a content filter"
