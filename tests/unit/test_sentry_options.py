"""Errors to Sentry: off without a DSN; ids as tags; no configured secret in what is sent."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import pytest
import sentry_sdk
import structlog

from app.config import ConfigurationError, Settings
from app.config.reporting import secret_values, sentry_options
from app.observability.sentry import FILTERED, EventFilter, init_sentry, report_exception

SECRETS = {
    "OPENAI_API_KEY": "sk-openai-0123456789",
    "TAVILY_API_KEY": "tvly-0123456789",
    "API_KEYS": "dev:user-secret-0123,ops:admin-secret-0123:admin",
    "METRICS_TOKEN": "metrics-token-0123",
    "MONGO_URI": "mongodb://app:m%40ngo-pass@db.internal:27017/?authSource=admin",
    "REDIS_URL": "redis://:redis-pass-0123@cache.internal:6379/0",
}
NAMES = [*SECRETS, "SENTRY_DSN", "SENTRY_ENVIRONMENT", "SENTRY_RELEASE", "ENVIRONMENT"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir("/")  # no .env file in reach


def test_without_a_dsn_nothing_is_initialised() -> None:
    options = sentry_options(Settings())
    assert options["dsn"] is None

    assert init_sentry("worker", **options) is False
    assert init_sentry("api", **options) is False
    report_exception(RuntimeError("nowhere to go"))

    assert not sentry_sdk.is_initialized()
    assert not sentry_sdk.get_client().is_active()


@pytest.mark.parametrize(
    "dsn", ["ftp://key@sentry.example/1", "https://sentry.example/1", "https://key@sentry.example/"]
)
def test_a_malformed_dsn_stops_the_start_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, dsn: str
) -> None:
    monkeypatch.setenv("SENTRY_DSN", dsn)
    with pytest.raises(ConfigurationError, match="SENTRY_DSN: must look like") as raised:
        sentry_options(Settings())
    assert dsn not in str(raised.value)
    assert not sentry_sdk.is_initialized()


def test_environment_and_release_default_to_the_service_and_the_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "test")
    options = sentry_options(Settings())
    assert options["environment"] == "test"
    assert options["release"] == f"agent-orchestrator@{version('agent-orchestrator')}"
    assert options["traces_sample_rate"] == 0

    monkeypatch.setenv("SENTRY_ENVIRONMENT", "staging-eu")
    monkeypatch.setenv("SENTRY_RELEASE", "agent-orchestrator@abc1234")
    options = sentry_options(Settings())
    assert options["environment"] == "staging-eu"
    assert options["release"] == "agent-orchestrator@abc1234"


def test_every_configured_secret_is_collected(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SENTRY_DSN", "https://publickey@sentry.example/7")
    found = set(secret_values(Settings()))
    expected = {
        "sk-openai-0123456789",
        "tvly-0123456789",
        "user-secret-0123",
        "admin-secret-0123",
        "metrics-token-0123",
        "m%40ngo-pass",
        "m@ngo-pass",
        "redis-pass-0123",
    }
    assert expected <= found
    # Key ids and hosts are not secrets: the events keep them.
    assert not found & {"dev", "ops", "app", "db.internal"}


def test_secret_values_are_filtered_anywhere_in_an_event() -> None:
    event: dict[str, Any] = {
        "exception": {"values": [{"type": "RuntimeError", "value": "key sk-secret-1 refused"}]},
        "breadcrumbs": {"values": [{"message": "GET ?token=tok-secret-2&x=1"}]},
        "extra": {"frames": [{"vars": {"headers": "{'x': 'sk-secret-1'}"}}]},
        "contexts": {"nested": {"tok-secret-2": ["sk-secret-1-and-more"]}},
        "environment": "production",
    }
    sent = EventFilter(["sk-secret-1", "tok-secret-2", "sk-secret-1-and-more", ""])(event, {})

    assert sent is not None
    text = repr(sent)
    assert "secret" not in text
    assert sent["exception"]["values"][0]["value"] == f"key {FILTERED} refused"
    assert sent["contexts"]["nested"] == {FILTERED: [FILTERED]}
    assert sent["environment"] == "production"


def test_the_log_contexts_ids_become_tags() -> None:
    with structlog.contextvars.bound_contextvars(
        task_id="t-1", request_id="r-1", session_id=None, worker_id="w-1"
    ):
        sent = EventFilter([])({"tags": {"component": "worker", "request_id": "given"}}, {})
    assert sent is not None
    # A tag set on the scope wins; ids that are unknown (None) or not ids are left out.
    assert sent["tags"] == {"component": "worker", "task_id": "t-1", "request_id": "given"}
