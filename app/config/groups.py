"""The settings groups, one per concern; each reads its own environment variables."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import NoDecode, SettingsConfigDict

from app.config.keys import ApiKey, parse_api_keys
from app.config.parameter_store import ParameterStoreSettings

ENV_FILE = ".env"


def _env(name: str, default: Any = None) -> Any:
    """A field read from exactly the environment variable `name`."""
    return Field(default=default, validation_alias=AliasChoices(name))


def _comma_list(value: object) -> object:
    """A comma-separated variable as a list of its non-blank items (other values unchanged)."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class _Group(ParameterStoreSettings):
    model_config = SettingsConfigDict(
        env_file=ENV_FILE,
        extra="ignore",
        populate_by_name=False,
        frozen=True,
        # `PORT=` counts as unset, as it does for the launcher: the default applies.
        env_ignore_empty=True,
    )


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class AppSettings(_Group):
    environment: Environment = Field(
        default=Environment.DEVELOPMENT, validation_alias=AliasChoices("ENVIRONMENT")
    )
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("LOG_LEVEL"))
    # The API's port when `make run` starts it (uvicorn is given it on its command line).
    port: Annotated[int, Field(ge=1, le=65535)] = Field(
        default=8000, validation_alias=AliasChoices("PORT")
    )
    # Browser origins allowed to call the API (CORS), comma-separated; none by default.
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=AliasChoices("CORS_ORIGINS")
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _comma_list(value)

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level


class MongoSettings(_Group):
    uri: str | None = _env("MONGO_URI")
    db_name: str = Field(
        default="agent_orchestrator", validation_alias=AliasChoices("MONGO_DB_NAME")
    )
    timeout_ms: Annotated[int, Field(gt=0)] = Field(
        default=5000, validation_alias=AliasChoices("MONGO_TIMEOUT_MS")
    )
    # The whole of one operation (PyMongo timeoutMS): pool wait, server selection and round
    # trips. Generous, because a worker whose event loop is busy with hundreds of tasks also
    # resumes each operation late; it bounds what a hung server can hold, not what a busy one may.
    operation_timeout_ms: Annotated[int, Field(gt=0)] = Field(
        default=30000, validation_alias=AliasChoices("MONGO_OPERATION_TIMEOUT_MS")
    )

    @field_validator("uri")
    @classmethod
    def _mongo_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("mongodb://", "mongodb+srv://")):
            raise ValueError("must start with mongodb:// or mongodb+srv://")
        return value or None


class RedisSettings(_Group):
    url: str | None = _env("REDIS_URL")
    # Celery's broker and result backend; both default to REDIS_URL. The broker must be Redis:
    # the API publishes with one LPUSH on it (app/dispatch/enqueue.py). Results are not kept
    # there (task_ignore_result): a task's result lives in MongoDB.
    broker_url: str | None = _env("CELERY_BROKER_URL")
    result_backend: str | None = _env("CELERY_RESULT_BACKEND")
    # The prefix of this deployment's keys (heartbeats, the reconciler's lock), so deployments
    # sharing one Redis neither count each other's workers nor hold up each other's recovery.
    # Unset: MONGO_DB_NAME, which already tells deployments apart.
    namespace: str | None = _env("REDIS_NAMESPACE")
    # Every client the service opens on Redis (API, workers, their watchdogs).
    connect_timeout_seconds: Annotated[float, Field(gt=0)] = _env(
        "REDIS_CONNECT_TIMEOUT_SECONDS", 2.0
    )
    # Above 1 s: Celery's consumer blocks on BRPOP for 1 s at a time on the same kind of socket.
    socket_timeout_seconds: Annotated[float, Field(gt=1)] = _env(
        "REDIS_SOCKET_TIMEOUT_SECONDS", 5.0
    )

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str | None) -> str | None:
        if value and not value.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise ValueError("may hold letters, digits, '-', '_' and '.' only")
        return value or None

    @field_validator("url", "broker_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value or None

    @field_validator("result_backend")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value or None


class ModelPrice(BaseModel):
    """US dollars per million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


# OpenAI list prices per million tokens (input, output) for the default models.
DEFAULT_PRICES = {
    "gpt-4.1-mini": ModelPrice(input=0.40, output=1.60),
    "gpt-4.1": ModelPrice(input=2.00, output=8.00),
    "o3-mini": ModelPrice(input=1.10, output=4.40),
}


class LLMSettings(_Group):
    api_key: SecretStr | None = _env("OPENAI_API_KEY")
    base_url: str | None = _env("OPENAI_BASE_URL")
    peer_model: str = _env("LLM_PEER_MODEL", "gpt-4.1-mini")
    content_model: str = _env("LLM_CONTENT_MODEL", "gpt-4.1")
    code_model: str = _env("LLM_CODE_MODEL", "o3-mini")
    timeout_seconds: Annotated[float, Field(gt=0)] = _env("LLM_TIMEOUT_SECONDS", 60.0)
    # Retries on 429, 5xx and timeouts only, bounded by count and by total time.
    max_attempts: Annotated[int, Field(ge=1, le=10)] = _env("LLM_MAX_ATTEMPTS", 3)
    retry_initial_seconds: Annotated[float, Field(gt=0)] = _env("LLM_RETRY_INITIAL_SECONDS", 0.5)
    retry_max_wait_seconds: Annotated[float, Field(gt=0)] = _env("LLM_RETRY_MAX_WAIT_SECONDS", 8.0)
    retry_budget_seconds: Annotated[float, Field(gt=0)] = _env("LLM_RETRY_BUDGET_SECONDS", 60.0)
    # Circuit breaker per endpoint and model, per worker process.
    breaker_failures: Annotated[int, Field(ge=1)] = _env("LLM_BREAKER_FAILURES", 5)
    breaker_reset_seconds: Annotated[float, Field(gt=0)] = _env("LLM_BREAKER_RESET_SECONDS", 30.0)
    # While the circuit is open a task goes back to the queue this long, at most this often.
    defer_seconds: Annotated[float, Field(ge=0)] = _env("LLM_DEFER_SECONDS", 15.0)
    defer_max: Annotated[int, Field(ge=0)] = _env("LLM_DEFER_MAX", 5)
    prices: dict[str, ModelPrice] = _env("LLM_PRICES", DEFAULT_PRICES)

    @property
    def endpoint(self) -> str:
        """The endpoint's name for breakers and metrics."""
        return self.base_url or "https://api.openai.com/v1"


class SearchSettings(_Group):
    api_key: SecretStr | None = _env("TAVILY_API_KEY")
    base_url: str | None = _env("TAVILY_BASE_URL")
    max_results: Annotated[int, Field(ge=1, le=20)] = Field(
        default=5, validation_alias=AliasChoices("SEARCH_MAX_RESULTS")
    )
    timeout_seconds: Annotated[float, Field(gt=0)] = Field(
        default=20.0, validation_alias=AliasChoices("SEARCH_TIMEOUT_SECONDS")
    )


class SecuritySettings(_Group):
    # Bootstrap keys: "key_id:secret[:role[:tenant]]", comma-separated (role viewer, user, the
    # default, operator or admin; tenant the key id unless given). Managed keys live in MongoDB.
    api_keys: SecretStr | None = _env("API_KEYS")

    @field_validator("api_keys")
    @classmethod
    def _well_formed(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_api_keys(value.get_secret_value())
        return value

    def keys_by_secret(self) -> dict[str, ApiKey]:
        """Secret -> the key (id, role, tenant), from API_KEYS."""
        if self.api_keys is None:
            return {}
        return parse_api_keys(self.api_keys.get_secret_value())


class WorkerSettings(_Group):
    concurrency: Annotated[int, Field(ge=1, le=1024)] = _env("WORKER_CONCURRENCY", 32)
    queue: str = _env("WORKER_QUEUE", "agent_tasks")
    # A worker renews its lease every third of it; a dead worker's task is reclaimed once the
    # lease ran out and the reconciler passed (recovery time <= lease + reconcile interval).
    lease_seconds: Annotated[float, Field(ge=1)] = _env("TASK_LEASE_SECONDS", 30.0)
    task_timeout_seconds: Annotated[float, Field(ge=1)] = _env("TASK_TIMEOUT_SECONDS", 600.0)
    max_attempts: Annotated[int, Field(ge=1, le=100)] = _env("TASK_MAX_ATTEMPTS", 3)
    dispatch_stale_seconds: Annotated[float, Field(ge=1)] = _env("DISPATCH_STALE_SECONDS", 60.0)
    reconcile_interval_seconds: Annotated[float, Field(gt=0)] = _env(
        "RECONCILE_INTERVAL_SECONDS", 10.0
    )
    shutdown_grace_seconds: Annotated[float, Field(ge=0)] = _env(
        "WORKER_SHUTDOWN_GRACE_SECONDS", 30.0
    )
    # A worker holding tasks whose store answered nothing for this long (leases are renewed
    # every TASK_LEASE_SECONDS/3, so a healthy one always has answers), or whose event loop
    # lags this much, reports itself stalled in its heartbeat and its metrics.
    stall_seconds: Annotated[float, Field(gt=0)] = _env("WORKER_STALL_SECONDS", 20.0)
    # Celery's task events (-E): what Flower and `celery events` show of tasks. Off by
    # default, as in Celery: three more publishes per task.
    send_task_events: bool = _env("WORKER_SEND_TASK_EVENTS", False)
    # This process's own /metrics (when set), for Prometheus to scrape each worker where no
    # PROMETHEUS_MULTIPROC_DIR is shared with the API (containers, other hosts).
    metrics_port: Annotated[int | None, Field(ge=1, le=65535)] = _env("WORKER_METRICS_PORT")
    # The watchdog also writes its heartbeat here (when set): `python -m worker.healthcheck`.
    heartbeat_file: Path | None = _env("WORKER_HEARTBEAT_FILE")

    @property
    def lease_renew_seconds(self) -> float:
        return self.lease_seconds / 3

    @model_validator(mode="after")
    def _stall_after_renewals(self) -> WorkerSettings:
        if self.stall_seconds <= self.lease_renew_seconds:
            raise ValueError(
                "WORKER_STALL_SECONDS must exceed TASK_LEASE_SECONDS/3 (the lease renewal)"
            )
        return self


class ObservabilitySettings(_Group):
    # When set, GET /metrics needs "Authorization: Bearer <token>".
    metrics_token: SecretStr | None = _env("METRICS_TOKEN")
    probe_timeout_seconds: Annotated[float, Field(gt=0)] = _env("PROBE_TIMEOUT_SECONDS", 2.0)
    # A probe slower than this reports "degraded".
    probe_slow_seconds: Annotated[float, Field(gt=0)] = _env("PROBE_SLOW_SECONDS", 1.0)
    # The API samples the queue's length this often for the per-minute history (longest kept).
    queue_sample_seconds: Annotated[float, Field(gt=0)] = _env("QUEUE_SAMPLE_SECONDS", 10.0)
    # Errors go to Sentry only when a DSN is set; unset, no Sentry client is created at all.
    sentry_dsn: SecretStr | None = _env("SENTRY_DSN")
    # Unset: ENVIRONMENT, and agent-orchestrator@<the package's version> (app/config/reporting.py).
    sentry_environment: str | None = _env("SENTRY_ENVIRONMENT")
    sentry_release: str | None = _env("SENTRY_RELEASE")
    sentry_traces_sample_rate: Annotated[float, Field(ge=0, le=1)] = _env(
        "SENTRY_TRACES_SAMPLE_RATE", 0.0
    )


class AgentSettings(_Group):
    router_min_confidence: Annotated[float, Field(ge=0, le=1)] = _env("ROUTER_MIN_CONFIDENCE", 0.5)
    session_history_messages: Annotated[int, Field(ge=0, le=100)] = _env(
        "SESSION_HISTORY_MESSAGES", 10
    )
    # Human in the loop, off by default: a decision at or above ROUTER_MIN_CONFIDENCE but below
    # ROUTER_AUTO_CONFIDENCE waits for an admin to confirm or override the agent.
    router_auto_confidence: Annotated[float | None, Field(ge=0, le=1)] = _env(
        "ROUTER_AUTO_CONFIDENCE", None
    )
    # Agents whose final output waits for an admin's approval (comma-separated names).
    approval_required_agents: Annotated[list[str], NoDecode] = _env("APPROVAL_REQUIRED_AGENTS", [])
    checkpoint_timeout_seconds: Annotated[float, Field(gt=0)] = _env(
        "CHECKPOINT_TIMEOUT_SECONDS", 86400.0
    )

    @field_validator("approval_required_agents", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _comma_list(value)
