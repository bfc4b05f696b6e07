"""The Tavily stand-in, driven through the official client as the product uses it."""

from __future__ import annotations

import re

import httpx
import pytest
from tavily import AsyncTavilyClient
from tavily.errors import (
    BadRequestError,
    ForbiddenError,
    InvalidAPIKeyError,
    TimeoutError,
    UsageLimitExceededError,
)

from tests.integration.standins.standin_support import TAVILY_KEY, answered_requests, control


def tavily(tavily_url: str, api_key: str | None = TAVILY_KEY) -> AsyncTavilyClient:
    """The official async Tavily client pointed at the stand-in."""
    return AsyncTavilyClient(api_key=api_key, api_base_url=tavily_url)


async def test_search_results_are_deterministic_per_query(tavily_url: str) -> None:
    client = tavily(tavily_url)
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


async def test_search_respects_max_results_and_caps_at_20(tavily_url: str) -> None:
    client = tavily(tavily_url)
    default = await client.search("solar panels")
    three = await client.search("solar panels", max_results=3, include_answer=True)
    many = await client.search("solar panels", max_results=50)
    await client.close()
    assert (len(default["results"]), len(three["results"]), len(many["results"])) == (5, 3, 20)
    assert three["answer"]
    assert "solar panels" in three["answer"]


async def test_empty_key_makes_client_keyless_and_standin_answers_invalid_api_key(
    tavily_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # api_key="" and api_key=None (with TAVILY_API_KEY unset) both put tavily-python in keyless
    # mode: no Authorization header, X-Tavily-Access-Mode: keyless. The stand-in refuses it.
    monkeypatch.delenv("TAVILY_API_KEY", raising=False)
    for key in ("", None):
        client = tavily(tavily_url, api_key=key)
        with pytest.raises(InvalidAPIKeyError, match="does not serve keyless requests"):
            await client.search("solar panels")
        await client.close()


async def test_wrong_key_raises_invalid_api_key_error(tavily_url: str) -> None:
    client = tavily(tavily_url, api_key="tvly-wrong")
    with pytest.raises(InvalidAPIKeyError, match="missing or invalid API key"):
        await client.search("solar panels")
    await client.close()


async def test_empty_query_raises_bad_request(tavily_url: str) -> None:
    client = tavily(tavily_url)
    with pytest.raises(BadRequestError, match="Query is missing"):
        await client.search("")
    await client.close()


async def test_tavily_stats_count_searches(tavily_url: str) -> None:
    assert await control(tavily_url, "stats") == {"searches": 0}
    client = tavily(tavily_url)
    await client.search("one")
    await client.search("two")
    await client.close()
    assert await control(tavily_url, "stats") == {"searches": 2}


TAVILY_FAULTS = [
    (400, BadRequestError),
    (401, InvalidAPIKeyError),
    (403, ForbiddenError),
    (429, UsageLimitExceededError),
    (432, ForbiddenError),
    (433, ForbiddenError),
    (500, httpx.HTTPStatusError),
    (502, httpx.HTTPStatusError),
    (503, httpx.HTTPStatusError),
]


@pytest.mark.parametrize(("status", "error"), TAVILY_FAULTS)
async def test_injected_search_status_raises_the_client_error(
    tavily_url: str, status: int, error: type[Exception]
) -> None:
    await control(tavily_url, "faults", {"status": status})
    client = tavily(tavily_url)
    with pytest.raises(error) as caught:
        await client.search("solar panels", max_results=4)
    results = await client.search("solar panels")
    await client.close()
    if isinstance(caught.value, httpx.HTTPStatusError):
        assert caught.value.response.status_code == status
        assert "injected" in caught.value.response.json()["detail"]["error"]
    else:
        assert "injected by the offline stand-in" in str(caught.value)
    assert len(results["results"]) == 5
    assert await control(tavily_url, "requests") == [
        {"query": "solar panels", "max_results": 4, "status": status},
        {"query": "solar panels", "max_results": None, "status": 200},  # the client sent none
    ]


async def test_search_faults_queue_and_list_until_used(tavily_url: str) -> None:
    await control(tavily_url, "faults", {"status": 432, "count": 2})
    pending = await control(tavily_url, "faults", {"status": 429})
    assert pending == [
        {"status": 432, "delay_ms": None, "count": 2},
        {"status": 429, "delay_ms": None, "count": 1},
    ]
    client = tavily(tavily_url)
    for expected in (ForbiddenError, ForbiddenError, UsageLimitExceededError):
        with pytest.raises(expected):
            await client.search("solar panels", max_results=3)
    await client.search("solar panels", max_results=3)
    await client.close()
    assert await control(tavily_url, "faults") == []
    log = await control(tavily_url, "requests")
    assert [(e["max_results"], e["status"]) for e in log] == [
        (3, 432),
        (3, 432),
        (3, 429),
        (3, 200),
    ]
    assert await control(tavily_url, "stats") == {"searches": 1}


async def test_search_delay_fault_outlasts_the_client_timeout(tavily_url: str) -> None:
    await control(tavily_url, "faults", {"delay_ms": 1500})
    client = tavily(tavily_url)
    with pytest.raises(TimeoutError):
        await client.search("solar panels", timeout=0.5)
    log = await answered_requests(tavily_url)  # the held search still gets its 200
    fast = await client.search("solar panels", timeout=0.5)
    await client.close()
    assert [entry["status"] for entry in log] == [200]
    assert fast["results"]
