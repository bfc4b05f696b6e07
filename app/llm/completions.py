"""What goes into a chat completion and what is read out of one: the messages in OpenAI's
format, the strict response format for a schema, and the answer's text or JSON object."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from langchain_core.exceptions import OutputParserException
from langchain_core.messages import BaseMessage, convert_to_openai_messages
from langchain_core.output_parsers import JsonOutputParser
from langchain_core.utils.function_calling import convert_to_openai_function
from openai.types.chat import ChatCompletion

from app.domain.errors import AgentError, TaskErrorCode

_JSON = JsonOutputParser()


@lru_cache(maxsize=64)
def _response_format_of(schema_json: str) -> dict[str, Any]:
    function = convert_to_openai_function(json.loads(schema_json), strict=True)
    function["schema"] = function.pop("parameters")
    return {"type": "json_schema", "json_schema": function}


def response_format(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's strict json_schema response format for `schema` (built once per schema)."""
    return _response_format_of(json.dumps(schema))


def check_completion(result: object) -> None:
    """A 200 that carries no completion (an error body, no choices, not JSON) is a failure of
    the provider, not an empty answer."""
    if not isinstance(result, ChatCompletion):
        raise AgentError(
            TaskErrorCode.LLM_UNAVAILABLE,
            "The LLM provider answered without JSON.",
            deferrable=True,
        )
    error = (result.model_extra or {}).get("error")
    if error is not None or not result.choices:
        detail = f": {error}" if error is not None else ""
        raise AgentError(
            TaskErrorCode.LLM_UNAVAILABLE,
            f"The LLM provider answered without a completion{detail}",
            deferrable=True,
        )


def answer_text(completion: ChatCompletion) -> str:
    """The text of the first choice ("" when there is none)."""
    if not completion.choices:
        return ""
    return completion.choices[0].message.content or ""


def parse_structured(completion: ChatCompletion) -> tuple[Any, str | None]:
    """The JSON object in a structured answer, or why there is none (refusal, filter, bad JSON)."""
    if not completion.choices:
        return None, "the answer has no choices"
    choice = completion.choices[0]
    if refusal := choice.message.refusal:
        return None, f"the model refused: {refusal}"
    if choice.finish_reason == "content_filter":
        return None, "the model's output was stopped by a content filter"
    try:
        return _JSON.parse(choice.message.content or ""), None
    except OutputParserException as exc:
        return None, str(exc)


# OpenAI's reasoning models take the system prompt as a `developer` message (as langchain-openai
# sends it to them).
_REASONING_MODEL = re.compile(r"^o\d")


def openai_messages(model: str, messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """`messages` in the chat-completions format, for `model`."""
    converted: list[dict[str, Any]] = convert_to_openai_messages(list(messages))
    if _REASONING_MODEL.match(model):
        for message in converted:
            if message["role"] == "system":
                message["role"] = "developer"
    return converted
