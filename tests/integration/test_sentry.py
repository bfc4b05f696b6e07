"""A crashing task reaches Sentry as one error event, tagged with its ids, carrying no secret.

Sentry is a local HTTP server here that keeps every envelope the SDK posts to it.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from standins.processes import LOCALHOST
from standins.topology import STANDIN_OPENAI_KEY, STANDIN_TAVILY_KEY
from tests.support import Service, running_service, wait_until


@dataclass
class Envelope:
    raw: bytes
    header: dict[str, Any]
    items: list[tuple[dict[str, Any], bytes]]

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(payload) for head, payload in self.items if head["type"] == "event"]


def parse_envelope(raw: bytes) -> Envelope:
    """Sentry's envelope: a header line, then items (a header line, then `length` bytes or
    one line)."""
    header, _, rest = raw.partition(b"\n")
    items = []
    while rest.strip():
        item_header, _, rest = rest.partition(b"\n")
        head = json.loads(item_header)
        if "length" in head:
            payload, rest = rest[: head["length"]], rest[head["length"] + 1 :]
        else:
            payload, _, rest = rest.partition(b"\n")
        items.append((head, payload))
    return Envelope(raw, json.loads(header), items)


@dataclass
class SentryReceiver:
    """What the local "Sentry" received, envelope by envelope."""

    port: int
    envelopes: list[Envelope] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    @property
    def dsn(self) -> str:
        return f"http://publickey@{LOCALHOST}:{self.port}/1"

    def events(self) -> list[dict[str, Any]]:
        return [event for envelope in list(self.envelopes) for event in envelope.events()]


@pytest.fixture
def sentry() -> Iterator[SentryReceiver]:
    envelopes: list[Envelope] = []
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            paths.append(self.path)
            envelopes.append(parse_envelope(body))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer((LOCALHOST, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield SentryReceiver(server.server_address[1], envelopes, paths)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def crash_service(sentry: SentryReceiver) -> Iterator[Service]:
    """The API and one worker whose registry holds CrashAgent, both reporting to `sentry`."""
    with running_service(env={"SENTRY_DSN": sentry.dsn}, workers=0) as running:
        crash_worker = running.topology.start_worker(
            "crashworker", concurrency=2, celery_app="tests.crash_worker:celery_app"
        )
        running.topology.wait_worker_ready(crash_worker)
        running.workers.append(crash_worker)
        yield running


def test_a_crashing_task_sends_one_error_event_with_its_ids_and_no_secret(
    crash_service: Service, sentry: SentryReceiver
) -> None:
    service = crash_service
    request_id = f"sentry-{uuid.uuid4().hex[:12]}"
    with service.client() as http:
        http.headers["X-Request-ID"] = request_id
        task_id = service.submit(http, "Give this to the Crash agent, please.")["task_id"]
        task = service.wait_final(http, task_id)
    assert task["status"] == "failed"
    assert task["error"]["type"] == "INTERNAL_ERROR"
    assert task["error"]["message"].startswith("RuntimeError: keys")

    wait_until(lambda: sentry.events(), timeout=30)
    # Whatever else the worker would send has gone once it exited (the SDK flushes at exit).
    [worker] = service.workers
    worker.stop(timeout=30)
    assert not worker.alive()

    [event] = sentry.events()
    assert event["level"] == "error"
    [exception] = event["exception"]["values"]
    assert exception["type"] == "RuntimeError"
    assert exception["value"].startswith("keys [Filtered] [Filtered]")
    assert event["tags"]["component"] == "worker"
    assert event["tags"]["task_id"] == task_id
    assert event["tags"]["request_id"] == request_id
    assert event["environment"] == service.topology.env["ENVIRONMENT"]
    assert event["release"] == f"agent-orchestrator@{version('agent-orchestrator')}"
    assert set(sentry.paths) == {"/api/1/envelope/"}

    secrets = [
        service.api_key,
        service.other_api_key,
        service.admin_key,
        STANDIN_OPENAI_KEY,
        STANDIN_TAVILY_KEY,
    ]
    for envelope in sentry.envelopes:
        leaked = [secret for secret in secrets if secret.encode() in envelope.raw]
        assert leaked == [], envelope.raw[:2000]


# An API process whose one route raises: the API's own error path, end to end.
FAILING_API = """
import os
from fastapi.testclient import TestClient
from app.config import Settings
from app.main import create_app

app = create_app(Settings())


@app.get("/v1/boom")
async def boom() -> None:
    raise RuntimeError("boom " + os.environ["OPENAI_API_KEY"])


# Without its lifespan: this route needs none of the clients.
response = TestClient(app, raise_server_exceptions=False).get(
    "/v1/boom", headers={"X-API-Key": os.environ["KEY"], "X-Request-ID": os.environ["REQUEST_ID"]}
)
assert response.status_code == 500, response.text
"""


def test_an_api_error_is_tagged_with_its_request_id_and_sends_no_secret(
    sentry: SentryReceiver,
) -> None:
    key, openai_key, request_id = "user-key-0123456789", "sk-api-test-0123456789", "req-api-1"
    env = {
        **os.environ,
        "SENTRY_DSN": sentry.dsn,
        "SENTRY_ENVIRONMENT": "staging",
        "API_KEYS": f"dev:{key}",
        "OPENAI_API_KEY": openai_key,
        "KEY": key,
        "REQUEST_ID": request_id,
    }
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", FAILING_API],
        env=env,
        cwd=root,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]

    # The process has exited, so the SDK has sent all it would (it flushes at exit).
    [event] = sentry.events()
    [exception] = event["exception"]["values"]
    assert (exception["type"], exception["value"]) == ("RuntimeError", "boom [Filtered]")
    assert event["tags"]["component"] == "api"
    assert event["tags"]["request_id"] == request_id
    assert event["environment"] == "staging"
    assert event["request"]["headers"]["x-api-key"] == "[Filtered]"
    for envelope in sentry.envelopes:
        assert key.encode() not in envelope.raw
        assert openai_key.encode() not in envelope.raw
