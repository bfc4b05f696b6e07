"""An offline server for Tavily's /search API with deterministic results."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from standins._standin_control import FaultQueue, RequestLog, add_control_routes
from standins.tavily_standin._control import SearchFault

MAX_RESULTS = 20
DEFAULT_MAX_RESULTS = 5
DOMAINS = (
    "en.wikipedia.org",
    "www.reuters.com",
    "www.nature.com",
    "arstechnica.com",
    "www.technologyreview.com",
    "www.bbc.com",
    "www.sciencedaily.com",
    "techcrunch.com",
    "www.economist.com",
    "www.theverge.com",
    "www.forbes.com",
    "medium.com",
)
_TITLES = (
    "{Topic}: an overview",
    "What to know about {topic}",
    "{Topic} explained",
    "Recent developments in {topic}",
    "A practical guide to {topic}",
    "{Topic}: key facts and figures",
    "Expert analysis of {topic}",
    "Frequently asked questions about {topic}",
)
_CONTENTS = (
    "This overview of {topic} covers the main ideas, how they developed and why they matter. "
    "It summarises the current state and the questions that remain open.",
    "Reporting on {topic} highlights recent developments and the people driving them. "
    "Analysts point to cost, scale and adoption as the factors to watch.",
    "{Topic} is explained step by step, starting from the basics. "
    "The article closes with common misconceptions and further reading.",
    "New work on {topic} has been published this year, with several notable results. "
    "Researchers caution that some findings still need independent confirmation.",
    "A hands-on guide to {topic} with examples and recommendations. "
    "It compares the main approaches and when each one fits best.",
    "Key facts and figures about {topic}, collected from public sources. "
    "The data show steady change over the last decade.",
)
_STOPWORDS = frozenset((
    "a", "an", "the", "and", "or", "of", "in", "on", "for", "to", "with", "about", "what", "is",
    "are", "how", "why", "when", "which", "who", "latest", "recent", "new", "please", "find",
    "search", "me",
))  # fmt: skip
_SEARCH_DEPTHS = ("basic", "advanced", "fast", "ultra-fast")
_TOPICS = ("general", "news", "finance")


class TavilyAPIError(Exception):
    """An error in Tavily's body {"detail": {"error": message}}, where the client reads it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message

    def response(self) -> JSONResponse:
        """The HTTP response Tavily would send for this error."""
        return JSONResponse({"detail": {"error": self.message}}, status_code=self.status)


@dataclass
class StandinState:
    """Searches answered since start or reset, the faults waiting, and the last searches."""

    searches: int = 0
    faults: FaultQueue[SearchFault] = field(default_factory=FaultQueue)
    log: RequestLog = field(default_factory=RequestLog)


def _topic(query: str) -> str:
    words = re.findall(r"[\w+#.-]+", query.lower())
    kept = [w.strip(".") for w in words if w not in _STOPWORDS] or words
    return " ".join(kept[:6]) or "this topic"


def _slug(query: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", query.lower())[:8])[:60].rstrip("-") or "search"


def _result(query: str, n: int, domain: str, *, raw: bool, favicon: bool) -> dict[str, Any]:
    topic = _topic(query)
    fill = {"topic": topic, "Topic": topic[:1].upper() + topic[1:]}
    result: dict[str, Any] = {
        "title": _TITLES[(n - 1) % len(_TITLES)].format(**fill),
        "url": f"https://{domain}/{_slug(query)}-{n}",
        "content": _CONTENTS[(n - 1) % len(_CONTENTS)].format(**fill),
        "score": round(0.95 * 0.96 ** (n - 1), 4),
        "raw_content": None,
    }
    if raw:
        result["raw_content"] = f"# {result['title']}\n\n{result['content']}"
    if favicon:
        result["favicon"] = f"https://{domain}/favicon.ico"
    return result


def _domains(query: str, include: list[str], exclude: list[str]) -> list[str]:
    pool = [d for d in (include or DOMAINS) if d not in exclude] or list(DOMAINS)
    start = int(hashlib.sha256(query.encode()).hexdigest()[:8], 16) % len(pool)
    return pool[start:] + pool[:start]


def _str_list(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TavilyAPIError(400, f"Invalid '{name}': expected a list of domain strings.")
    return value


def search_response(body: dict[str, Any]) -> dict[str, Any]:
    """Validate a /search body as Tavily does and build its deterministic answer."""
    started = time.perf_counter()
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise TavilyAPIError(400, "Query is missing: 'query' must be a non-empty string.")
    max_results = body.get("max_results", DEFAULT_MAX_RESULTS)
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 0:
        raise TavilyAPIError(
            400, "Invalid 'max_results': expected a non-negative integer (above 20 is capped)."
        )
    if body.get("search_depth", "basic") not in _SEARCH_DEPTHS:
        raise TavilyAPIError(400, f"Invalid 'search_depth': expected one of {_SEARCH_DEPTHS}.")
    if body.get("topic", "general") not in _TOPICS:
        raise TavilyAPIError(400, f"Invalid 'topic': expected one of {_TOPICS}.")
    domains = _domains(
        query, _str_list(body, "include_domains"), _str_list(body, "exclude_domains")
    )
    raw, favicon = bool(body.get("include_raw_content")), bool(body.get("include_favicon"))
    results = [
        _result(query, n, domains[(n - 1) % len(domains)], raw=raw, favicon=favicon)
        for n in range(1, min(max_results, MAX_RESULTS) + 1)
    ]
    answer = None
    if body.get("include_answer"):
        answer = f"{len(results)} sources cover {_topic(query)}; see the results for details."
    response: dict[str, Any] = {
        "query": query,
        "follow_up_questions": None,
        "answer": answer,
        "images": [],
        "results": results,
        "response_time": round(time.perf_counter() - started, 4),
        "request_id": str(uuid.uuid4()),
    }
    if body.get("include_usage"):
        response["usage"] = {"credits": 2 if body.get("search_depth") == "advanced" else 1}
    return response


def _check_key(request: Request, body: dict[str, Any], api_key: str | None) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    # Tavily's older clients sent the key in the JSON body.
    token = token or str(body.get("api_key") or "").strip()
    if not token:
        # tavily-python without a key goes keyless: X-Tavily-Access-Mode, no Authorization.
        raise TavilyAPIError(
            401,
            "Unauthorized: missing or invalid API key. The offline Tavily stand-in does not "
            "serve keyless requests: pass api_key='tvly-...' to the client.",
        )
    if api_key is not None and token != api_key:
        raise TavilyAPIError(
            401,
            "Unauthorized: missing or invalid API key. The offline Tavily stand-in accepts only "
            "the key it was started with (--api-key).",
        )


async def _search(
    request: Request, body: Any, state: StandinState, api_key: str | None
) -> dict[str, Any]:
    """Check, fault and answer one search; raises TavilyAPIError for error answers."""
    _check_key(request, body if isinstance(body, dict) else {}, api_key)
    if not isinstance(body, dict):
        raise TavilyAPIError(400, "Invalid request body: expected a JSON object.")
    fault = state.faults.take()
    if fault is not None and fault.delay_ms:
        await asyncio.sleep(fault.delay_ms / 1000)
    if fault is not None and fault.status is not None:
        raise TavilyAPIError(fault.status, fault.message)
    response = search_response(body)
    state.searches += 1
    return response


def create_app(api_key: str | None = None) -> FastAPI:
    """The stand-in app; with api_key set only that key passes, else any non-empty one."""
    state = StandinState()
    app = FastAPI(title="Tavily stand-in (offline)", docs_url=None, redoc_url=None)
    app.state.standin = state

    @app.exception_handler(TavilyAPIError)
    async def _api_error(_: Request, exc: TavilyAPIError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = (
            f"{request.method} {request.url.path} is not served: the offline Tavily stand-in "
            "serves only POST /search."
        )
        return TavilyAPIError(exc.status_code, message).response()

    @app.post("/search")
    async def search(request: Request) -> Any:
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        sent = body if isinstance(body, dict) else {}
        # Logged as sent, with the status once answered (null while a delay holds it).
        entry = {"query": sent.get("query"), "max_results": sent.get("max_results"), "status": None}
        state.log.add(entry)
        try:
            response = await _search(request, body, state, api_key)
        except TavilyAPIError as exc:
            entry["status"] = exc.status
            return exc.response()
        entry["status"] = 200
        return response

    @app.get("/_standin/stats")
    async def stats() -> dict[str, int]:
        return {"searches": state.searches}

    def reset() -> dict[str, int]:
        state.searches = 0
        return {"searches": 0}

    add_control_routes(app, state.faults, state.log, SearchFault, reset)
    return app
