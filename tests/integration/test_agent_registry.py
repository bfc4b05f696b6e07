"""Adding an agent is one module plus one registry line: the router offers it and runs it."""

from __future__ import annotations

import uuid

import pytest

from app.agents.registry import AGENTS
from app.config import Settings
from app.dispatch.processing import Outcome, process_task
from app.dispatch.wiring import WorkerDeps
from app.domain.models import Task
from tests.echo_agent import EchoAgent
from tests.support import Service


async def test_a_third_agent_is_offered_by_the_router_and_run(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MONGO_URI", "REDIS_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.setenv(name, service.topology.env[name])
    for name in ("TAVILY_BASE_URL", "TAVILY_API_KEY"):
        monkeypatch.setenv(name, service.topology.env[name])
    # A database of its own, so the service's workers never see this task.
    monkeypatch.setenv("MONGO_DB_NAME", f"registry_{uuid.uuid4().hex[:8]}")
    text = f"Echo back this sentence {uuid.uuid4().hex[:8]}"
    task = Task.submitted(str(uuid.uuid4()), "dev", text, "registry-test")

    deps = await WorkerDeps.open(Settings(), "in-test-worker", agents=[*AGENTS, EchoAgent])
    try:
        await deps.lifecycle.create(task)
        outcome = await process_task(task.task_id, deps)
        stored = await deps.store.tasks.get(task.task_id)
    finally:
        await deps.close()

    assert outcome is Outcome.COMPLETED
    assert stored is not None
    assert stored.selected_agent == "EchoAgent"
    assert stored.result is not None
    assert stored.result.raw_output == text
    [router_request] = [r for r in service.llm_requests_about(text) if r["response_format"]]
    schema = router_request["response_format"]["json_schema"]["schema"]
    offered = schema["properties"]["agent_name"]["enum"]
    assert offered == ["ContentAgent", "CodeAgent", "EchoAgent", "Unknown"]
    assert f"- EchoAgent: {EchoAgent.description}" in router_request["messages"][0]["content"]
