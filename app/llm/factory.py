"""The OpenAI client and the model for a role (peer, content, code), over chat completions."""

from __future__ import annotations

from enum import StrEnum

from openai import AsyncOpenAI, DefaultAioHttpClient

from app.config import LLMSettings


class ModelRole(StrEnum):
    """Which model a call is made for (LLM_PEER_MODEL, LLM_CONTENT_MODEL, LLM_CODE_MODEL)."""

    PEER = "peer"
    CONTENT = "content"
    CODE = "code"


class ChatEndpoint:
    """One OpenAI client for every role; any OpenAI-compatible endpoint can serve."""

    def __init__(self, settings: LLMSettings):
        self._settings = settings
        self._client: AsyncOpenAI | None = None
        # One connection pool for every role, on aiohttp (the SDK's `aiohttp` extra): about
        # half the CPU per call of the default httpx transport under many concurrent calls.
        self._http = DefaultAioHttpClient(timeout=settings.timeout_seconds)

    def model_name(self, role: ModelRole) -> str:
        """The model configured for `role`."""
        return {
            ModelRole.PEER: self._settings.peer_model,
            ModelRole.CONTENT: self._settings.content_model,
            ModelRole.CODE: self._settings.code_model,
        }[role]

    @property
    def client(self) -> AsyncOpenAI:
        """The SDK client (built once, reused: it holds the HTTP connection pool)."""
        if self._client is None:
            settings = self._settings
            key = settings.api_key.get_secret_value() if settings.api_key else None
            self._client = AsyncOpenAI(
                api_key=key,
                base_url=settings.base_url,
                timeout=settings.timeout_seconds,
                # Retries are ours (app/llm/client.py): one policy, counted and bounded.
                max_retries=0,
                http_client=self._http,
            )
        return self._client

    def warm_up(self) -> None:
        """Build the client now, so the first tasks do not pay for it."""
        _ = self.client

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()
