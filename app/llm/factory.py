"""The chat model for a role (peer, content, code), over the OpenAI chat-completions protocol."""

from __future__ import annotations

from enum import StrEnum

from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI
from openai import DefaultAioHttpClient

from app.config import LLMSettings


class Role(StrEnum):
    PEER = "peer"
    CONTENT = "content"
    CODE = "code"


class ChatModelFactory:
    """Builds one chat model per role from settings; any OpenAI-compatible endpoint can serve."""

    def __init__(self, settings: LLMSettings):
        self._settings = settings
        self._models: dict[Role, ChatOpenAI] = {}
        # One connection pool for every role, on aiohttp (the SDK's `aiohttp` extra): about
        # half the CPU per call of the default httpx transport under many concurrent calls.
        self._http = DefaultAioHttpClient(timeout=settings.timeout_seconds)

    def model_name(self, role: Role) -> str:
        """The model configured for `role`."""
        return {
            Role.PEER: self._settings.peer_model,
            Role.CONTENT: self._settings.content_model,
            Role.CODE: self._settings.code_model,
        }[role]

    def warm_up(self) -> None:
        """Build every role's client now, so the first tasks do not pay for it."""
        for role in Role:
            self.chat_model(role)

    async def aclose(self) -> None:
        """Close the connection pool the models share."""
        await self._http.aclose()

    def chat_model(self, role: Role) -> BaseChatModel:
        """The chat model for `role` (built once, reused: it holds the HTTP connection pool)."""
        if role not in self._models:
            settings = self._settings
            self._models[role] = ChatOpenAI(
                model=self.model_name(role),
                base_url=settings.base_url,
                api_key=settings.api_key,
                timeout=settings.timeout_seconds,
                # Retries are ours (app/llm/client.py): one policy, counted and bounded.
                max_retries=0,
                http_async_client=self._http,
            )
        return self._models[role]
