"""The OpenAI stand-in, driven through the official clients as the product uses them."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any, Literal

import httpx
import httpx2
import openai
import pytest
from langchain_core.messages import AIMessage
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field

from tests.integration.standins.standin_support import OPENAI_KEY, answered_requests, control


class Route(BaseModel):
    """Which agent should handle the task."""

    agent_name: Literal["ContentAgent", "CodeAgent", "Unknown"]
    confidence: float = Field(ge=0, le=1)
    reasoning: str


def chat(openai_url: str, model: str = "gpt-4.1-mini", **kwargs: Any) -> ChatOpenAI:
    """A ChatOpenAI pointed at the stand-in, configured as the product does (no retries)."""
    options: dict[str, Any] = {"api_key": OPENAI_KEY, "max_retries": 0, "timeout": 10, **kwargs}
    return ChatOpenAI(model=model, base_url=openai_url, **options)


ROUTING_CASES = [
    ("Write a blog post about renewable energy trends", "ContentAgent", 0.92, "blog"),
    ("Write a Python function that reverses a linked list", "CodeAgent", 0.92, "linked list"),
    ("asdf qwerty", "Unknown", 0.9, "unknown"),
]


@pytest.mark.parametrize(("task", "agent", "confidence", "reason_word"), ROUTING_CASES)
async def test_json_schema_structured_output_routes_the_task(
    openai_url: str, task: str, agent: str, confidence: float, reason_word: str
) -> None:
    router = chat(openai_url).with_structured_output(Route, method="json_schema", include_raw=True)
    out = await router.ainvoke([("system", "Pick the agent for the task."), ("user", task)])
    assert out["parsing_error"] is None
    route = out["parsed"]
    assert isinstance(route, Route)
    assert (route.agent_name, route.confidence) == (agent, confidence)
    assert reason_word in route.reasoning.lower()
    usage = out["raw"].usage_metadata
    assert usage is not None
    assert usage["input_tokens"] > 0
    assert usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


async def test_function_calling_structured_output_returns_a_forced_tool_call(
    openai_url: str,
) -> None:
    router = chat(openai_url).with_structured_output(
        Route, method="function_calling", include_raw=True
    )
    out = await router.ainvoke("Write a Python function that reverses a linked list")
    assert out["parsing_error"] is None
    assert out["parsed"].agent_name == "CodeAgent"
    raw: AIMessage = out["raw"]
    assert [call["name"] for call in raw.tool_calls] == ["Route"]
    assert raw.response_metadata["finish_reason"] == "tool_calls"


async def test_langchain_sends_strict_json_schema_and_developer_role_for_o3_mini(
    openai_url: str,
) -> None:
    sent: list[dict[str, Any]] = []

    async def capture(request: httpx2.Request) -> None:
        sent.append(json.loads(request.content))

    async with httpx2.AsyncClient(event_hooks={"request": [capture]}) as client:
        llm = chat(openai_url, "o3-mini", http_async_client=client)
        router = llm.with_structured_output(Route, method="json_schema")
        route = await router.ainvoke([("system", "Route it."), ("user", "Summarize AI news")])
    assert isinstance(route, Route)
    assert route.agent_name == "ContentAgent"
    body = sent[0]
    assert [m["role"] for m in body["messages"]] == ["developer", "user"]
    schema_format = body["response_format"]
    assert schema_format["type"] == "json_schema"
    assert schema_format["json_schema"]["name"] == "Route"
    assert schema_format["json_schema"]["strict"] is True
    assert schema_format["json_schema"]["schema"]["additionalProperties"] is False
    assert body["stream"] is False


async def test_code_task_returns_one_python_fence_that_compiles_and_works(
    openai_url: str,
) -> None:
    reply = await chat(openai_url).ainvoke("Write a Python function that reverses a linked list")
    assert isinstance(reply.content, str)
    fences = re.findall(r"```(\w+)\n(.*?)```", reply.content, re.DOTALL)
    assert len(fences) == 1
    language, body = fences[0]
    assert language == "python"
    namespace: dict[str, Any] = {}
    exec(compile(body, "<standin answer>", "exec"), namespace)  # noqa: S102 - our own fixed output
    node = namespace["Node"]
    head = namespace["reverse_linked_list"](node(1, node(2, node(3))))
    assert [head.value, head.next.value, head.next.next.value] == [3, 2, 1]


async def test_code_task_in_another_language_uses_its_fence(openai_url: str) -> None:
    reply = await chat(openai_url).ainvoke("Write a TypeScript function that removes blank lines")
    assert isinstance(reply.content, str)
    assert re.findall(r"```(\w+)\n", reply.content) == ["typescript"]
    assert "function removeBlankLine" in reply.content


async def test_content_answer_cites_only_the_given_sources(openai_url: str) -> None:
    sources = {
        1: ("Solar capacity hits a record", "https://example.org/solar"),
        2: ("Offshore wind expands", "https://example.net/wind"),
        3: ("Grid storage gets cheaper [9]", "https://example.com/storage"),
    }
    block = "\n".join(
        f"[{n}] {title}\nURL: {url}\nContent: Reported figures for {title.lower()} [7]."
        for n, (title, url) in sources.items()
    )
    prompt = (
        "Write a blog post about renewable energy trends.\n\n"
        f"<search_results>\n{block}\n</search_results>"
    )
    reply = await chat(openai_url, "gpt-4.1").ainvoke(prompt)
    assert isinstance(reply.content, str)
    text, _, listed = reply.content.partition("Sources:")
    assert text.startswith("# Renewable Energy Trends")
    assert len([p for p in text.split("\n\n") if p.strip()]) == 4  # title + 3 paragraphs
    assert {int(n) for n in re.findall(r"\[(\d+)\]", text)} == set(sources)
    assert {int(n) for n in re.findall(r"\[(\d+)\]", listed)} == set(sources)
    for _, url in sources.values():
        assert url in listed


async def test_wrong_api_key_raises_authentication_error(openai_url: str) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        await chat(openai_url, api_key="sk-wrong-key").ainvoke("hello")
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"


async def test_empty_api_key_is_refused_by_the_client_before_any_request(
    openai_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(openai.OpenAIError, match="Missing credentials"):
        await chat(openai_url, api_key="").ainvoke("hello")
    assert (await control(openai_url, "stats"))["chat_completions"] == 0


async def test_request_without_authorization_header_gets_openai_401_body(
    openai_url: str,
) -> None:
    body = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}]}
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{openai_url}/chat/completions", json=body)
    assert response.status_code == 401
    error = response.json()["error"]
    assert (error["type"], error["param"], error["code"]) == (
        "invalid_request_error",
        None,
        "invalid_api_key",
    )


async def test_unsupported_features_fail_loudly_through_the_client(openai_url: str) -> None:
    client = openai.AsyncOpenAI(api_key=OPENAI_KEY, base_url=openai_url, max_retries=0)
    messages: Any = [{"role": "user", "content": "hi"}]
    with pytest.raises(openai.BadRequestError, match="does not support streaming"):
        await client.chat.completions.create(model="gpt-4.1-mini", messages=messages, stream=True)
    with pytest.raises(openai.BadRequestError, match="does not support n > 1"):
        await client.chat.completions.create(model="gpt-4.1-mini", messages=messages, n=2)
    with pytest.raises(openai.NotFoundError, match="offline OpenAI stand-in serves only"):
        await client.responses.create(model="gpt-4.1-mini", input="hi")
    await client.close()


async def test_models_lists_the_configured_models(openai_url: str) -> None:
    client = openai.AsyncOpenAI(api_key=OPENAI_KEY, base_url=openai_url)
    ids = [model.id async for model in client.models.list()]
    await client.close()
    assert ids == ["gpt-4.1-mini", "gpt-4.1", "o3-mini"]


async def test_concurrent_requests_overlap_their_latency(openai_url: str) -> None:
    await control(openai_url, "latency", {"ms": 500})
    try:
        llm = chat(openai_url)
        started = time.monotonic()
        replies = await asyncio.gather(*(llm.ainvoke(f"Explain topic {i}") for i in range(10)))
        elapsed = time.monotonic() - started
    finally:
        await control(openai_url, "latency", {"ms": 0})
    assert len(replies) == 10
    assert 0.5 <= elapsed < 1.5


async def test_injected_rate_limit_surfaces_then_clears(openai_url: str) -> None:
    await control(openai_url, "faults", {"status": 429, "count": 1, "retry_after_ms": 10})
    with pytest.raises(openai.RateLimitError):
        await chat(openai_url).ainvoke("hello")
    await control(openai_url, "faults", {"status": 500, "count": 1, "retry_after_ms": 10})
    reply = await chat(openai_url, max_retries=1).ainvoke("hello")  # one retry absorbs the 500
    assert isinstance(reply.content, str)
    assert (await control(openai_url, "stats"))["chat_completions"] == 1


async def test_stats_count_completions_by_model(openai_url: str) -> None:
    await chat(openai_url).ainvoke("hello")
    await chat(openai_url).ainvoke("hello again")
    await chat(openai_url, "o3-mini").ainvoke("hello")
    stats = await control(openai_url, "stats")
    assert stats["chat_completions"] == 3
    assert stats["by_model"] == {"gpt-4.1-mini": 2, "o3-mini": 1}
    assert (await control(openai_url, "reset"))["chat_completions"] == 0
    assert (await control(openai_url, "stats"))["chat_completions"] == 0


ROUTER_SCHEMA: dict[str, Any] = {
    "title": "RoutingDecision",
    "description": "Which agent should handle the task.",
    "type": "object",
    "properties": {
        "agent_name": {
            "type": "string",
            "enum": ["ContentAgent", "CodeAgent", "EchoAgent", "Unknown"],
        },
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "reasoning": {"type": "string"},
    },
    "required": ["agent_name", "confidence", "reasoning"],
    "additionalProperties": False,
}
CODE_TASK = "Write a Python function that reverses a linked list"


def router(openai_url: str, **kwargs: Any) -> Any:
    """The product's router call: a dict schema as strict json_schema, raw reply included."""
    return chat(openai_url, **kwargs).with_structured_output(
        ROUTER_SCHEMA, method="json_schema", strict=True, include_raw=True
    )


OPENAI_FAULTS = [
    (400, openai.BadRequestError, "invalid_request_error", None),
    (401, openai.AuthenticationError, "invalid_request_error", "invalid_api_key"),
    (403, openai.PermissionDeniedError, "invalid_request_error", "permission_denied"),
    (404, openai.NotFoundError, "invalid_request_error", "model_not_found"),
    (429, openai.RateLimitError, "requests", "rate_limit_exceeded"),
    (500, openai.InternalServerError, "server_error", None),
    (502, openai.InternalServerError, "server_error", None),
    (503, openai.InternalServerError, "server_error", None),
    (504, openai.InternalServerError, "server_error", None),
]


@pytest.mark.parametrize(("status", "error", "kind", "code"), OPENAI_FAULTS)
async def test_injected_status_raises_the_sdk_error_once(
    openai_url: str, status: int, error: type[openai.APIStatusError], kind: str, code: str | None
) -> None:
    await control(openai_url, "faults", {"status": status})
    with pytest.raises(error) as caught:
        await chat(openai_url).ainvoke("hello")
    assert (caught.value.status_code, caught.value.type, caught.value.code) == (status, kind, code)
    assert "injected by the offline stand-in" in caught.value.message
    reply = await chat(openai_url).ainvoke("hello")  # the fault answered one completion only
    assert isinstance(reply.content, str)
    assert await control(openai_url, "faults") == []


async def test_rate_limit_fault_sends_retry_after_headers(openai_url: str) -> None:
    await control(openai_url, "faults", {"status": 429, "retry_after_ms": 1500})
    with pytest.raises(openai.RateLimitError) as caught:
        await chat(openai_url).ainvoke("hello")
    headers = caught.value.response.headers
    assert (headers["retry-after-ms"], headers["retry-after"]) == ("1500", "2")


async def test_faults_queue_in_order_of_arrival(openai_url: str) -> None:
    await control(openai_url, "faults", {"status": 503})
    pending = await control(openai_url, "faults", {"status": 429, "count": 2})
    assert [(f["status"], f["count"]) for f in pending] == [(503, 1), (429, 2)]
    llm = chat(openai_url)
    with pytest.raises(openai.InternalServerError):
        await llm.ainvoke("one")
    for _ in range(2):
        with pytest.raises(openai.RateLimitError):
            await llm.ainvoke("two")
    assert isinstance((await llm.ainvoke("three")).content, str)


async def test_fault_bodies_are_validated(openai_url: str) -> None:
    url = f"{openai_url.removesuffix('/v1')}/_standin/faults"
    async with httpx.AsyncClient() as client:
        for body in ({"status": 418}, {"count": 2}, {"status": 500, "malformed": True}):
            assert (await client.post(url, json=body)).status_code == 422
    assert await control(openai_url, "faults") == []


async def test_malformed_fault_breaks_only_structured_output(openai_url: str) -> None:
    await control(openai_url, "faults", {"malformed": True})
    plain = await chat(openai_url).ainvoke(CODE_TASK)  # plain text passes the fault by
    assert "```python" in str(plain.content)
    out = await router(openai_url).ainvoke([("system", "Route it."), ("user", CODE_TASK)])
    assert out["parsed"] is None
    assert out["parsing_error"] is not None
    assert str(out["raw"].content).startswith('Here is the JSON you asked for: {"agent_name": "Co')
    assert out["raw"].usage_metadata["output_tokens"] > 0
    again = await router(openai_url).ainvoke([("system", "Route it."), ("user", CODE_TASK)])
    assert again["parsed"]["agent_name"] == "CodeAgent"


async def test_malformed_fault_breaks_forced_tool_arguments(openai_url: str) -> None:
    await control(openai_url, "faults", {"malformed": True})
    structured = chat(openai_url).with_structured_output(
        Route, method="function_calling", include_raw=True
    )
    out = await structured.ainvoke(CODE_TASK)
    assert out["parsed"] is None
    raw: AIMessage = out["raw"]
    assert raw.tool_calls == []
    assert [call["name"] for call in raw.invalid_tool_calls] == ["Route"]


async def test_delay_fault_holds_a_completion_past_the_client_timeout(
    openai_url: str,
) -> None:
    await control(openai_url, "faults", {"delay_ms": 1500})
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        await chat(openai_url, timeout=0.5).ainvoke("hello")
    assert time.monotonic() - started < 1.4
    log = await answered_requests(openai_url)  # the held request still gets its 200
    assert [entry["status"] for entry in log] == [200]
    started = time.monotonic()
    await chat(openai_url, timeout=0.5).ainvoke("hello")
    assert time.monotonic() - started < 0.5


async def test_request_log_records_what_was_sent_and_answered(openai_url: str) -> None:
    reply = await chat(openai_url).ainvoke([("system", "Be brief."), ("user", "hello")])
    routed = await router(openai_url, model="gpt-4.1").ainvoke(CODE_TASK)
    await control(openai_url, "faults", {"status": 500})
    with pytest.raises(openai.InternalServerError) as caught:
        await chat(openai_url).ainvoke("hello")
    log = await control(openai_url, "requests")
    assert [(e["model"], e["status"]) for e in log] == [
        ("gpt-4.1-mini", 200),
        ("gpt-4.1", 200),
        ("gpt-4.1-mini", 500),
    ]
    plain, structured, failed = log
    assert plain["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello"},
    ]
    assert (plain["response_format"], plain["tools"]) == (None, None)
    assert plain["usage"]["prompt_tokens"] == reply.usage_metadata["input_tokens"]
    assert structured["response_format"]["json_schema"]["schema"]["properties"]["agent_name"]
    assert structured["usage"]["total_tokens"] == routed["raw"].usage_metadata["total_tokens"]
    assert (failed["usage"], failed["id"]) == (None, caught.value.request_id)
    assert len({e["id"] for e in log}) == 3
    assert [e["received_at"] for e in log] == sorted(e["received_at"] for e in log)


async def test_planted_url_is_cited_as_an_extra_source(openai_url: str) -> None:
    prompt = (
        "Write a blog post about renewable energy trends.\n\n<search_results>\n"
        "[1] Solar capacity hits a record\nURL: https://example.org/solar\nContent: Solar grew.\n"
        "[2] Offshore wind expands\nURL: https://example.net/wind\nContent: Wind grew.\n"
        "</search_results>"
    )
    planted = "https://planted.example/x"
    assert await control(openai_url, "plant", {"url": planted}) == {"planted": [planted]}
    reply = str((await chat(openai_url).ainvoke(prompt)).content)
    text, _, listed = reply.partition("Sources:")
    assert f"See also {planted} for more." in text
    assert f"[3] Planted - {planted}" in listed
    await control(openai_url, "reset")
    assert planted not in str((await chat(openai_url).ainvoke(prompt)).content)


ENUM_CASES = [
    ("Echo back this sentence", "EchoAgent"),
    ("please ECHO this", "EchoAgent"),
    ("The echoes of a blog post about history", "ContentAgent"),  # "echoes" is not "echo"
    (CODE_TASK, "CodeAgent"),
    ("asdf qwerty", "Unknown"),
]


@pytest.mark.parametrize(("task", "agent"), ENUM_CASES)
async def test_router_picks_an_offered_agent_the_task_names(
    openai_url: str, task: str, agent: str
) -> None:
    out = await router(openai_url).ainvoke([("system", "Route it."), ("user", task)])
    assert out["parsed"]["agent_name"] == agent
    if agent == "EchoAgent":
        assert out["parsed"]["confidence"] == 0.92
        assert "'Echo'" in out["parsed"]["reasoning"]


FOLLOW_UPS = [
    ("Now make it shorter", "CodeAgent"),  # names no work: continues the code task
    ("Write a blog post about renewable energy trends", "ContentAgent"),  # the last turn decides
]


@pytest.mark.parametrize(("follow_up", "agent"), FOLLOW_UPS)
async def test_follow_up_is_routed_from_the_latest_turn_that_names_work(
    openai_url: str, follow_up: str, agent: str
) -> None:
    earlier = [("user", CODE_TASK), ("assistant", "Here is reverse_linked_list in Python.")]
    messages = [("system", "Route it."), *earlier, ("user", follow_up)]
    out = await router(openai_url).ainvoke(messages)
    assert out["parsed"]["agent_name"] == agent


async def test_repair_prompt_after_a_task_block_is_answered_from_the_task(
    openai_url: str,
) -> None:
    messages = [
        ("system", "Route it."),
        ("user", "<task>\nWrite a blog post about renewable energy trends\n</task>"),
        ("assistant", 'Here is the JSON you asked for: {"agent_name": "Con'),
        ("user", "Not valid (see .../python/errors). Answer again with only a JSON object."),
    ]
    out = await router(openai_url).ainvoke(messages)
    assert out["parsed"]["agent_name"] == "ContentAgent"  # not "python" from the repair prompt


async def test_follow_up_continues_the_earlier_code_task(openai_url: str) -> None:
    messages = [
        ("user", CODE_TASK),
        ("assistant", "Here is reverse_linked_list in Python."),
        ("user", "now make it shorter"),
    ]
    reply = str((await chat(openai_url).ainvoke(messages)).content)
    assert "```python" in reply
    assert "def reverse_linked_list" in reply


async def test_a_fixed_confidence_answers_the_next_structured_calls_then_the_classifiers(
    openai_url: str,
) -> None:
    fixed = await control(openai_url, "confidence", {"value": 0.42, "count": 2})
    assert fixed == {"confidences": [0.42, 0.42]}
    # A plain answer does not use it up.
    await chat(openai_url).ainvoke("Write a blog post about tides")
    answers = [
        (await router(openai_url).ainvoke(CODE_TASK))["parsed"]["confidence"] for _ in range(3)
    ]
    assert answers == [0.42, 0.42, 0.92]
    await control(openai_url, "confidence", {"value": 0.1})
    await control(openai_url, "reset", {})
    assert (await router(openai_url).ainvoke(CODE_TASK))["parsed"]["confidence"] == 0.92


async def test_a_confidence_out_of_range_is_refused(openai_url: str) -> None:
    async with httpx.AsyncClient() as http:
        url = f"{openai_url.removesuffix('/v1')}/_standin/confidence"
        refused = await http.post(url, json={"value": 1.5})
    assert refused.status_code == 422
