"""The anchor of bench/inflight.py: a bare Celery task that makes two chat-completion calls.

Same broker, same threads pool and slots, same OpenAI stand-in (and its held calls) as the
service's burst, but no store, no graph, no records: what Celery and two HTTP calls cost.
`celery -A bench._bare_calls:app worker --pool threads` runs it; `run_burst` times a burst.
"""

from __future__ import annotations

import os
import threading
import time

import httpx
import redis
from celery import Celery

DONE_KEY = "bench:bare:done"
TASK = "bare.two_calls"

app = Celery("bare", broker=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
app.conf.update(task_ignore_result=True, worker_prefetch_multiplier=1, task_acks_late=True)
_local = threading.local()


def _client() -> httpx.Client:
    """This thread's HTTP client (one retry of a failed connection, as OpenAI's SDK does)."""
    if not hasattr(_local, "http"):
        _local.http = httpx.Client(timeout=60, transport=httpx.HTTPTransport(retries=1))
    client: httpx.Client = _local.http
    return client


@app.task(name=TASK)
def two_calls(n: int) -> None:
    """Two chat completions, as a router and an agent would make, then mark the task done."""
    url = os.environ["OPENAI_BASE_URL"] + "/chat/completions"
    headers = {"Authorization": f"Bearer {os.environ['OPENAI_API_KEY']}"}
    for prompt in (f"Route task {n}", f"Answer task {n}"):
        body = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": prompt}]}
        _client().post(url, json=body, headers=headers).raise_for_status()
    with redis.Redis.from_url(app.conf.broker_url) as done:
        done.rpush(DONE_KEY, time.time())


def run_burst(redis_url: str, tasks: int) -> float:
    """Send `tasks` tasks at once; seconds from the first send to the last completion."""
    sender = Celery("bare-sender", broker=redis_url)
    done = redis.Redis.from_url(redis_url)
    done.delete(DONE_KEY)
    started = time.time()
    for n in range(tasks):
        sender.send_task(TASK, args=[n])
    deadline = time.monotonic() + 180
    while done.llen(DONE_KEY) < tasks:
        if time.monotonic() > deadline:
            raise TimeoutError("the bare burst did not finish in 180 s")
        time.sleep(0.05)
    finished = max(float(t) for t in done.lrange(DONE_KEY, 0, -1))
    done.close()
    sender.close()
    return finished - started
