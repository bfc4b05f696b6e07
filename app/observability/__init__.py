"""Structured logs (structlog JSON lines), metrics and tracing context."""
