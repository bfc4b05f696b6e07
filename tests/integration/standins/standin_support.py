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


async def answered_requests(base_url: str) -> list[dict[str, Any]]:
    """The stand-in's request log once every request in it has been answered."""
    deadline = time.monotonic() + 10
    while True:
        log: list[dict[str, Any]] = await control(base_url, "requests")
        if all(entry["status"] is not None for entry in log) or time.monotonic() > deadline:
            return log
        await asyncio.sleep(0.05)
