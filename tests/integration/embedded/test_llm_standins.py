"""The OpenAI and Tavily stand-ins, driven through the official clients as the product uses them."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import httpx2
import openai
import pytest
from langchain_core.messages import AIMessage
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field
from tavily import AsyncTavilyClient
from tavily.errors import BadRequestError, InvalidAPIKeyError

from app.embedded.processes import ManagedProcess, free_port, spawn_module

OPENAI_KEY = "sk-test"
TAVILY_KEY = "tvly-test"


class Route(BaseModel):
    """Which agent should handle the task."""

    agent_name: Literal["ContentAgent", "CodeAgent", "Unknown"]
    confidence: float = Field(ge=0, le=1)
    reasoning: str


@dataclass(frozen=True)
class Standins:
    openai_url: str
    tavily_url: str


@pytest.fixture(scope="module")
def standins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Standins]:
    """Both stand-ins as real child processes on free ports, each requiring its test key."""
    logs: Path = tmp_path_factory.mktemp("standin-logs")
    started: list[ManagedProcess] = []
    try:
        openai_port, tavily_port = free_port(), free_port()
        started.append(
            spawn_module(
                "openai-standin",
                "app.embedded.openai_standin",
                ["--port", str(openai_port), "--api-key", OPENAI_KEY],
                port=openai_port,
                log_path=logs / "openai.log",
            )
        )
        started.append(
            spawn_module(
                "tavily-standin",
                "app.embedded.tavily_standin",
                ["--port", str(tavily_port), "--api-key", TAVILY_KEY],
                port=tavily_port,
                log_path=logs / "tavily.log",
            )
        )
        yield Standins(f"http://127.0.0.1:{openai_port}/v1", f"http://127.0.0.1:{tavily_port}")
    finally:
        for proc in started:
            proc.stop()


def chat(standins: Standins, model: str = "gpt-4.1-mini", **kwargs: Any) -> ChatOpenAI:
    """A ChatOpenAI pointed at the stand-in, configured as the product does (no retries)."""
    options: dict[str, Any] = {"api_key": OPENAI_KEY, "max_retries": 0, "timeout": 10, **kwargs}
    return ChatOpenAI(model=model, base_url=standins.openai_url, **options)


async def control(base_url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """Call a stand-in's /_standin/ test endpoint: GET stats, POST anything else."""
    url = f"{base_url.removesuffix('/v1')}/_standin/{path}"
    async with httpx.AsyncClient() as client:
        if path == "stats":
            response = await client.get(url)
        else:
            response = await client.post(url, json=body or {})
    return response.raise_for_status().json()


ROUTING_CASES = [
    ("Write a blog post about renewable energy trends", "ContentAgent", 0.92, "blog"),
    ("Write a Python function that reverses a linked list", "CodeAgent", 0.92, "linked list"),
    ("asdf qwerty", "Unknown", 0.9, "unknown"),
]


@pytest.mark.parametrize(("task", "agent", "confidence", "reason_word"), ROUTING_CASES)
async def test_json_schema_structured_output_routes_the_task(
    standins: Standins, task: str, agent: str, confidence: float, reason_word: str
) -> None:
    router = chat(standins).with_structured_output(Route, method="json_schema", include_raw=True)
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
    standins: Standins,
) -> None:
    router = chat(standins).with_structured_output(
        Route, method="function_calling", include_raw=True
    )
    out = await router.ainvoke("Write a Python function that reverses a linked list")
    assert out["parsing_error"] is None
    assert out["parsed"].agent_name == "CodeAgent"
    raw: AIMessage = out["raw"]
    assert [call["name"] for call in raw.tool_calls] == ["Route"]
    assert raw.response_metadata["finish_reason"] == "tool_calls"


async def test_langchain_sends_strict_json_schema_and_developer_role_for_o3_mini(
    standins: Standins,
) -> None:
    sent: list[dict[str, Any]] = []

    async def capture(request: httpx2.Request) -> None:
        sent.append(json.loads(request.content))

    async with httpx2.AsyncClient(event_hooks={"request": [capture]}) as client:
        llm = chat(standins, "o3-mini", http_async_client=client)
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
    standins: Standins,
) -> None:
    reply = await chat(standins).ainvoke("Write a Python function that reverses a linked list")
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


async def test_code_task_in_another_language_uses_its_fence(standins: Standins) -> None:
    reply = await chat(standins).ainvoke("Write a TypeScript function that removes blank lines")
    assert isinstance(reply.content, str)
    assert re.findall(r"```(\w+)\n", reply.content) == ["typescript"]
    assert "function removeBlankLine" in reply.content


async def test_content_answer_cites_only_the_given_sources(standins: Standins) -> None:
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
    reply = await chat(standins, "gpt-4.1").ainvoke(prompt)
    assert isinstance(reply.content, str)
    text, _, listed = reply.content.partition("Sources:")
    assert text.startswith("# Renewable Energy Trends")
    assert len([p for p in text.split("\n\n") if p.strip()]) == 4  # title + 3 paragraphs
    assert {int(n) for n in re.findall(r"\[(\d+)\]", text)} == set(sources)
    assert {int(n) for n in re.findall(r"\[(\d+)\]", listed)} == set(sources)
    for _, url in sources.values():
        assert url in listed


async def test_wrong_api_key_raises_authentication_error(standins: Standins) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        await chat(standins, api_key="sk-wrong-key").ainvoke("hello")
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"


async def test_empty_api_key_is_refused_by_the_client_before_any_request(
    standins: Standins, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    await control(standins.openai_url, "reset")
    with pytest.raises(openai.OpenAIError, match="Missing credentials"):
        await chat(standins, api_key="").ainvoke("hello")
    assert (await control(standins.openai_url, "stats"))["chat_completions"] == 0


async def test_request_without_authorization_header_gets_openai_401_body(
    standins: Standins,
) -> None:
    body = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}]}
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{standins.openai_url}/chat/completions", json=body)
    assert response.status_code == 401
    error = response.json()["error"]
    assert (error["type"], error["param"], error["code"]) == (
        "invalid_request_error",
        None,
        "invalid_api_key",
    )


async def test_unsupported_features_fail_loudly_through_the_client(standins: Standins) -> None:
    client = openai.AsyncOpenAI(api_key=OPENAI_KEY, base_url=standins.openai_url, max_retries=0)
    messages: Any = [{"role": "user", "content": "hi"}]
    with pytest.raises(openai.BadRequestError, match="does not support streaming"):
        await client.chat.completions.create(model="gpt-4.1-mini", messages=messages, stream=True)
    with pytest.raises(openai.BadRequestError, match="does not support n > 1"):
        await client.chat.completions.create(model="gpt-4.1-mini", messages=messages, n=2)
    with pytest.raises(openai.NotFoundError, match="offline OpenAI stand-in serves only"):
        await client.responses.create(model="gpt-4.1-mini", input="hi")
    await client.close()


async def test_models_lists_the_configured_models(standins: Standins) -> None:
    client = openai.AsyncOpenAI(api_key=OPENAI_KEY, base_url=standins.openai_url)
    ids = [model.id async for model in client.models.list()]
    await client.close()
    assert ids == ["gpt-4.1-mini", "gpt-4.1", "o3-mini"]


async def test_concurrent_requests_overlap_their_latency(standins: Standins) -> None:
    await control(standins.openai_url, "latency", {"ms": 500})
    try:
        llm = chat(standins)
        started = time.monotonic()
        replies = await asyncio.gather(*(llm.ainvoke(f"Explain topic {i}") for i in range(10)))
        elapsed = time.monotonic() - started
    finally:
        await control(standins.openai_url, "latency", {"ms": 0})
    assert len(replies) == 10
    assert 0.5 <= elapsed < 1.5


async def test_injected_rate_limit_surfaces_then_clears(standins: Standins) -> None:
    await control(standins.openai_url, "reset")
    await control(standins.openai_url, "faults", {"status": 429, "count": 1, "retry_after_ms": 10})
    with pytest.raises(openai.RateLimitError):
        await chat(standins).ainvoke("hello")
    await control(standins.openai_url, "faults", {"status": 500, "count": 1, "retry_after_ms": 10})
    reply = await chat(standins, max_retries=1).ainvoke("hello")  # one retry absorbs the 500
    assert isinstance(reply.content, str)
    assert (await control(standins.openai_url, "stats"))["chat_completions"] == 1


async def test_stats_count_completions_by_model(standins: Standins) -> None:
    await control(standins.openai_url, "reset")
    await chat(standins).ainvoke("hello")
    await chat(standins).ainvoke("hello again")
    await chat(standins, "o3-mini").ainvoke("hello")
    stats = await control(standins.openai_url, "stats")
    assert stats["chat_completions"] == 3
    assert stats["by_model"] == {"gpt-4.1-mini": 2, "o3-mini": 1}
    assert (await control(standins.openai_url, "reset"))["chat_completions"] == 0
    assert (await control(standins.openai_url, "stats"))["chat_completions"] == 0


# --- Tavily -------------------------------------------------------------------------------


def tavily(standins: Standins, api_key: str | None = TAVILY_KEY) -> AsyncTavilyClient:
    """The official async Tavily client pointed at the stand-in."""
    return AsyncTavilyClient(api_key=api_key, api_base_url=standins.tavily_url)


async def test_search_results_are_deterministic_per_query(standins: Standins) -> None:
    client = tavily(standins)
    first = await client.search("renewable energy trends")
    again = await client.search("renewable energy trends")
    other = await client.search("rust async runtimes")
    await client.close()
    urls = [r["url"] for r in first["results"]]
    assert urls == [r["url"] for r in again["results"]]
    assert [r["title"] for r in first["results"]] == [r["title"] for r in again["results"]]
    assert not set(urls) & {r["url"] for r in other["results"]}
    assert all(re.fullmatch(r"https://[\w.-]+/renewable-energy-trends-\d+", u) for u in urls)
    scores = [r["score"] for r in first["results"]]
    assert scores == sorted(scores, reverse=True)
    assert 0.9 <= scores[0] <= 1.0
    assert first["query"] == "renewable energy trends"
    assert first["answer"] is None


async def test_search_respects_max_results_and_caps_at_20(standins: Standins) -> None:
    client = tavily(standins)
    default = await client.search("solar panels")
    three = await client.search("solar panels", max_results=3, include_answer=True)
    many = await client.search("solar panels", max_results=50)
    await client.close()
    assert (len(default["results"]), len(three["results"]), len(many["results"])) == (5, 3, 20)
    assert three["answer"]
    assert "solar panels" in three["answer"]


async def test_empty_key_makes_client_keyless_and_standin_answers_invalid_api_key(
    standins: Standins, monkeypatch: pytest.MonkeyPatch
) -> None:
    # api_key="" and api_key=None (with TAVILY_API_KEY unset) both put tavily-python in keyless
    # mode: no Authorization header, X-Tavily-Access-Mode: keyless. The stand-in refuses it.
    monkeypatch.delenv("TAVILY_API_KEY", raising=False)
    for key in ("", None):
        client = tavily(standins, api_key=key)
        with pytest.raises(InvalidAPIKeyError, match="does not serve keyless requests"):
            await client.search("solar panels")
        await client.close()


async def test_wrong_key_raises_invalid_api_key_error(standins: Standins) -> None:
    client = tavily(standins, api_key="tvly-wrong")
    with pytest.raises(InvalidAPIKeyError, match="missing or invalid API key"):
        await client.search("solar panels")
    await client.close()


async def test_empty_query_raises_bad_request(standins: Standins) -> None:
    client = tavily(standins)
    with pytest.raises(BadRequestError, match="Query is missing"):
        await client.search("")
    await client.close()


async def test_tavily_stats_count_searches(standins: Standins) -> None:
    assert await control(standins.tavily_url, "reset") == {"searches": 0}
    client = tavily(standins)
    await client.search("one")
    await client.search("two")
    await client.close()
    assert await control(standins.tavily_url, "stats") == {"searches": 2}
