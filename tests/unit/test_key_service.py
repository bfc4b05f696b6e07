"""KeyService over a counting in-memory repository and a hand-moved clock: what a request costs
the store, and when a revoked or rotated-out secret stops working."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from app.config import parse_api_keys
from app.dispatch.keys import CACHE_SECONDS, TOUCH_SECONDS, KeyService, hash_secret
from app.domain.access import Permission, Role
from app.domain.errors import InvalidInput, InvalidTransition, KeyNotFound
from app.domain.models import utcnow
from app.store.api_keys import KeyRecord


class Repository:
    """The ApiKeyRepository calls KeyService makes, kept in dicts and counted."""

    def __init__(self) -> None:
        self.records: dict[str, KeyRecord] = {}
        self.hashes: dict[str, tuple[str, bool]] = {}
        self.calls: list[str] = []

    async def insert(self, record: KeyRecord, secret_hash: str) -> None:
        self.calls.append("insert")
        self.records[record.key_id] = record
        self.hashes[secret_hash] = (record.key_id, True)

    async def by_hash(self, secret_hash: str) -> tuple[KeyRecord, bool] | None:
        self.calls.append("by_hash")
        found = self.hashes.get(secret_hash)
        return (self.records[found[0]], found[1]) if found else None

    async def get(self, key_id: str) -> KeyRecord | None:
        return self.records.get(key_id)

    async def list(self, tenant: str | None) -> list[KeyRecord]:
        return [r for r in self.records.values() if tenant in (None, r.tenant)]

    async def revoke(self, key_id: str) -> KeyRecord | None:
        record = self.records.get(key_id)
        if record is not None and record.revoked_at is None:
            record = self.records[key_id] = replace(record, revoked_at=utcnow())
        return record

    async def rotate(
        self, key_id: str, secret_hash: str, until: datetime, expected: datetime | None
    ) -> KeyRecord | None:
        record = self.records.get(key_id)
        if record is None or record.revoked_at is not None:
            return None
        if record.previous_valid_until != expected:
            return None
        for known, (owner, current) in list(self.hashes.items()):
            if owner == key_id and not current:
                del self.hashes[known]  # one previous secret, as the collection keeps
        for known, (owner, _) in list(self.hashes.items()):
            if owner == key_id:
                self.hashes[known] = (key_id, False)
        self.hashes[secret_hash] = (key_id, True)
        record = self.records[key_id] = replace(record, previous_valid_until=until)
        return record

    async def touch(self, key_id: str, when: datetime) -> None:
        self.calls.append("touch")
        self.records[key_id] = replace(self.records[key_id], last_used_at=when)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def parts() -> tuple[KeyService, Repository, Clock]:
    repository, clock = Repository(), Clock()
    bootstrap = parse_api_keys("boot:bootstrap-secret:operator:acme")
    return KeyService(repository, bootstrap, clock=clock), repository, clock  # type: ignore[arg-type]


async def test_a_bootstrap_key_costs_the_store_nothing(parts: Any) -> None:
    keys, repository, _ = parts
    principal = await keys.authenticate("bootstrap-secret")
    assert (principal.key_id, principal.tenant, principal.role) == ("boot", "acme", Role.OPERATOR)
    assert principal.can(Permission.ACT_ANY)
    assert not principal.can(Permission.APPROVE)
    assert await keys.authenticate("not-a-key") is None
    assert repository.calls == []


async def test_a_managed_key_costs_one_read_per_cache_period_and_one_touch_a_minute(
    parts: Any,
) -> None:
    keys, repository, clock = parts
    issued = await keys.create("acme", Role.USER, "ci")
    repository.calls.clear()
    for _ in range(50):
        assert (await keys.authenticate(issued.secret)).tenant == "acme"
    assert repository.calls == ["by_hash", "touch"]
    clock.now += CACHE_SECONDS
    await keys.authenticate(issued.secret)
    assert repository.calls == ["by_hash", "touch", "by_hash"]  # used less than a minute ago
    clock.now += CACHE_SECONDS
    record = repository.records[issued.record.key_id]
    repository.records[record.key_id] = replace(
        record, last_used_at=utcnow() - timedelta(seconds=TOUCH_SECONDS)
    )
    await keys.authenticate(issued.secret)
    assert repository.calls[-2:] == ["by_hash", "touch"]


async def test_a_revocation_another_process_made_counts_after_the_cache_period(
    parts: Any,
) -> None:
    keys, repository, clock = parts
    issued = await keys.create("acme", Role.VIEWER)
    assert await keys.authenticate(issued.secret) is not None
    # Revoked elsewhere (another API process): this one still holds what it read...
    other = KeyService(repository, {})  # type: ignore[arg-type]
    await other.revoke(issued.record.key_id)
    clock.now += CACHE_SECONDS / 2
    assert await keys.authenticate(issued.secret) is not None
    # ...for at most CACHE_SECONDS.
    clock.now += CACHE_SECONDS / 2
    assert await keys.authenticate(issued.secret) is None
    with pytest.raises(KeyNotFound):
        await keys.rotate(issued.record.key_id, 60)


async def test_rotation_keeps_the_old_secret_for_the_grace_only(parts: Any) -> None:
    keys, repository, _ = parts
    issued = await keys.create("acme", Role.USER)
    rotated = await keys.rotate(issued.record.key_id, 3600)
    assert await keys.authenticate(rotated.secret) is not None
    assert await keys.authenticate(issued.secret) is not None
    # A second rotation during the grace would end it at once: refused, nothing changes.
    with pytest.raises(InvalidTransition, match="rotate again after that"):
        await keys.rotate(issued.record.key_id, 0)
    assert await keys.authenticate(issued.secret) is not None
    # Once the grace is over, the previous secret is refused and a rotation may follow.
    key_id = issued.record.key_id
    repository.records[key_id] = replace(
        repository.records[key_id], previous_valid_until=utcnow() - timedelta(seconds=1)
    )
    keys._cache.clear()
    assert await keys.authenticate(issued.secret) is None
    ended = await keys.rotate(key_id, 0)
    assert await keys.authenticate(ended.secret) is not None
    assert await keys.authenticate(rotated.secret) is None
    assert hash_secret(ended.secret) in repository.hashes
    assert all(ended.secret not in str(r) for r in repository.records.values())
    assert ended.secret not in repr(ended)


async def test_made_up_secrets_cost_one_lookup_at_most_and_are_not_cached(parts: Any) -> None:
    keys, repository, _ = parts
    assert await keys.authenticate("ao_short") is None
    assert repository.calls == []  # not the shape of a secret: no lookup
    for n in range(3):
        assert await keys.authenticate("ao_" + f"{n}" * 43) is None
    assert repository.calls == ["by_hash"] * 3
    assert keys._cache == {}


async def test_bad_input_names_its_field(parts: Any) -> None:
    keys, _, _ = parts
    with pytest.raises(InvalidInput) as bad:
        await keys.create("a b", Role.USER)
    assert bad.value.field == "tenant"
    with pytest.raises(InvalidInput) as bad:
        await keys.create("acme", Role.USER, expires_at=utcnow() - timedelta(seconds=1))
    assert bad.value.field == "expires_at"
    issued = await keys.create("acme", Role.USER)
    with pytest.raises(InvalidInput) as bad:
        await keys.rotate(issued.record.key_id, -1)
    assert bad.value.field == "grace_seconds"
