"""Settings: defaults, groups, and one clear line when a value is missing or malformed."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from app.config import ApiKey, Settings, describe_error, parse_api_keys
from app.domain.access import Role

PRODUCTION = {
    "ENVIRONMENT": "production",
    "MONGO_URI": "mongodb://db.internal:27017",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "OPENAI_API_KEY": "sk-real-looking-key",
    "TAVILY_API_KEY": "tvly-real-looking-key",
    "API_KEYS": "svc:0123456789abcdef",
}
CELERY = ["CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "CORS_ORIGINS"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [*PRODUCTION, "WORKER_CONCURRENCY", "LLM_PEER_MODEL", "LOG_LEVEL", *CELERY]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir("/")  # no .env file in reach


def test_defaults_follow_the_llm_adr() -> None:
    settings = Settings()
    assert settings.llm.peer_model == "gpt-4.1-mini"
    assert settings.llm.content_model == "gpt-4.1"
    assert settings.llm.code_model == "o3-mini"
    assert settings.worker.concurrency == 32
    assert settings.mongo.db_name == "agent_orchestrator"


def test_groups_read_flat_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER_CONCURRENCY", "8")
    monkeypatch.setenv("LLM_PEER_MODEL", "my-router")
    monkeypatch.setenv("API_KEYS", "alpha:aaaaaaaa1, beta:bbbbbbbb2")
    settings = Settings()
    assert settings.worker.concurrency == 8
    assert settings.llm.peer_model == "my-router"
    keys = settings.security.keys_by_secret()
    assert {s: (k.key_id, k.role.value) for s, k in keys.items()} == {
        "aaaaaaaa1": ("alpha", "user"),
        "bbbbbbbb2": ("beta", "user"),
    }


def test_production_accepts_a_complete_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    assert Settings().mongo_uri == "mongodb://db.internal:27017"


@pytest.mark.parametrize("missing", ["MONGO_URI", "REDIS_URL", "OPENAI_API_KEY", "API_KEYS"])
def test_production_names_a_missing_variable(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    for name, value in PRODUCTION.items():
        if name != missing:
            monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert describe_error(caught.value) == (
        f"configuration error: {missing} is required when ENVIRONMENT=production"
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WORKER_CONCURRENCY", "many"),
        ("MONGO_URI", "http://db"),
        ("REDIS_URL", "localhost:6379"),
        ("LOG_LEVEL", "LOUD"),
        ("API_KEYS", "no-colon-here"),
    ],
)
def test_malformed_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert describe_error(caught.value).startswith(f"configuration error: {name}: ")


def test_placeholder_secret_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OPENAI_API_KEY", "changeme")
    with pytest.raises(ValidationError, match="OPENAI_API_KEY is a placeholder"):
        Settings()


def test_api_keys_need_an_id_and_a_long_secret() -> None:
    assert parse_api_keys("a:12345678") == {"12345678": ApiKey("a", Role.USER, "a")}
    assert parse_api_keys("ops:abcdefgh:admin")["abcdefgh"] == ApiKey("ops", Role.ADMIN, "ops")
    # Two bootstrap keys of one tenant: the fourth field.
    both = parse_api_keys("a1:12345678:user:acme,a2:abcdefgh:viewer:acme")
    assert both["12345678"] == ApiKey("a1", Role.USER, "acme")
    assert both["abcdefgh"] == ApiKey("a2", Role.VIEWER, "acme")
    with pytest.raises(ValueError, match="key_id:secret"):
        parse_api_keys("a:short")
    with pytest.raises(ValueError, match="must be one of viewer, user, operator, admin"):
        parse_api_keys("a:12345678:root")
    # A tenant (or a key id standing for one) is part of other ids: no ":" or spaces in it.
    with pytest.raises(ValueError, match="the tenant of key 'a' must match"):
        parse_api_keys("a:12345678:user:ac me")


@pytest.mark.parametrize("module", ["worker.celery_app", "app.main"])
def test_start_up_stops_with_one_line_naming_the_variable(module: str) -> None:
    env = {"PATH": "/usr/bin:/bin", **PRODUCTION}
    del env["MONGO_URI"]
    code = (
        f"import {module}"
        if module.startswith("worker")
        else "import app.main as m; m.create_app()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd="/", check=False
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "configuration error: MONGO_URI is required when ENVIRONMENT=production"
    )


def test_celery_broker_and_backend_default_to_redis_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6379/0")
    settings = Settings()
    assert settings.broker_url == settings.result_backend == "redis://cache.internal:6379/0"
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://queue.internal:6379/1")
    monkeypatch.setenv("CELERY_RESULT_BACKEND", "redis://results.internal:6379/2")
    settings = Settings()
    assert settings.broker_url == "redis://queue.internal:6379/1"
    assert settings.result_backend == "redis://results.internal:6379/2"


def test_a_broker_that_is_not_redis_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CELERY_BROKER_URL", "amqp://guest@rabbit//")
    with pytest.raises(ValidationError) as raised:
        Settings()
    assert describe_error(raised.value) == (
        "configuration error: CELERY_BROKER_URL: must start with redis://, rediss:// or unix://"
    )


def test_cors_origins_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example,")
    assert Settings().app.cors_origins == ["https://a.example", "https://b.example"]
    monkeypatch.delenv("CORS_ORIGINS")
    assert Settings().app.cors_origins == []


def test_an_empty_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PORT", "WORKER_CONCURRENCY", "REDIS_NAMESPACE", "MONGO_DB_NAME"):
        monkeypatch.setenv(name, "")
    settings = Settings()
    assert (settings.app.port, settings.worker.concurrency) == (8000, 32)
    assert settings.redis_namespace == settings.mongo.db_name == "agent_orchestrator"


def test_the_redis_namespace_defaults_to_the_database_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGO_DB_NAME", "orchestrator_staging")
    assert Settings().redis_namespace == "orchestrator_staging"
    monkeypatch.setenv("REDIS_NAMESPACE", "staging-eu")
    assert Settings().redis_namespace == "staging-eu"
    monkeypatch.setenv("REDIS_NAMESPACE", "staging eu")
    with pytest.raises(ValidationError) as raised:
        Settings()
    assert describe_error(raised.value).startswith("configuration error: REDIS_NAMESPACE: ")
