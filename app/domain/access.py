"""Who may do what: an API key's role grants permissions; its tenant owns the tasks it submits."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# A tenant's name (also a bootstrap key's id when it names no tenant): no ":" or spaces, so it
# can be part of other ids (an Idempotency-Key's is "tenant:key").
TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class Role(StrEnum):
    """An API key's role, from least to most."""

    VIEWER = "viewer"  # reads its own tenant's tasks
    USER = "user"  # and submits, cancels and retries them
    OPERATOR = "operator"  # every tenant's tasks, cancel or retry any, the fleet's views
    ADMIN = "admin"  # everything, approvals and keys included


class Permission(StrEnum):
    READ = "read"  # the own tenant's tasks, runs, events, sessions, checkpoints
    SUBMIT = "submit"  # submit, cancel and retry the own tenant's tasks
    READ_ANY = "read_any"  # every tenant's tasks and spending
    ACT_ANY = "act_any"  # cancel and retry any tenant's task
    APPROVE = "approve"  # decide approval checkpoints
    MANAGE_KEYS = "manage_keys"  # create, list, revoke and rotate API keys


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.USER: frozenset({Permission.READ, Permission.SUBMIT}),
    Role.OPERATOR: frozenset(
        {Permission.READ, Permission.SUBMIT, Permission.READ_ANY, Permission.ACT_ANY}
    ),
    Role.ADMIN: frozenset(Permission),
}


class Traffic(StrEnum):
    """What a request counts against: submits create or end work; reads are the rest."""

    SUBMIT = "submit"
    READ = "read"


@dataclass(frozen=True)
class KeyLimits:
    """A managed key's own limits; None takes the service's per-key default (0: no limit)."""

    submits_per_minute: int | None = None
    reads_per_minute: int | None = None

    def per_minute(self, traffic: Traffic) -> int | None:
        return self.submits_per_minute if traffic is Traffic.SUBMIT else self.reads_per_minute


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: its key's id, the tenant it acts for, its role and limits."""

    key_id: str
    tenant: str
    role: Role = Role.USER
    limits: KeyLimits = KeyLimits()

    def can(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]

    @property
    def admin(self) -> bool:
        return self.role is Role.ADMIN
