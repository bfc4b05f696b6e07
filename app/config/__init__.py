"""One Settings object, grouped, read from the environment and `.env` (12-factor)."""

from app.config.errors import ConfigurationError
from app.config.groups import (
    DEFAULT_PRICES,
    AgentSettings,
    AppSettings,
    Environment,
    LLMSettings,
    ModelPrice,
    MongoSettings,
    ObservabilitySettings,
    RedisSettings,
    SearchSettings,
    SecuritySettings,
    WorkerSettings,
)
from app.config.keys import ApiKey, parse_api_keys
from app.config.settings import (
    Settings,
    describe_error,
    get_settings,
    load_settings_or_exit,
)
from app.config.tenancy import TenancySettings

__all__ = [
    "DEFAULT_PRICES",
    "AgentSettings",
    "ApiKey",
    "AppSettings",
    "ConfigurationError",
    "Environment",
    "LLMSettings",
    "ModelPrice",
    "MongoSettings",
    "ObservabilitySettings",
    "RedisSettings",
    "SearchSettings",
    "SecuritySettings",
    "Settings",
    "TenancySettings",
    "WorkerSettings",
    "describe_error",
    "get_settings",
    "load_settings_or_exit",
    "parse_api_keys",
]
