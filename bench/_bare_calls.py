"""The anchor of bench/inflight.py: a bare Celery task that makes two chat-completion calls.

Same broker, same threads pool and slots, same OpenAI stand-in (and its held calls) as the
service's burst, but no store, no graph, no records: what Celery and two HTTP calls cost.
`celery -A bench._bare_calls:app worker --pool threads` runs it; `run_burst` times a burst.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from urllib.parse import urlsplit

import redis
from celery import Celery

DONE_KEY = "bench:bare:done"
JSON = {"Content-Type": "application/json"}
TASK = "bare.two_calls"

app = Celery("bare", broker=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
app.conf.update(task_ignore_result=True, worker_prefetch_multiplier=1, task_acks_late=True)
_local = threading.local()


def _post(url: str, body: dict[str, object], headers: dict[str, str]) -> None:
    """POST on this thread's keep-alive connection (http.client: no TLS context to build per
    thread, which httpx does and which holds the GIL long enough to slow the consumer down)."""
    parts = urlsplit(url)
    for attempt in range(2):  # one retry of a dropped connection, as OpenAI's SDK does
        conn = getattr(_local, "conn", None)
        if conn is None:
            conn = _local.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        try:
            conn.request("POST", parts.path, json.dumps(body), headers | JSON)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"chat completion answered {response.status}")
            return
        except (OSError, http.client.HTTPException):
            conn.close()
            _local.conn = None
            if attempt:
                raise


@app.task(name=TASK)
def two_calls(n: int) -> None:
    """Two chat completions, as a router and an agent would make, then mark the task done."""
    url = os.environ["OPENAI_BASE_URL"] + "/chat/completions"
    headers = {"Authorization": f"Bearer {os.environ['OPENAI_API_KEY']}"}
    for prompt in (f"Route task {n}", f"Answer task {n}"):
        body = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": prompt}]}
        _post(url, body, headers)
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
