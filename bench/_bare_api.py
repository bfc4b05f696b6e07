"""The bare anchor of bench/accept.py: a FastAPI app that inserts a task and pushes a message.

`POST /v1/agent/execute` builds a task document of the service's shape, inserts it with
PyMongo's AsyncMongoClient into database `bench_bare` and LPUSHes a small JSON message to
Redis, then answers 202 with the task id: the least an accept path can do. No auth, no
metrics, no logging, no idempotency, no per-day counters.

    MONGO_URI=... REDIS_URL=... python -m uvicorn bench._bare_api:app --no-access-log
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from fastapi import FastAPI, Request
from pydantic import BaseModel
from pymongo import AsyncMongoClient

DB_NAME = "bench_bare"
QUEUE = "bench_bare"


class ExecuteRequest(BaseModel):
    task: str
    session_id: str | None = None


def task_document(
    owner: str, text: str, session_id: str | None, request: dict[str, Any]
) -> dict[str, Any]:
    """A queued task document, shaped like the service's."""
    now = datetime.now(UTC)
    return {
        "_id": str(uuid.uuid4()),
        "owner": owner,
        "session_id": session_id or str(uuid.uuid4()),
        "task": text,
        "status": "queued",
        "attempt": 0,
        "created_at": now,
        "queued_at": now,
        "updated_at": now,
        "request": request,
    }


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the MongoDB and Redis clients for the app's lifetime."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(os.environ["MONGO_URI"])
    broker = aioredis.Redis.from_url(os.environ["REDIS_URL"])
    app.state.tasks = mongo[DB_NAME]["tasks"]
    app.state.broker = broker
    try:
        yield
    finally:
        await broker.aclose()
        await mongo.close()


app = FastAPI(lifespan=lifespan)


@app.post("/v1/agent/execute", status_code=202)
async def execute(body: ExecuteRequest, request: Request) -> dict[str, str]:
    """Insert the task, push its id, answer 202."""
    info = {
        "ip": request.client.host if request.client else None,
        "user_agent": request.headers.get("user-agent"),
        "request_id": uuid.uuid4().hex,
    }
    doc = task_document("bench", body.task, body.session_id, info)
    await request.app.state.tasks.insert_one(doc)
    await request.app.state.broker.lpush(QUEUE, json.dumps({"task_id": doc["_id"]}))
    return {"task_id": doc["_id"]}
