"""Schemathesis fuzzes every /v1 route in-process: no 5xx, and every response fits the OpenAPI."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.config import Settings
from app.domain.models import (
    Message,
)
from app.main import create_app
from tests.support import Service, point_at_service, waiting_task

KEY = "schema-fuzz-key-0001"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Every /v1 route. The event stream streams until its task is final, so it is fuzzed on final
# tasks only (no worker reads this queue: the others stay queued or waiting).
V1_OPERATIONS = 21
STREAMING = {"/v1/tasks/{task_id}/events"}
MIN_V1_CASES = 1000
# Seeded objects: enough that each route taking an id sees many distinct real ones.
SEEDED_TASKS, SEEDED_CHECKPOINTS = 16, 12
MIN_SEEDED_CASES = 10
# Each streamed case takes about ten seconds under the in-process client: a few of them.
STREAM_EXAMPLES = 4
# Examples per operation: valid requests, invalid ones, valid ones aimed at the seeded documents.
EXAMPLES = {"positive": 100, "negative": 80, "seeded": 25}
# Derandomized and without an example database: every run sends the same requests.
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


@dataclass
class Seeded:
    """The app under test and documents its routes can hit: tasks queued, cancelled, retried
    and waiting at a pending checkpoint, their checkpoints, a session."""

    app: FastAPI
    task_ids: list[str]
    final_task_ids: list[str]
    checkpoint_ids: list[str]
    session_id: str


@pytest.fixture(scope="module")
def seeded(service: Service) -> Iterator[Seeded]:
    db_name = f"schema_{uuid.uuid4().hex[:8]}"
    session_id = "fuzz-session"
    with pytest.MonkeyPatch.context() as env:
        # An admin key, so the admin routes are fuzzed past their role check.
        point_at_service(env, service, db_name=db_name, redis_db=8, api_keys=f"tester:{KEY}:admin")
        app = create_app(Settings())
        with TestClient(app, headers={"X-API-Key": KEY}) as http:
            texts = [f"Write a haiku about tides, part {n}" for n in range(SEEDED_TASKS)]
            task_ids = [
                service.submit(http, text, **({"session_id": session_id} if n == 0 else {}))[
                    "task_id"
                ]
                for n, text in enumerate(texts)
            ]
            # A third stay queued, a third are cancelled (final), a third cancelled and retried.
            for n, task_id in enumerate(task_ids):
                if n % 3:
                    assert http.post(f"/v1/tasks/{task_id}/cancel").status_code == 200
                if n % 3 == 2:
                    assert http.post(f"/v1/tasks/{task_id}/retry").status_code == 202
            final_task_ids = [t for n, t in enumerate(task_ids) if n % 3 == 1]
        waiting = [waiting_task("tester", n) for n in range(SEEDED_CHECKPOINTS)]
        service.mongo[db_name].tasks.insert_many([task for task, _ in waiting])
        service.mongo[db_name].checkpoints.insert_many([checkpoint for _, checkpoint in waiting])
        task_ids += [str(task["_id"]) for task, _ in waiting]
        checkpoint_ids = [str(checkpoint["_id"]) for _, checkpoint in waiting]
        service.mongo[db_name].messages.insert_many(
            [
                Message(
                    session_id=session_id,
                    owner="tester",
                    task_id=task_ids[0],
                    role=role,
                    content=content,
                    created_at=datetime.now(UTC),
                ).model_dump()
                for role, content in [("user", "Write a haiku about tides"), ("assistant", "Ebb")]
            ]
        )
        yield Seeded(app, task_ids, final_task_ids, checkpoint_ids, session_id)
    service.mongo.drop_database(db_name)


def test_fuzzed_requests_get_no_5xx_and_documented_responses(seeded: Seeded) -> None:
    config = schemathesis.Config.from_dict({"headers": {"X-API-Key": KEY}})
    schema = schemathesis.openapi.from_asgi("/openapi.json", seeded.app, config=config)
    sent: Counter[str] = Counter()
    seeded_sent: Counter[str] = Counter()
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode, strategy in _strategies(operation, seeded).items():
            examples = STREAM_EXAMPLES if operation.path in STREAMING else EXAMPLES[mode]

            @settings(FUZZ, max_examples=examples)
            @given(case=strategy)
            def call(case: schemathesis.Case) -> None:
                sent[case.operation.label] += 1
                if mode == "seeded":  # noqa: B023 (called in this iteration)
                    seeded_sent[case.operation.label] += 1
                case.call_and_validate(checks=CHECKS)

            try:
                call()
            except (Exception, schemathesis.errors.FailureGroup) as exc:
                # Go on with the other operations, so that one run reports every failure.
                failures.append(f"{operation.label} ({mode}):\n{str(exc)[:3000]}")

    assert not failures, "\n\n".join(failures)
    v1 = {label: count for label, count in sent.items() if " /v1/" in label}
    assert len(v1) == V1_OPERATIONS, sent
    assert sum(v1.values()) >= MIN_V1_CASES, sent
    # Every route that takes an id met many real objects, not only unknown ids.
    with_ids = [label for label in v1 if "{task_id}" in label or "{checkpoint_id}" in label]
    assert len(with_ids) == 8, with_ids

    def enough(label: str) -> int:
        return STREAM_EXAMPLES if "/events" in label else MIN_SEEDED_CASES

    short = {label: seeded_sent[label] for label in with_ids if seeded_sent[label] < enough(label)}
    assert short == {}, f"routes that met too few real objects: {short}"


def _strategies(
    operation: schemathesis.APIOperation, seeded: Seeded
) -> dict[str, st.SearchStrategy[schemathesis.Case]]:
    if operation.path in STREAMING:  # a stream ends only once its task is final
        return {
            "seeded": st.one_of(
                *(
                    operation.as_strategy(path_parameters={"task_id": t})
                    for t in seeded.final_task_ids
                )
            )
        }
    strategies = {"positive": operation.as_strategy(schemathesis.GenerationMode.POSITIVE)}
    has_inputs = any(p.location != "header" for p in operation.iter_parameters())
    if operation.path.startswith("/v1/") and (has_inputs or operation.body):
        strategies["negative"] = operation.as_strategy(schemathesis.GenerationMode.NEGATIVE)
    if "{task_id}" in operation.path:
        strategies["seeded"] = st.one_of(
            *(operation.as_strategy(path_parameters={"task_id": t}) for t in seeded.task_ids)
        )
    elif "{checkpoint_id}" in operation.path:
        strategies["seeded"] = st.one_of(
            *(
                operation.as_strategy(path_parameters={"checkpoint_id": c})
                for c in seeded.checkpoint_ids
            )
        )
    elif "{session_id}" in operation.path:
        strategies["seeded"] = operation.as_strategy(
            path_parameters={"session_id": seeded.session_id}
        )
    return strategies


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/agent/execute", b'{"task": "\\ud800"}'),
        ("POST", "/v1/agent/execute", b'{"task": "ok", "session_id": "\\udc00"}'),
        ("POST", "/v1/agent/execute", b'{"task": NaN}'),
        ("POST", "/v1/agent/execute", b'{"task": 1e999}'),
        ("GET", "/v1/tasks?created_from=0001-01-01T00:00:00%2B01:00", None),
        ("GET", "/v1/tasks?created_to=9999-12-31T23:59:59-01:00", None),
    ],
    ids=["lone surrogate", "surrogate session", "NaN", "overflowing float", "year 0", "year 10000"],
)
def test_input_the_generator_does_not_send_gets_422(
    seeded: Seeded, method: str, path: str, body: bytes | None
) -> None:
    """Python's json.loads takes lone surrogates and NaN; a UTC shift can leave years 1 to 9999."""
    with TestClient(seeded.app, headers={"X-API-Key": KEY}) as http:
        response = http.request(
            method, path, content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][0] in {"body", "query"}
