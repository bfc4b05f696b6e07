"""Rate limits per API key and per tenant: a burst over a key's limit is refused with 429 and
nothing of it stored or enqueued; other keys, and the key's reads, go on; the limiter's Redis
down lets reads through and decides submits by RATE_LIMIT_SUBMITS_FAIL_OPEN."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from app.config import TenancySettings
from app.dispatch.rate_limits import RateLimiter
from app.domain.access import KeyLimits, Principal, Traffic
from app.domain.errors import LimiterUnavailable, RateLimited
from standins.topology import UNLIMITED_RATES, Topology
from tests.support import Service, wait_until

BURST, LIMIT = 100, 30


def limited_key(service: Service, tenant: str, **limits: int) -> str:
    made = httpx.post(
        f"{service.topology.api_url}/v1/admin/keys",
        json={"tenant": tenant, "role": "user", "limits": limits},
        headers={"X-API-Key": service.admin_key},
    )
    assert made.status_code == 201, made.text
    assert made.json()["limits"] == {"submits_per_minute": LIMIT, "reads_per_minute": None}
    secret: str = made.json()["secret"]
    return secret


async def burst(url: str, secret: str, count: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": secret}, timeout=30) as http:
        posts = [
            http.post("/v1/agent/execute", json={"task": f"Write a haiku about rate {n}"})
            for n in range(count)
        ]
        return await asyncio.gather(*posts)


def test_a_burst_over_a_keys_limit_is_refused_and_nothing_of_it_is_stored(
    service: Service,
) -> None:
    tenant = f"rl-{uuid.uuid4().hex[:8]}"
    secret = limited_key(service, tenant, submits_per_minute=LIMIT)
    started = time.time()
    replies = asyncio.run(burst(service.topology.api_url, secret, BURST))

    accepted = [reply for reply in replies if reply.status_code == 202]
    refused = [reply for reply in replies if reply.status_code == 429]
    assert (len(accepted), len(refused)) == (LIMIT, BURST - LIMIT), [
        reply.status_code for reply in replies
    ]
    for reply in refused:
        assert reply.json()["error"] == "RATE_LIMITED", reply.text
        assert "task_id" not in reply.json()
        headers = reply.headers
        assert headers["X-RateLimit-Limit"] == str(LIMIT)
        assert headers["X-RateLimit-Remaining"] == "0"
        # The window is a minute from the first accepted submit: it frees one then.
        assert started + 55 <= int(headers["X-RateLimit-Reset"]) <= time.time() + 61
        assert 1 <= int(headers["Retry-After"]) <= 60

    ids = {reply.json()["task_id"] for reply in accepted}
    tasks = service.db.tasks
    # Every accepted task runs to its end; no refused one was stored (so none was enqueued).
    wait_until(lambda: tasks.count_documents({"owner": tenant, "status": "completed"}) == LIMIT)
    stored = {doc["_id"] for doc in tasks.find({"owner": tenant}, {"_id": 1})}
    assert stored == ids

    with service.client(secret) as http:
        assert http.get("/v1/tasks", params={"limit": 1}).status_code == 200  # reads apart
        assert http.post("/v1/agent/execute", json={"task": "one more"}).status_code == 429
    with service.client() as http:  # another key (and tenant) is unaffected
        assert http.post("/v1/agent/execute", json={"task": "Write a haiku"}).status_code == 202


@pytest.fixture(scope="module")
def redis_topology() -> Iterator[Topology]:
    topology = Topology()
    topology.start_redis()
    try:
        yield topology
    finally:
        topology.stop()


def limiter(topology: Topology, **settings: object) -> RateLimiter:
    """A limiter on the topology's Redis; settings by variable name, limits 0 unless given."""
    unlimited = dict.fromkeys(UNLIMITED_RATES, 0)
    tenancy = TenancySettings(**{**unlimited, **settings})
    url = topology.env["REDIS_URL"]
    redis = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    return RateLimiter(tenancy, redis, url, f"test-{uuid.uuid4().hex[:8]}")


def hits(scope: str) -> float:
    value = REGISTRY.get_sample_value("orchestrator_rate_limit_hits_total", {"scope": scope})
    return value or 0.0


async def admitted(limits: RateLimiter, caller: Principal, traffic: Traffic, count: int) -> int:
    passed = 0
    for _ in range(count):
        try:
            await limits.hit(caller, traffic)
            passed += 1
        except RateLimited:
            pass
    return passed


def test_a_tenants_window_counts_every_key_of_it_and_submits_and_reads_apart(
    redis_topology: Topology,
) -> None:
    limits = limiter(
        redis_topology, TENANT_RATE_LIMIT_PER_MINUTE=5, TENANT_READ_RATE_LIMIT_PER_MINUTE=3
    )
    one, two = Principal("k1", "acme"), Principal("k2", "acme")
    other = Principal("k3", "globex", limits=KeyLimits(submits_per_minute=2))
    before = hits("tenant_submit"), hits("key_submit"), hits("tenant_read")

    async def scenario() -> tuple[int, ...]:
        return (
            await admitted(limits, one, Traffic.SUBMIT, 3),
            await admitted(limits, two, Traffic.SUBMIT, 4),  # the tenant's 5 are used up
            await admitted(limits, one, Traffic.READ, 4),
            await admitted(limits, other, Traffic.SUBMIT, 4),  # its key's own limit: 2
        )

    assert asyncio.run(scenario()) == (3, 2, 3, 2)
    after = hits("tenant_submit"), hits("key_submit"), hits("tenant_read")
    assert [b - a for a, b in zip(before, after, strict=True)] == [2, 2, 1]


def test_without_redis_reads_go_through_and_submits_follow_the_setting() -> None:
    closed = Topology()
    closed.env["REDIS_URL"] = "redis://127.0.0.1:9/0"  # discard port: nothing listens
    caller = Principal("k1", "acme")
    open_submits = limiter(closed, API_RATE_LIMIT_PER_MINUTE=1, API_READ_RATE_LIMIT_PER_MINUTE=1)
    shut_submits = limiter(closed, API_RATE_LIMIT_PER_MINUTE=1, RATE_LIMIT_SUBMITS_FAIL_OPEN=False)

    async def scenario() -> None:
        await open_submits.hit(caller, Traffic.READ)
        await open_submits.hit(caller, Traffic.READ)
        await open_submits.hit(caller, Traffic.SUBMIT)
        await shut_submits.hit(caller, Traffic.READ)
        with pytest.raises(LimiterUnavailable):
            await shut_submits.hit(caller, Traffic.SUBMIT)

    asyncio.run(scenario())
