"""OpenAI's protocol as the stand-in speaks it: error bodies and request-body validation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse

ROLES = ("system", "assistant", "user", "function", "tool", "developer")


class OpenAIAPIError(Exception):
    """An error rendered with OpenAI's error body: {"error": {message, type, param, code}}."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        kind: str = "invalid_request_error",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = (
            status,
            message,
            param,
            code,
            kind,
        )
        self.headers = headers or {}

    def response(self, request_id: str | None = None) -> JSONResponse:
        """The HTTP response OpenAI would send for this error."""
        error = {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}
        headers = (
            self.headers if request_id is None else {**self.headers, "x-request-id": request_id}
        )
        return JSONResponse({"error": error}, status_code=self.status, headers=headers)


def _unsupported(param: str, what: str) -> OpenAIAPIError:
    return OpenAIAPIError(
        400,
        f"The offline OpenAI stand-in does not support {what}.",
        param=param,
        code="unsupported_value",
    )


@dataclass(frozen=True)
class ChatRequest:
    """The parts of a chat-completions request the stand-in answers from."""

    model: str
    texts: list[tuple[str, str]]
    response_format: dict[str, Any] | None
    forced_tool: dict[str, Any] | None

    @property
    def user_turns(self) -> list[str]:
        """The texts of the user messages, oldest first."""
        return [text for role, text in self.texts if role == "user"]

    @property
    def structured(self) -> bool:
        """Whether the request asks for JSON: a JSON response_format or a forced tool call."""
        return self.response_format is not None or self.forced_tool is not None


def _content_text(content: Any, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise OpenAIAPIError(
            400,
            f"Invalid type for '{where}': expected a string or array.",
            param=where,
            code="invalid_type",
        )
    texts = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("text", "refusal"):
            texts.append(str(part.get(kind, "")))
        elif kind in ("image_url", "input_audio", "file"):
            raise _unsupported(f"{where}[{j}].type", f"'{kind}' content parts (text only)")
        else:
            raise OpenAIAPIError(
                400,
                f"Invalid value: '{kind}'. Supported values are: 'text', 'image_url', "
                "'input_audio', 'refusal', and 'file'.",
                param=f"{where}[{j}].type",
                code="invalid_value",
            )
    return "\n".join(texts)


def _parse_messages(raw: Any) -> list[tuple[str, str]]:
    if raw is None:
        raise OpenAIAPIError(
            400,
            "Missing required parameter: 'messages'.",
            param="messages",
            code="missing_required_parameter",
        )
    if not isinstance(raw, list):
        raise OpenAIAPIError(
            400,
            "Invalid type for 'messages': expected an array.",
            param="messages",
            code="invalid_type",
        )
    if not raw:
        raise OpenAIAPIError(
            400,
            "Invalid 'messages': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            param="messages",
            code="empty_array",
        )
    texts = []
    for i, message in enumerate(raw):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            role = message.get("role") if isinstance(message, dict) else None
            supported = ", ".join(f"'{r}'" for r in ROLES[:-1]) + f", and '{ROLES[-1]}'"
            raise OpenAIAPIError(
                400,
                f"Invalid value: '{role}'. Supported values are: {supported}.",
                param=f"messages[{i}].role",
                code="invalid_value",
            )
        texts.append(
            (str(message["role"]), _content_text(message.get("content"), f"messages[{i}].content"))
        )
    return texts


def _forced_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    tools = [
        t["function"]
        for t in body.get("tools") or []
        if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]
    choice = body.get("tool_choice")
    if choice == "required" and tools:
        return dict(tools[0])
    if isinstance(choice, dict):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        match = next((t for t in tools if t.get("name") == name), None)
        if match is None:
            raise OpenAIAPIError(
                400,
                f"Invalid value for 'tool_choice': 'tool_choice' references '{name}' but "
                "no such function exists in 'tools'.",
                param="tool_choice",
                code="invalid_value",
            )
        return dict(match)
    # With "auto" a real model may or may not call a tool; the stand-in always answers in text.
    return None


def parse_chat_request(body: Any) -> ChatRequest:
    """Validate a chat-completions body as OpenAI does, refusing what the stand-in cannot do."""
    if not isinstance(body, dict):
        raise OpenAIAPIError(400, "We could not parse the JSON body of your request.")
    if body.get("stream"):
        raise _unsupported("stream", "streaming (stream: true); send stream: false")
    if (body.get("n") or 1) != 1:
        raise _unsupported("n", "n > 1 (several choices)")
    if body.get("logprobs"):
        raise _unsupported("logprobs", "logprobs")
    if "audio" in (body.get("modalities") or []) or body.get("audio"):
        raise _unsupported("modalities", "audio output")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise OpenAIAPIError(400, "you must provide a model parameter")
    texts = _parse_messages(body.get("messages"))
    response_format = body.get("response_format")
    if response_format is not None and not isinstance(response_format, dict):
        raise OpenAIAPIError(
            400,
            "Invalid type for 'response_format': expected an object.",
            param="response_format",
            code="invalid_type",
        )
    if response_format is not None:
        kind = response_format.get("type")
        json_schema = response_format.get("json_schema")
        if kind == "json_schema" and not isinstance(json_schema, dict):
            raise OpenAIAPIError(
                400,
                "Missing required parameter: 'response_format.json_schema'.",
                param="response_format.json_schema",
                code="missing_required_parameter",
            )
        if isinstance(json_schema, dict) and not isinstance(json_schema.get("schema", {}), dict):
            raise OpenAIAPIError(
                400,
                "Invalid type for 'response_format.json_schema.schema': expected an object.",
                param="response_format.json_schema.schema",
                code="invalid_type",
            )
        if kind == "json_object" and not any("json" in t.lower() for _, t in texts):
            raise OpenAIAPIError(
                400,
                "'messages' must contain the word 'json' in some form, to use "
                "'response_format' of type 'json_object'.",
                param="messages",
            )
        if kind not in ("json_schema", "json_object", "text"):
            raise OpenAIAPIError(
                400,
                f"Invalid value: '{kind}'. Supported values are: 'text', 'json_object', "
                "and 'json_schema'.",
                param="response_format.type",
                code="invalid_value",
            )
        response_format = None if kind == "text" else response_format
    return ChatRequest(model, texts, response_format, _forced_tool(body))
