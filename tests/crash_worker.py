"""The service's worker with one agent more, which crashes (tests/integration/test_sentry.py):
`celery -A tests.crash_worker:celery_app worker`."""

from __future__ import annotations

import worker.celery_app as face
from app.agents.base import AgentDeps, AgentOutput, AgentRequest
from app.agents.registry import AGENTS
from app.config import Settings
from app.dispatch.runtime import WorkerRuntime


class CrashAgent:
    name = "CrashAgent"
    description = "Crashes on every task, with the service's secrets in its error; for tests."

    def __init__(self, deps: AgentDeps):
        self._deps = deps

    async def run(self, request: AgentRequest) -> AgentOutput:
        """Raise what a bug would: an unexpected exception, here holding every secret."""
        settings = self._deps.settings
        assert settings.llm.api_key is not None
        assert settings.search.api_key is not None
        openai_key = settings.llm.api_key.get_secret_value()
        tavily_key = settings.search.api_key.get_secret_value()
        api_secrets = list(settings.security.keys_by_secret())
        raise RuntimeError(f"keys {openai_key} {tavily_key} {api_secrets} refused")


class _RuntimeWithCrashAgent(WorkerRuntime):
    def __init__(self, settings: Settings):
        super().__init__(settings, agents=[*AGENTS, CrashAgent])


# The worker's start-up (worker_init) builds its runtime from this name.
face.WorkerRuntime = _RuntimeWithCrashAgent  # type: ignore[misc]
celery_app = face.celery_app
