"""Settings from AWS SSM Parameter Store: the parameters under SSM_PARAMETER_PATH, read once at
start-up and given to every settings group below the environment and `.env`."""

from __future__ import annotations

import logging
import os
import textwrap
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType

from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource

from app.config.errors import ConfigurationError

PATH_VARIABLE = "SSM_PARAMETER_PATH"

# botocore logs every response body at DEBUG, and these bodies hold the decrypted values.
_BODY_LOG = logging.getLogger("botocore.parsers")

_parameters: ContextVar[Mapping[str, str]] = ContextVar("parameters", default=MappingProxyType({}))


def variable_name(path: str, parameter_name: str) -> str:
    """The variable a parameter stands for: its name below `path`, `/` as `_`, uppercased."""
    return parameter_name.removeprefix(path.rstrip("/") + "/").replace("/", "_").upper()


def read_parameters(path: str) -> dict[str, str]:
    """Every parameter under `path` (recursively, SecureStrings decrypted), by variable name."""
    # Imported here: boto3 costs a fifth of a second to import, and only this start-up needs it.
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]
    from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

    found: dict[str, str] = {}
    names: dict[str, str] = {}
    level = _BODY_LOG.level
    _BODY_LOG.setLevel(max(level, logging.INFO))
    try:
        # AWS_REGION as the other SDKs read it (botocore reads AWS_DEFAULT_REGION only), else
        # boto3's chain; seconds, not botocore's minute per attempt, if the endpoint drops packets.
        client = boto3.client(
            "ssm",
            region_name=os.environ.get("AWS_REGION") or None,
            config=Config(connect_timeout=5, read_timeout=10),
        )
        pages = client.get_paginator("get_parameters_by_path").paginate(
            Path=path, Recursive=True, WithDecryption=True
        )
        for page in pages:
            for parameter in page["Parameters"]:
                name = variable_name(path, parameter["Name"])
                if name in names:
                    raise _error(path, f"{names[name]} and {parameter['Name']} both set {name}")
                found[name], names[name] = parameter["Value"], parameter["Name"]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise _unreadable(path, error.get("Code", "Unknown"), error.get("Message", "")) from None
    except BotoCoreError as exc:
        raise _unreadable(path, type(exc).__name__, str(exc)) from None
    finally:
        _BODY_LOG.setLevel(level)
    if not found:
        raise _error(path, f"no parameters there in region {client.meta.region_name}")
    return found


def _unreadable(path: str, code: str, message: str) -> ConfigurationError:
    # A body botocore could not parse (a proxy's page) leaves the HTTP status as the code and
    # the whole body as the message: one bounded line still.
    code = f"HTTP {code}" if code.isdigit() else code
    reason = textwrap.shorten(message, 400, placeholder=" [...]")
    return _error(path, f"cannot read Parameter Store: {code}: {reason}")


def _error(path: str, reason: str) -> ConfigurationError:
    return ConfigurationError(f"configuration error: {PATH_VARIABLE}={path}: {reason}")


@contextmanager
def parameters_below_environment(parameters: Mapping[str, str]) -> Iterator[None]:
    """While open, settings take `parameters` where neither the environment nor `.env` sets them."""
    token = _parameters.set(parameters)
    try:
        yield
    finally:
        _parameters.reset(token)


class ParameterStoreSource(EnvSettingsSource):
    """The parameters given to `parameters_below_environment`, read as environment variables."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {
            name if self.case_sensitive else name.lower(): value
            for name, value in _parameters.get().items()
        }


class ParameterStoreSettings(BaseSettings):
    """Settings read from init arguments, the environment, `.env`, then the parameters."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        parameters = ParameterStoreSource(settings_cls)
        return init_settings, env_settings, dotenv_settings, parameters, file_secret_settings
