"""Offline stand-in for OpenAI's chat-completions API with deterministic answers."""

from standins.openai_standin.app import create_app

__all__ = ["create_app"]
