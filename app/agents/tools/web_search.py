"""Web search through Tavily's API (AsyncTavilyClient), failures typed as task errors."""

from __future__ import annotations

from typing import Any

import httpx
from tavily import AsyncTavilyClient
from tavily import errors as tavily_errors

from app.agents.base import SearchResult
from app.config import SearchSettings
from app.domain.errors import AgentError, TaskErrorCode
from app.observability.metrics import RATE_LIMIT_HITS
from app.observability.run_context import tool_call


class TavilySearch:
    """The SearchTool backed by Tavily; the base URL comes from settings."""

    def __init__(self, settings: SearchSettings):
        self._settings = settings
        self._api_key = settings.api_key.get_secret_value() if settings.api_key else None
        self._client = AsyncTavilyClient(api_key=self._api_key, api_base_url=settings.base_url)

    async def search(self, query: str) -> list[SearchResult]:
        """Top results for query, recorded as a `web_search` tool execution."""
        query = query[:400]
        max_results = self._settings.max_results
        async with tool_call("web_search", {"query": query, "max_results": max_results}) as call:
            results = await self._search(query, max_results)
            call.output = {"results": len(results), "urls": [r.url for r in results]}
        return results

    async def _search(self, query: str, max_results: int) -> list[SearchResult]:
        if self._api_key is None:
            # tavily-python would silently go keyless; refuse instead.
            raise AgentError(TaskErrorCode.SEARCH_AUTH_ERROR, "No TAVILY_API_KEY is configured.")
        try:
            response: dict[str, Any] = await self._client.search(
                query=query, max_results=max_results, timeout=self._settings.timeout_seconds
            )
        except tavily_errors.UsageLimitExceededError as exc:
            RATE_LIMIT_HITS.labels("search").inc()
            raise AgentError(
                TaskErrorCode.SEARCH_RATE_LIMITED, f"Web search is rate-limited: {exc}"
            ) from exc
        except (
            tavily_errors.InvalidAPIKeyError,
            tavily_errors.MissingAPIKeyError,
            tavily_errors.ForbiddenError,
        ) as exc:
            raise AgentError(
                TaskErrorCode.SEARCH_AUTH_ERROR, f"Web search refused the key: {exc}"
            ) from exc
        except tavily_errors.BadRequestError as exc:
            raise AgentError(
                TaskErrorCode.SEARCH_BAD_REQUEST, f"Web search rejected the query: {exc}"
            ) from exc
        except (tavily_errors.TimeoutError, httpx.HTTPError) as exc:
            raise AgentError(TaskErrorCode.SEARCH_UNAVAILABLE, f"Web search failed: {exc}") from exc
        return [
            SearchResult(
                title=str(item.get("title") or item.get("url")),
                url=str(item["url"]),
                content=str(item.get("content") or ""),
                score=float(item.get("score") or 0.0),
            )
            for item in response.get("results", [])
            if item.get("url")
        ]
