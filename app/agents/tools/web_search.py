"""Web search through Tavily's API (AsyncTavilyClient), failures typed as task errors."""

from __future__ import annotations

from typing import Any

import httpx
from tavily import AsyncTavilyClient
from tavily import errors as tavily_errors

from app.agents.base import SearchResult
from app.config import SearchSettings
from app.domain.errors import AgentError


class TavilySearch:
    """The SearchTool backed by Tavily; the base URL comes from settings."""

    def __init__(self, settings: SearchSettings):
        self._settings = settings
        api_key = settings.api_key.get_secret_value() if settings.api_key else None
        self._client = AsyncTavilyClient(api_key=api_key, api_base_url=settings.base_url)

    async def search(self, query: str) -> list[SearchResult]:
        """Top results for query."""
        try:
            response: dict[str, Any] = await self._client.search(
                query=query[:400],
                max_results=self._settings.max_results,
                timeout=self._settings.timeout_seconds,
            )
        except tavily_errors.UsageLimitExceededError as exc:
            raise AgentError("SEARCH_RATE_LIMITED", f"Web search is rate-limited: {exc}") from exc
        except (tavily_errors.InvalidAPIKeyError, tavily_errors.MissingAPIKeyError) as exc:
            raise AgentError("SEARCH_AUTH_ERROR", f"Web search refused the key: {exc}") from exc
        except (
            tavily_errors.TimeoutError,
            tavily_errors.BadRequestError,
            tavily_errors.ForbiddenError,
            httpx.HTTPError,
        ) as exc:
            raise AgentError("SEARCH_UNAVAILABLE", f"Web search failed: {exc}") from exc
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
