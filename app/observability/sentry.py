"""Errors to Sentry, when a DSN is set: the log context's ids as tags, and no secret sent.

Without a DSN nothing here starts a client, and `report_exception` and `tag_request` cost
next to nothing (the SDK's capture is a no-op without a client).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal, cast

import structlog

if TYPE_CHECKING:
    from sentry_sdk.integrations import Integration
    from sentry_sdk.types import Event, Hint

# The SDK and its integrations are imported when a DSN starts a client: some 15 MiB per process
# that a service without Sentry does not pay.
_started = False

Component = Literal["api", "worker"]
FILTERED = "[Filtered]"
# Bound in the log context by the API's middleware and the worker's runtime.
CONTEXT_TAGS = ("task_id", "request_id", "session_id")
# Keys whose values Sentry's scrubber replaces wherever they appear (headers, local variables,
# extra data), beside its own list (which has authorization, api_key, token, password...).
EXTRA_DENYLIST = [
    "x-api-key",
    "api_keys",
    "openai_api_key",
    "tavily_api_key",
    "metrics_token",
    "mongo_uri",
    "uri",
    "redis_url",
    "broker_url",
    "result_backend",
    "dsn",
    "sentry_dsn",
]


def init_sentry(
    component: Component,
    *,
    dsn: str | None,
    environment: str,
    release: str,
    traces_sample_rate: float,
    secrets: Iterable[str],
) -> bool:
    """Start this process's Sentry client; without a DSN, start nothing (False)."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.fastapi import FastApiIntegration
    from sentry_sdk.integrations.starlette import StarletteIntegration
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    global _started
    scrub = EventFilter(secrets)
    integrations: list[Integration] = (
        [StarletteIntegration(), FastApiIntegration()]
        if component == "api"
        else [CeleryIntegration()]
    )
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        # 0 turns tracing off altogether (no transaction per request or task), not "sample none".
        traces_sample_rate=traces_sample_rate or None,
        send_default_pii=False,
        event_scrubber=EventScrubber(denylist=[*DEFAULT_DENYLIST, *EXTRA_DENYLIST], recursive=True),
        before_send=scrub,
        before_send_transaction=scrub,
        # Only the integrations named here: the others would wrap every Mongo, Redis and HTTP call.
        auto_enabling_integrations=False,
        integrations=integrations,
    )
    sentry_sdk.get_global_scope().set_tag("component", component)
    _started = True
    return True


def report_exception(exc: BaseException) -> None:
    """Send an exception the service handles itself (a crashed task) as one error event."""
    if _started:
        import sentry_sdk

        sentry_sdk.capture_exception(exc)


def tag_request(request_id: str) -> None:
    """Tag the request's events, also those captured once its log context is gone (a 500)."""
    if _started:
        import sentry_sdk

        sentry_sdk.get_isolation_scope().set_tag("request_id", request_id)


class EventFilter:
    """Sentry's before_send: add the log context's ids as tags, then replace every secret."""

    def __init__(self, secrets: Iterable[str]):
        # Longest first, so a secret that holds another is replaced whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, event: Event, hint: Hint) -> Event | None:
        tags = event.setdefault("tags", {})
        context = structlog.contextvars.get_contextvars()
        for key in CONTEXT_TAGS:
            if context.get(key) is not None:
                tags.setdefault(key, str(context[key]))
        return cast("Event", self._clean(event))

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self._secrets:
                if secret in value:
                    value = value.replace(secret, FILTERED)
            return value
        if isinstance(value, dict):
            return {self._clean(key): self._clean(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._clean(item) for item in value]
        return value
