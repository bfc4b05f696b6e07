"""Offline stand-in for Tavily's search API with deterministic results."""

from standins.tavily_standin.app import create_app

__all__ = ["create_app"]
