"""API keys as API_KEYS gives them: "id:secret[:role],..."."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class KeyRole(StrEnum):
    """What an API key may do (API_KEYS' third field)."""

    USER = "user"
    ADMIN = "admin"


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    role: KeyRole


def parse_api_keys(raw: str) -> dict[str, ApiKey]:
    """Parse API_KEYS ("id:secret[:role],...", role user or admin) into secret -> key."""
    keys: dict[str, ApiKey] = {}
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        key_id, _, rest = entry.partition(":")
        secret, _, role = rest.partition(":")
        if not key_id.strip() or len(secret.strip()) < 8:
            raise ValueError(
                "each entry must be 'key_id:secret[:role]' with a secret of at least 8 characters"
            )
        try:
            parsed_role = KeyRole(role.strip() or KeyRole.USER)
        except ValueError:
            raise ValueError(f"the role of key {key_id.strip()!r} must be user or admin") from None
        keys[secret.strip()] = ApiKey(key_id.strip(), parsed_role)
    return keys
