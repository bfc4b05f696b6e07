"""One Settings object over the groups, and reading it at start-up with one clear line on error."""

from __future__ import annotations

import os
import sys
from functools import lru_cache

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.config.errors import ConfigurationError
from app.config.groups import (
    ENV_FILE,
    AgentSettings,
    AppSettings,
    Environment,
    LLMSettings,
    MongoSettings,
    ObservabilitySettings,
    RedisSettings,
    SearchSettings,
    SecuritySettings,
    WorkerSettings,
)
from app.config.parameter_store import (
    PATH_VARIABLE,
    parameters_below_environment,
    read_parameters,
)
from app.config.tenancy import TenancySettings

_PLACEHOLDERS = {"changeme", "change-me", "secret", "placeholder", "dev", "test"}


class Settings(BaseSettings):
    """Every setting of the service, grouped; each group reads its own variables."""

    model_config = SettingsConfigDict(env_file=ENV_FILE, extra="ignore", frozen=True)

    app: AppSettings = Field(default_factory=AppSettings)
    mongo: MongoSettings = Field(default_factory=MongoSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    tenancy: TenancySettings = Field(default_factory=TenancySettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    agents: AgentSettings = Field(default_factory=AgentSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)

    @model_validator(mode="after")
    def _required_in_production(self) -> Settings:
        if self.app.environment is not Environment.PRODUCTION:
            return self
        required: dict[str, object] = {
            "MONGO_URI": self.mongo.uri,
            "REDIS_URL": self.redis.url,
            "OPENAI_API_KEY": self.llm.api_key,
            "TAVILY_API_KEY": self.search.api_key,
            "API_KEYS": self.security.api_keys,
        }
        for name, value in required.items():
            if value is None:
                raise ValueError(f"{name} is required when ENVIRONMENT=production")
            if isinstance(value, SecretStr) and value.get_secret_value().lower() in _PLACEHOLDERS:
                raise ValueError(f"{name} is a placeholder; set a real secret in production")
        for secret in self.security.keys_by_secret():
            if secret.lower() in _PLACEHOLDERS:
                raise ValueError("API_KEYS holds a placeholder secret; set real keys in production")
        return self

    @property
    def mongo_uri(self) -> str:
        """The MongoDB URI, required by every process that opens the store."""
        return _required(self.mongo.uri, "MONGO_URI")

    @property
    def redis_url(self) -> str:
        """The Redis URL (broker and short-lived state)."""
        return _required(self.redis.url, "REDIS_URL")

    @property
    def broker_url(self) -> str:
        """Celery's broker: CELERY_BROKER_URL, else REDIS_URL."""
        return self.redis.broker_url or self.redis_url

    @property
    def redis_namespace(self) -> str:
        """The prefix of this deployment's Redis keys: REDIS_NAMESPACE, else MONGO_DB_NAME."""
        return self.redis.namespace or self.mongo.db_name

    @property
    def result_backend(self) -> str:
        """Celery's result backend: CELERY_RESULT_BACKEND, else REDIS_URL."""
        return self.redis.result_backend or self.redis_url

    @property
    def wait_limit_seconds(self) -> float:
        """How long a Celery thread waits for its task: the run's limit, plus the store calls
        around it (claim, history and state reads; the final writes), each bounded by
        MONGO_OPERATION_TIMEOUT_MS (twice for a grouped write, which may wait for the batch
        ahead of it)."""
        store_calls = 12 * self.mongo.operation_timeout_ms / 1000
        return self.worker.task_timeout_seconds + store_calls


def _required(value: str | None, name: str) -> str:
    if value is None:
        raise ConfigurationError(f"configuration error: {name} is not set")
    return value


def describe_error(exc: ValidationError) -> str:
    """One line naming the first offending variable and why."""
    err = exc.errors()[0]
    loc = ".".join(str(part) for part in err["loc"])
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"configuration error: {loc}: {message}" if loc else f"configuration error: {message}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once: the environment and `.env` over the parameters
    under SSM_PARAMETER_PATH (when set) over the defaults."""
    path = os.environ.get(PATH_VARIABLE)
    parameters = read_parameters(path) if path else {}
    try:
        with parameters_below_environment(parameters):
            return Settings()
    except ValidationError as exc:
        raise ConfigurationError(describe_error(exc)) from None


def load_settings_or_exit() -> Settings:
    """Read settings at start-up; on error print one clear line and exit with status 2."""
    try:
        settings = get_settings()
        # Every serving process needs both stores; the launcher fills them in development.
        settings.mongo_uri  # noqa: B018
        settings.redis_url  # noqa: B018
    except ConfigurationError as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(2) from None
    return settings
