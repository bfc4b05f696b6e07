"""What error reports (Sentry) are given from the settings, and every secret they must not carry."""

from __future__ import annotations

from importlib.metadata import version
from typing import TypedDict
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr

from app.config.errors import ConfigurationError
from app.config.settings import Settings

PACKAGE = "agent-orchestrator"


class SentryOptions(TypedDict):
    """The keyword arguments of app.observability.sentry.init_sentry."""

    dsn: str | None
    environment: str
    release: str
    traces_sample_rate: float
    secrets: list[str]


def sentry_options(settings: Settings) -> SentryOptions:
    """SENTRY_* with their defaults filled in (ENVIRONMENT, the package's version)."""
    observability = settings.observability
    return {
        "dsn": _dsn(observability.sentry_dsn),
        "environment": observability.sentry_environment or settings.app.environment.value,
        "release": observability.sentry_release or f"{PACKAGE}@{version(PACKAGE)}",
        "traces_sample_rate": observability.sentry_traces_sample_rate,
        "secrets": secret_values(settings),
    }


def _dsn(secret: SecretStr | None) -> str | None:
    """SENTRY_DSN, checked here: the SDK's own check would stop the start less clearly."""
    if secret is None:
        return None
    dsn = secret.get_secret_value()
    if not _looks_like_a_dsn(dsn):
        raise ConfigurationError(
            "configuration error: SENTRY_DSN: "
            "must look like https://<public key>@<host>/<project id>"
        )
    return dsn


def _looks_like_a_dsn(dsn: str) -> bool:
    parts = urlsplit(dsn)
    try:
        parts.port  # noqa: B018 (a port that is not a number raises)
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.username and parts.hostname)
        and parts.path.rsplit("/", 1)[-1].isdigit()
    )


def secret_values(settings: Settings) -> list[str]:
    """Every configured secret: each SecretStr setting, each API key's secret, and the
    passwords in the MongoDB and Redis URLs (as written and percent-decoded)."""
    found: set[str] = set()
    for group_name in type(settings).model_fields:
        group = getattr(settings, group_name)
        for name in type(group).model_fields:
            if isinstance(value := getattr(group, name), SecretStr):
                found.add(value.get_secret_value())
    found.update(settings.security.keys_by_secret())
    redis = settings.redis
    for url in (settings.mongo.uri, redis.url, redis.broker_url, redis.result_backend):
        password = urlsplit(url).password if url else None
        if password:
            found.update((password, unquote(password)))
    found.discard("")
    return sorted(found)
