"""Helpers for the stand-in tests: the keys they require and calls to their test control API."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

OPENAI_KEY = "sk-test"
TAVILY_KEY = "tvly-test"


async def control(base_url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """Call a stand-in's /_standin/ test endpoint: GET a read without a body, else POST."""
    url = f"{base_url.removesuffix('/v1')}/_standin/{path}"
    async with httpx.AsyncClient() as client:
        if body is None and path in ("stats", "faults", "requests"):
            response = await client.get(url)
        else:
            response = await client.post(url, json=body or {})
    return response.raise_for_status().json()


ANSWER_DEADLINE_SECONDS = 30.0


async def answered_requests(base_url: str) -> list[dict[str, Any]]:
    """The stand-in's request log once every request in it has been answered; raises when one
    is still unanswered after ANSWER_DEADLINE_SECONDS."""
    deadline = time.monotonic() + ANSWER_DEADLINE_SECONDS
    while True:
        log: list[dict[str, Any]] = await control(base_url, "requests")
        pending = [entry for entry in log if entry["status"] is None]
        if not pending:
            return log
        if time.monotonic() > deadline:
            waited = f"{ANSWER_DEADLINE_SECONDS:g}s"
            raise AssertionError(f"{len(pending)} requests unanswered after {waited}: {pending}")
        await asyncio.sleep(0.05)
