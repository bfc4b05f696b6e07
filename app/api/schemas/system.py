"""The body of GET /v1/system/metrics."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.dispatch.monitor import SystemSnapshot
from app.domain.models import Usage, utcnow
from app.store import MinuteStats


class DependencyHealth(BaseModel):
    status: Literal["ok", "degraded", "down"]
    latency_ms: float = Field(description="How long the probe took.")
    detail: str


class TaskLatency(BaseModel):
    count: int = Field(description="Tasks created today that finished (any final status).")
    avg_seconds: float | None
    p95_seconds: float | None = Field(description="Interpolated from a latency histogram.")


class TodayStats(BaseModel):
    date: str
    by_status: dict[str, int] = Field(description="Tasks created today, by current status.")
    per_agent: dict[str, int] = Field(description="Finished tasks created today, by agent.")
    latency: TaskLatency
    usage: Usage | None = Field(
        description="Tokens and cost of today's tasks' finished attempts, every tenant's: for "
        "admin keys only (null for others)."
    )


class WorkerInfo(BaseModel):
    worker_id: str
    concurrency: int
    in_flight: int
    slots_busy: int = Field(0, description="Celery threads waiting for a task of this worker.")
    status: Literal["ok", "stalled"] = Field(
        "ok", description="stalled: it holds tasks but its store or event loop makes no progress."
    )
    stalled_reason: str | None = None
    loop_lag_ms: float = 0.0
    store_idle_seconds: float = Field(0.0, description="Since MongoDB last answered it.")
    started_at: datetime
    seen_at: datetime


class WorkersOnline(BaseModel):
    online: int
    workers: list[WorkerInfo]


class SystemMetrics(BaseModel):
    queue_length: int | None = Field(description="Messages waiting; null if Redis is down.")
    today: TodayStats
    dependencies: dict[str, DependencyHealth]
    workers: WorkersOnline
    generated_at: datetime

    @classmethod
    def of(cls, snapshot: SystemSnapshot, admin: bool) -> SystemMetrics:
        today = snapshot.today
        count = today.latency_count
        return cls(
            queue_length=snapshot.queue_length,
            today=TodayStats(
                date=today.day,
                by_status=today.by_status,
                per_agent=today.per_agent,
                latency=TaskLatency(
                    count=count,
                    avg_seconds=round(today.latency_sum / count, 3) if count else None,
                    p95_seconds=_round(today.latency_quantile(0.95)),
                ),
                usage=today.usage if admin else None,
            ),
            dependencies={
                name: DependencyHealth(status=p.status, latency_ms=p.latency_ms, detail=p.detail)
                for name, p in snapshot.dependencies.items()
            },
            workers=WorkersOnline(
                online=len(snapshot.workers),
                workers=[WorkerInfo.model_validate(w) for w in snapshot.workers],
            ),
            generated_at=utcnow(),
        )


class MinuteOut(BaseModel):
    minute: datetime = Field(description="The minute's start (UTC).")
    created: int = Field(description="Tasks submitted in it.")
    completed: int = Field(description="Tasks that completed in it.")
    failed: int
    cancelled: int
    p95_seconds: float | None = Field(description="Of the tasks that ended in it.")
    queue_length: int | None = Field(
        description="The longest queue sampled in it (QUEUE_SAMPLE_SECONDS); null: no sample."
    )

    @classmethod
    def of(cls, stats: MinuteStats) -> MinuteOut:
        return cls(
            minute=stats.minute,
            created=stats.created,
            completed=stats.finished.get("completed", 0),
            failed=stats.finished.get("failed", 0),
            cancelled=stats.finished.get("cancelled", 0),
            p95_seconds=_round(stats.latency_quantile(0.95)),
            queue_length=stats.queue_length,
        )


class SystemHistory(BaseModel):
    minutes: list[MinuteOut] = Field(description="Oldest first, one per minute, the last now.")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
