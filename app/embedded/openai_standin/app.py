"""An offline server for OpenAI's chat-completions API, answering deterministically."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.embedded.openai_standin import answers
from app.embedded.openai_standin._protocol import (
    ChatRequest,
    FaultPlan,
    LatencyUpdate,
    OpenAIAPIError,
    parse_chat_request,
)
from app.embedded.openai_standin._schema_instance import schema_instance

MODELS = {"gpt-4.1-mini": 1744318173, "gpt-4.1": 1744316542, "o3-mini": 1737146383}
SYSTEM_FINGERPRINT = "fp_offline_standin"
_ROUTES = "POST /v1/chat/completions, GET /v1/models and GET /v1/models/{model}"


@dataclass
class _Fault:
    status: int
    remaining: int
    retry_after_ms: int | None


@dataclass
class StandinState:
    """Run-time settings and counters of one stand-in server."""

    latency_ms: int
    api_key: str | None
    by_model: Counter[str] = field(default_factory=Counter)
    fault: _Fault | None = None


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _instance_of(schema: dict[str, Any], task: str, param: str) -> Any:
    try:
        return schema_instance(schema, task)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # A schema the generator cannot follow is refused, never answered with invalid JSON.
        raise OpenAIAPIError(
            400,
            f"The offline OpenAI stand-in cannot build a value for this JSON schema ({exc!r}).",
            param=param,
            code="unsupported_value",
        ) from exc


def _answer(req: ChatRequest) -> tuple[dict[str, Any], str]:
    """The assistant message and finish reason for a validated request."""
    task = req.task
    message: dict[str, Any] = {"role": "assistant", "refusal": None, "annotations": []}
    if req.forced_tool is not None:
        name = str(req.forced_tool.get("name", ""))
        parameters = req.forced_tool.get("parameters") or {"type": "object", "properties": {}}
        arguments = json.dumps(_instance_of(parameters, task, "tools[].function.parameters"))
        call_id = "call_" + _digest(name, arguments, task)[:24]
        message["content"] = None
        message["tool_calls"] = [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
        ]
        return message, "tool_calls"
    fmt = req.response_format
    if fmt is not None and fmt.get("type") == "json_schema":
        schema = fmt["json_schema"].get("schema") or {"type": "object", "properties": {}}
        message["content"] = json.dumps(_instance_of(schema, task, "response_format"))
    elif fmt is not None:
        cls = answers.classify(task)
        reply = {"category": cls.kind, "confidence": cls.confidence, "reasoning": cls.reasoning}
        message["content"] = json.dumps(reply)
    else:
        message["content"] = answers.text_answer(task)
    return message, "stop"


def _completion(req: ChatRequest, body: dict[str, Any]) -> dict[str, Any]:
    message, finish_reason = _answer(req)
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


def _injected_fault(state: StandinState, model: str) -> OpenAIAPIError | None:
    fault = state.fault
    if fault is None or fault.remaining <= 0:
        return None
    fault.remaining -= 1
    headers = {} if fault.retry_after_ms is None else {"retry-after-ms": str(fault.retry_after_ms)}
    if fault.status == 429:
        return OpenAIAPIError(
            429,
            f"Rate limit reached for {model} (injected by the offline stand-in).",
            kind="requests",
            code="rate_limit_exceeded",
            headers=headers,
        )
    return OpenAIAPIError(
        fault.status,
        "The server had an error while processing your request (injected by the offline stand-in).",
        kind="server_error",
        headers=headers,
    )


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
        _check_key(request, state)
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        req = parse_chat_request(body)
        fault = _injected_fault(state, req.model)
        if fault is not None:
            raise fault
        if state.latency_ms > 0:
            await asyncio.sleep(state.latency_ms / 1000)
        completion = _completion(req, body)
        state.by_model[req.model] += 1
        return JSONResponse(completion, headers={"x-request-id": "req_" + completion["id"][9:]})

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

    @app.post("/_standin/reset")
    async def reset() -> dict[str, Any]:
        state.by_model.clear()
        state.fault = None
        return {"chat_completions": 0, "by_model": {}, "latency_ms": state.latency_ms}

    @app.post("/_standin/latency")
    async def set_latency(update: LatencyUpdate) -> dict[str, int]:
        state.latency_ms = update.ms
        return {"latency_ms": state.latency_ms}

    @app.post("/_standin/faults")
    async def set_faults(plan: FaultPlan) -> dict[str, Any]:
        state.fault = _Fault(plan.status, plan.count, plan.retry_after_ms)
        return plan.model_dump()

    return app


def _model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": MODELS[name], "owned_by": "system"}
