"""Bootstrap API keys as API_KEYS gives them: "id:secret[:role[:tenant]]", comma-separated."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.domain.access import TENANT_PATTERN, Role


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    role: Role
    tenant: str


def parse_api_keys(raw: str) -> dict[str, ApiKey]:
    """Parse API_KEYS into secret -> key. The role defaults to user, the tenant to the key id
    (so each bootstrap key is a tenant of its own unless two name the same one)."""
    keys: dict[str, ApiKey] = {}
    roles = ", ".join(role.value for role in Role)
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        key_id, _, rest = entry.partition(":")
        secret, _, rest = rest.partition(":")
        role, _, tenant = rest.partition(":")
        if not key_id.strip() or len(secret.strip()) < 8:
            raise ValueError(
                "each entry must be 'key_id:secret[:role[:tenant]]' with a secret of at least"
                " 8 characters"
            )
        try:
            parsed_role = Role(role.strip() or Role.USER)
        except ValueError:
            raise ValueError(f"the role of key {key_id.strip()!r} must be one of {roles}") from None
        owner = tenant.strip() or key_id.strip()
        if not re.fullmatch(TENANT_PATTERN, owner):
            raise ValueError(f"the tenant of key {key_id.strip()!r} must match {TENANT_PATTERN}")
        keys[secret.strip()] = ApiKey(key_id.strip(), parsed_role, owner)
    return keys
