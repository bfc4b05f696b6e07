"""The OpenAI and Tavily stand-ins as real child processes, reset before every test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from standins.processes import free_port, spawn_module
from tests.integration.standins.standin_support import OPENAI_KEY, TAVILY_KEY, control


@contextmanager
def _standin(name: str, api_key: str, factory: pytest.TempPathFactory) -> Iterator[str]:
    """`standins.{name}_standin` on a free port, requiring api_key; yields its base url."""
    port = free_port()
    proc = spawn_module(
        f"{name}-standin",
        f"standins.{name}_standin",
        ["--port", str(port), "--api-key", api_key],
        port=port,
        log_path=factory.mktemp("standin-logs") / f"{name}.log",
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def openai_standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The OpenAI stand-in's /v1 base url, one process per test module."""
    with _standin("openai", OPENAI_KEY, tmp_path_factory) as url:
        yield f"{url}/v1"


@pytest.fixture(scope="module")
def tavily_standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Tavily stand-in's base url, one process per test module."""
    with _standin("tavily", TAVILY_KEY, tmp_path_factory) as url:
        yield url


@pytest.fixture
async def openai_url(openai_standin: str) -> str:
    """The OpenAI stand-in without faults, planted urls, logged requests or counted calls."""
    await control(openai_standin, "reset")
    return openai_standin


@pytest.fixture
async def tavily_url(tavily_standin: str) -> str:
    """The Tavily stand-in without faults, logged searches or counted searches."""
    await control(tavily_standin, "reset")
    return tavily_standin
