"""API keys: the bootstrap ones from API_KEYS and the managed ones in MongoDB (created, listed,
revoked and rotated by an admin or the CLI). A secret is shown once, when it is made; the store
keeps its SHA-256 only (the secrets are 32 random bytes, so a fast hash is enough)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

import structlog
from pymongo.errors import PyMongoError

from app.config import ApiKey
from app.domain.access import TENANT_PATTERN, KeyLimits, Principal, Role
from app.domain.errors import InvalidInput, InvalidTransition, KeyNotFound
from app.domain.models import utcnow
from app.store.api_keys import ApiKeyRepository, KeyRecord

log = structlog.get_logger(__name__)

SECRET_PREFIX = "ao_"  # noqa: S105 - the prefix every managed secret starts with
# A revoked or rotated-out key stops working on every API process within this long.
CACHE_SECONDS = 0.5
# last_used_at is written at most this often per key and process.
TOUCH_SECONDS = 60.0
MAX_GRACE_SECONDS = 30 * 24 * 3600
_TENANT = re.compile(TENANT_PATTERN)
# What _new_secret makes: anything else is refused without a lookup.
_SECRET = re.compile("^" + re.escape(SECRET_PREFIX) + r"[A-Za-z0-9_-]{43}$")
_CACHE_LIMIT = 10_000
_LIMITS = tuple(limit.name for limit in fields(KeyLimits))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    """A key with its secret, returned once when it is created or rotated."""

    record: KeyRecord
    secret: str = field(repr=False)  # never in a log line or an error report


class KeyService:
    def __init__(
        self,
        repository: ApiKeyRepository,
        bootstrap: dict[str, ApiKey],
        clock: Callable[[], float] = time.monotonic,
    ):
        self._repository = repository
        self._bootstrap = bootstrap
        self._clock = clock
        self._cache: dict[str, tuple[float, tuple[KeyRecord, bool] | None]] = {}

    async def authenticate(self, secret: str) -> Principal | None:
        """The principal the secret belongs to, or None (unknown, revoked, expired, or the
        previous secret of a rotated key after its grace period)."""
        match = None
        for known, key in self._bootstrap.items():
            # Compare against every key so timing does not tell which prefix matched.
            if hmac.compare_digest(known.encode(), secret.encode()):
                match = key
        if match is not None:
            return Principal(key_id=match.key_id, tenant=match.tenant, role=match.role)
        if not _SECRET.fullmatch(secret):
            return None
        found = await self._lookup(hash_secret(secret))
        if found is None:
            return None
        record, current = found
        now = utcnow()
        if record.revoked_at is not None or (
            record.expires_at is not None and record.expires_at <= now
        ):
            return None
        if not current and (
            record.previous_valid_until is None or record.previous_valid_until <= now
        ):
            return None
        return Principal(record.key_id, record.tenant, record.role, KeyLimits(**record.limits))

    async def _lookup(self, secret_hash: str) -> tuple[KeyRecord, bool] | None:
        now = self._clock()
        cached = self._cache.get(secret_hash)
        if cached is not None and cached[0] > now:
            return cached[1]
        found = await self._repository.by_hash(secret_hash)
        if found is None:
            # Not cached: a stream of made-up secrets must not push the real keys out.
            return None
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[secret_hash] = (now + CACHE_SECONDS, found)
        used = found[0].last_used_at
        when = utcnow()
        if used is None or (when - used).total_seconds() >= TOUCH_SECONDS:
            try:
                await self._repository.touch(found[0].key_id, when)
            except PyMongoError as exc:
                # A lost last-used write must not refuse a valid key.
                log.warning("key_touch_failed", key_id=found[0].key_id, error=str(exc))
        return found

    async def create(
        self,
        tenant: str,
        role: Role,
        name: str = "",
        expires_at: datetime | None = None,
        limits: dict[str, Any] | None = None,
    ) -> IssuedKey:
        if not _TENANT.fullmatch(tenant):
            raise InvalidInput(
                f"tenant must match {TENANT_PATTERN}", field="tenant", kind="value_error"
            )
        if expires_at is not None and expires_at <= utcnow():
            raise InvalidInput(
                "expires_at must be in the future", field="expires_at", kind="value_error"
            )
        limits = limits or {}
        for name, value in limits.items():
            if name not in _LIMITS or not isinstance(value, int) or value < 0:
                raise InvalidInput(
                    f"limits.{name}: one of {', '.join(_LIMITS)}, a whole number >= 0",
                    field="limits",
                    kind="value_error",
                )
        record = KeyRecord(
            key_id="key_" + secrets.token_hex(8),
            tenant=tenant,
            role=role,
            name=name,
            created_at=utcnow(),
            expires_at=expires_at,
            revoked_at=None,
            last_used_at=None,
            previous_valid_until=None,
            limits=limits,
        )
        secret = _new_secret()
        await self._repository.insert(record, hash_secret(secret))
        return IssuedKey(record, secret)

    async def rotate(self, key_id: str, grace_seconds: float) -> IssuedKey:
        """A new secret for the key; the current one keeps working for grace_seconds."""
        if not 0 <= grace_seconds <= MAX_GRACE_SECONDS:
            raise InvalidInput(
                f"grace_seconds must be between 0 and {MAX_GRACE_SECONDS}",
                field="grace_seconds",
                kind="value_error",
            )
        current = await self.get(key_id)
        now = utcnow()
        if current.revoked_at is not None or (
            current.expires_at is not None and current.expires_at <= now
        ):
            raise KeyNotFound(f"No live key {key_id} (revoked or expired).")
        if current.previous_valid_until is not None and current.previous_valid_until > now:
            # A second rotation would end the first one's grace at once (one previous secret).
            raise InvalidTransition(
                f"Key {key_id} was rotated and its previous secret works until "
                f"{current.previous_valid_until.isoformat()}; rotate again after that."
            )
        secret = _new_secret()
        until = now + timedelta(seconds=grace_seconds)
        record = await self._repository.rotate(
            key_id, hash_secret(secret), until, current.previous_valid_until
        )
        if record is None:
            raise InvalidTransition(f"Key {key_id} changed meanwhile; try again.")
        self._cache.clear()
        return IssuedKey(record, secret)

    async def revoke(self, key_id: str) -> KeyRecord:
        record = await self._repository.revoke(key_id)
        if record is None:
            raise KeyNotFound(f"No key {key_id}.")
        self._cache.clear()
        return record

    async def get(self, key_id: str) -> KeyRecord:
        record = await self._repository.get(key_id)
        if record is None:
            raise KeyNotFound(f"No key {key_id}.")
        return record

    async def list(self, tenant: str | None) -> list[KeyRecord]:
        return await self._repository.list(tenant)


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)
