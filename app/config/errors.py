"""The error every part of the configuration raises: one line naming the variable."""

from __future__ import annotations

from app.domain.errors import OrchestratorError


class ConfigurationError(OrchestratorError):
    """A setting is missing or malformed; the message names the variable."""

    code = "CONFIGURATION_ERROR"
