"""An offline server for OpenAI's chat-completions API, answering deterministically."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from standins._standin_control import FaultQueue, RequestLog, add_control_routes
from standins.openai_standin import answers
from standins.openai_standin._classify import classify, subject
from standins.openai_standin._control import (
    ConfidencePlan,
    FaultPlan,
    LatencyUpdate,
    PlantRequest,
    request_entry,
    truncated_json,
)
from standins.openai_standin._protocol import ChatRequest, OpenAIAPIError, parse_chat_request
from standins.openai_standin._schema_instance import enum_values, schema_instance

MODELS = {"gpt-4.1-mini": 1744318173, "gpt-4.1": 1744316542, "o3-mini": 1737146383}
SYSTEM_FINGERPRINT = "fp_offline_standin"
_ROUTES = "POST /v1/chat/completions, GET /v1/models and GET /v1/models/{model}"


@dataclass
class StandinState:
    """Run-time settings and counters of one stand-in server."""

    latency_ms: int
    api_key: str | None
    by_model: Counter[str] = field(default_factory=Counter)
    faults: FaultQueue[FaultPlan] = field(default_factory=FaultQueue)
    requests: RequestLog = field(default_factory=RequestLog)
    planted: list[str] = field(default_factory=list)
    # Confidences the next structured answers give (POST /_standin/confidence), in order.
    confidences: list[float] = field(default_factory=list)


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _instance_of(schema: dict[str, Any], task: str, param: str, confidence: float | None) -> Any:
    try:
        return schema_instance(schema, task, confidence)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # A schema the generator cannot follow is refused, never answered with invalid JSON.
        raise OpenAIAPIError(
            400,
            f"The offline OpenAI stand-in cannot build a value for this JSON schema ({exc!r}).",
            param=param,
            code="unsupported_value",
        ) from exc


def _schema(req: ChatRequest) -> dict[str, Any] | None:
    """The JSON schema the request asks the answer to follow, if any."""
    empty = {"type": "object", "properties": {}}
    if req.forced_tool is not None:
        return req.forced_tool.get("parameters") or empty
    fmt = req.response_format
    if fmt is not None and fmt.get("type") == "json_schema":
        return fmt["json_schema"].get("schema") or empty
    return None


def _answer(
    req: ChatRequest, planted: Sequence[str], *, malformed: bool, confidence: float | None
) -> tuple[dict[str, Any], str]:
    """The assistant message and finish reason for a validated request."""
    schema = _schema(req)
    task = subject(req.user_turns, enum_values(schema))
    message: dict[str, Any] = {"role": "assistant", "refusal": None, "annotations": []}
    if req.forced_tool is not None and schema is not None:
        name = str(req.forced_tool.get("name", ""))
        params = "tools[].function.parameters"
        arguments = json.dumps(_instance_of(schema, task, params, confidence))
        call_id = "call_" + _digest(name, arguments, task)[:24]
        if malformed:
            arguments = truncated_json(arguments)
        message["content"] = None
        message["tool_calls"] = [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
        ]
        return message, "tool_calls"
    if schema is not None:
        message["content"] = json.dumps(_instance_of(schema, task, "response_format", confidence))
    elif req.response_format is not None:
        cls = classify(task)
        reply = {"category": cls.kind, "confidence": cls.confidence, "reasoning": cls.reasoning}
        message["content"] = json.dumps(reply)
    else:
        message["content"] = answers.text_answer(task, planted)
    if malformed:
        message["content"] = truncated_json(message["content"])
    return message, "stop"


def _completion(
    req: ChatRequest,
    body: dict[str, Any],
    planted: Sequence[str],
    *,
    malformed: bool,
    confidence: float | None = None,
) -> dict[str, Any]:
    message, finish_reason = _answer(req, planted, malformed=malformed, confidence=confidence)
    prompt_tokens = answers.estimate_tokens("".join(text for _, text in req.texts))
    produced = message["content"] or "".join(
        c["function"]["name"] + c["function"]["arguments"] for c in message.get("tool_calls", [])
    )
    completion_tokens = answers.estimate_tokens(produced)
    return {
        "id": "chatcmpl-" + _digest(body)[:29],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": req.model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "service_tier": "default",
    }


def _check_key(request: Request, state: StandinState) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise OpenAIAPIError(
            401,
            "You didn't provide an API key. You need to provide your API key in an "
            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            code="invalid_api_key",
        )
    if state.api_key is not None and token != state.api_key:
        masked = f"{token[:4]}{'*' * 8}{token[-4:]}" if len(token) > 8 else "*" * len(token)
        raise OpenAIAPIError(
            401,
            f"Incorrect API key provided: {masked}. The offline OpenAI stand-in accepts "
            "only the key it was started with (--api-key).",
            code="invalid_api_key",
        )


async def _complete(request: Request, body: Any, state: StandinState) -> dict[str, Any]:
    """Check, fault and answer one chat completion; raises OpenAIAPIError for error answers."""
    _check_key(request, state)
    req = parse_chat_request(body)
    fault = state.faults.take(lambda plan: plan.fits(structured=req.structured))
    delay_ms = state.latency_ms
    if fault is not None:
        delay_ms += fault.delay_ms or 0
    if delay_ms > 0:
        await asyncio.sleep(delay_ms / 1000)
    error = fault.error(req.model) if fault is not None else None
    if error is not None:
        raise error
    malformed = fault is not None and fault.malformed
    confidence = state.confidences.pop(0) if req.structured and state.confidences else None
    completion = _completion(req, body, state.planted, malformed=malformed, confidence=confidence)
    state.by_model[req.model] += 1
    return completion


def create_app(latency_ms: int, api_key: str | None = None) -> FastAPI:
    """The stand-in app; with api_key set only that bearer key passes, else any non-empty one."""
    state = StandinState(latency_ms=latency_ms, api_key=api_key)
    app = FastAPI(title="OpenAI stand-in (offline)", docs_url=None, redoc_url=None)
    app.state.standin = state

    @app.exception_handler(OpenAIAPIError)
    async def _api_error(_: Request, exc: OpenAIAPIError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        where = f"{request.method} {request.url.path}"
        prefix = "Invalid method for URL" if exc.status_code == 405 else "Invalid URL"
        message = f"{prefix} ({where}): the offline OpenAI stand-in serves only {_ROUTES}."
        return OpenAIAPIError(exc.status_code, message).response()

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> JSONResponse:
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        entry = request_entry(body)
        state.requests.add(entry)
        try:
            completion = await _complete(request, body, state)
        except OpenAIAPIError as exc:
            entry["status"] = exc.status
            return exc.response(request_id=entry["id"])
        entry["status"], entry["usage"] = 200, completion["usage"]
        return JSONResponse(completion, headers={"x-request-id": entry["id"]})

    @app.get("/v1/models")
    async def list_models(request: Request) -> dict[str, Any]:
        _check_key(request, state)
        return {"object": "list", "data": [_model(name) for name in MODELS]}

    @app.get("/v1/models/{model}")
    async def retrieve_model(model: str, request: Request) -> dict[str, Any]:
        _check_key(request, state)
        if model not in MODELS:
            raise OpenAIAPIError(
                404,
                f"The model '{model}' does not exist (the offline stand-in lists "
                f"{', '.join(MODELS)}).",
                param="model",
                code="model_not_found",
            )
        return _model(model)

    @app.get("/_standin/stats")
    async def stats() -> dict[str, Any]:
        return {
            "chat_completions": sum(state.by_model.values()),
            "by_model": dict(state.by_model),
            "latency_ms": state.latency_ms,
        }

    @app.post("/_standin/latency")
    async def set_latency(update: LatencyUpdate) -> dict[str, int]:
        state.latency_ms = update.ms
        return {"latency_ms": state.latency_ms}

    @app.post("/_standin/plant")
    async def plant(planted: PlantRequest) -> dict[str, list[str]]:
        state.planted.append(planted.url)
        return {"planted": state.planted}

    @app.post("/_standin/confidence")
    async def fix_confidence(plan: ConfidencePlan) -> dict[str, list[float]]:
        state.confidences.extend([plan.value] * plan.count)
        return {"confidences": state.confidences}

    def reset() -> dict[str, Any]:
        state.by_model.clear()
        state.planted.clear()
        state.confidences.clear()
        return {"chat_completions": 0, "by_model": {}, "latency_ms": state.latency_ms}

    add_control_routes(app, state.faults, state.requests, FaultPlan, reset)
    return app


def _model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": MODELS[name], "owned_by": "system"}
