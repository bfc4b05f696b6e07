"""Two deployments on one Redis: each sees its own workers and takes its own reconciler lock.

The service runs with REDIS_NAMESPACE=deploy-a; another deployment (deploy-b) is played on the
same redis-server by writing what its processes would: a worker heartbeat and a held lock.
"""

from __future__ import annotations

import json

import httpx
import redis
from prometheus_client.parser import text_string_to_metric_families

from app.dispatch.reconciler import lock_key
from app.dispatch.workers import announce, heartbeat_prefix
from tests.support import running_service, wait_until

OURS, THEIRS = "deploy-a", "deploy-b"
THEIR_WORKER, THEIR_API = "worker9@elsewhere", "api:elsewhere:1"


def workers_online_gauge(api_url: str) -> float:
    text = httpx.get(f"{api_url}/metrics", timeout=10).text
    [family] = [
        f for f in text_string_to_metric_families(text) if f.name == "orchestrator_workers_online"
    ]
    return family.samples[0].value


def test_deployments_sharing_a_redis_see_only_their_own_workers_and_recover_apart() -> None:
    # One reconcile interval is an hour: the lock's TTL (three intervals) cannot lapse during
    # the test, so only a release can clear it, and the API never competes for it.
    env = {"REDIS_NAMESPACE": OURS, "RECONCILE_INTERVAL_SECONDS": "3600"}
    with running_service(workers=1, env=env) as service:
        shared = redis.Redis.from_url(service.topology.env["REDIS_URL"], decode_responses=True)
        ours = f"{heartbeat_prefix(OURS)}*"
        wait_until(lambda: list(shared.scan_iter(ours)))
        [our_key] = shared.scan_iter(ours)
        beat = json.loads(shared.get(our_key) or "{}")
        our_worker = beat["worker_id"]
        # The other deployment's worker beats and its reconciler holds its lock.
        announce(shared, THEIRS, THEIR_WORKER, beat | {"worker_id": THEIR_WORKER})
        shared.set(lock_key(THEIRS), THEIR_API, ex=600)

        with service.client() as http:
            listed = http.get("/v1/system/metrics").json()["workers"]
        assert (listed["online"], [w["worker_id"] for w in listed["workers"]]) == (1, [our_worker])
        assert workers_online_gauge(service.topology.api_url) == 1
        # Their lock does not keep our reconciler from its passes.
        wait_until(lambda: shared.get(lock_key(OURS)) == our_worker)

        # A worker that stops lets go of the lock at once (not three intervals later), and
        # touches nothing of the other deployment's.
        service.workers[0].stop()
        wait_until(lambda: shared.get(lock_key(OURS)) is None)
        assert list(shared.scan_iter(ours)) == []
        assert shared.get(lock_key(THEIRS)) == THEIR_API
        assert (
            json.loads(shared.get(heartbeat_prefix(THEIRS) + THEIR_WORKER) or "{}")["worker_id"]
            == THEIR_WORKER
        )
        shared.close()
