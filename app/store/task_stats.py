"""The `task_stats` collection: per-day and per-minute counters kept at each status change.

System metrics read one document per day, and the last hour's charts one per minute, instead of
scanning tasks, so they cost the same with a hundred tasks or millions. A change writes its
day's and its minute's counters in one command (one bulk write).
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pymongo import UpdateOne

from app.domain.models import Task, TaskStatus, Usage
from app.store._base import Document, Repository

# Upper bounds (seconds) of the task latency histogram used for today's p95.
LATENCY_BOUNDS = (0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, math.inf)


FINISHED = (TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED)
_MINUTE = "m:%Y-%m-%dT%H:%M"  # never between two day ids ("2026-12-02") in _id order


def day_of(moment: datetime) -> str:
    return moment.date().isoformat()


def minute_of(moment: datetime) -> str:
    """The _id of the minute's counters (UTC)."""
    return moment.astimezone(UTC).strftime(_MINUTE)


def quantile(buckets: Sequence[int], q: float) -> float | None:
    """The q-quantile of a latency histogram over LATENCY_BOUNDS, interpolated in its bucket."""
    total = sum(buckets)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    lower = 0.0
    for bound, count in zip(LATENCY_BOUNDS, buckets, strict=False):
        if count and seen + count >= rank:
            upper = bound if math.isfinite(bound) else lower * 2 or 1.0
            return lower + (upper - lower) * (rank - seen) / count
        seen += count
        lower = bound if math.isfinite(bound) else lower
    return lower


def _buckets(latency: Document) -> list[int]:
    buckets = latency.get("buckets", {})
    return [int(buckets.get(str(i), 0)) for i in range(len(LATENCY_BOUNDS))]


@dataclass(frozen=True)
class DayStats:
    """One day's counters (tasks created that day)."""

    day: str
    by_status: dict[str, int] = field(default_factory=dict)
    per_agent: dict[str, int] = field(default_factory=dict)
    latency_count: int = 0
    latency_sum: float = 0.0
    latency_buckets: list[int] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)

    def latency_quantile(self, q: float) -> float | None:
        """The q-quantile of task latency, interpolated within histogram buckets."""
        return quantile(self.latency_buckets, q)


@dataclass(frozen=True)
class MinuteStats:
    """One minute's counters: tasks submitted and finished in it, their latency, and the
    longest queue sampled in it (None when no sample was taken)."""

    minute: datetime
    created: int = 0
    finished: dict[str, int] = field(default_factory=dict)
    latency_buckets: list[int] = field(default_factory=list)
    queue_length: int | None = None

    def latency_quantile(self, q: float) -> float | None:
        return quantile(self.latency_buckets, q)


def _usage_added(task: Task) -> Usage:
    """What the attempt that just ended spent: the task's usage is that of all its attempts."""
    before = task.history[-1].usage if task.history else None
    if before is None:
        return task.usage
    return Usage(
        input_tokens=task.usage.input_tokens - before.input_tokens,
        output_tokens=task.usage.output_tokens - before.output_tokens,
        cost_usd=round(task.usage.cost_usd - before.cost_usd, 8),
    )


class TaskStatsRepository(Repository):
    """Counters per creation day: tasks by current status, by agent, and latency."""

    async def created(self, tasks: Sequence[Task]) -> None:
        """New tasks were stored: one update per creation day and minute, in one command."""
        by_doc: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for task in tasks:
            by_doc[day_of(task.created_at)][f"status.{task.status.value}"] += 1
            by_doc[minute_of(task.created_at)]["created"] += 1
        await asyncio.gather(*(self._grouped.increment(i, inc) for i, inc in by_doc.items()))

    async def moved(self, from_: TaskStatus, task: Task) -> None:
        """A task changed status: one update of its day's counters (shared by the changes of
        that day waiting together).

        A move to a final status also counts the task for its agent, its latency and what its
        attempt spent, and in the minute it finished (the same command).
        """
        inc: Document = {f"status.{task.status.value}": 1, f"status.{from_.value}": -1}
        if not task.status.final:
            await self._grouped.increment(day_of(task.created_at), inc)
            return
        finished_at = task.completed_at or task.updated_at
        latency = (finished_at - task.created_at).total_seconds()
        bucket = next(i for i, bound in enumerate(LATENCY_BOUNDS) if latency <= bound)
        spent = _usage_added(task)
        inc |= {
            f"agents.{task.selected_agent or 'none'}": 1,
            "latency.count": 1,
            "latency.sum": latency,
            f"latency.buckets.{bucket}": 1,
            "usage.input_tokens": spent.input_tokens,
            "usage.output_tokens": spent.output_tokens,
            "usage.cost_usd": spent.cost_usd,
        }
        minute = {f"finished.{task.status.value}": 1, f"latency.buckets.{bucket}": 1}
        await asyncio.gather(
            self._grouped.increment(day_of(task.created_at), inc),
            self._grouped.increment(minute_of(finished_at), minute),
        )

    async def queue_sampled(self, at: datetime, length: int) -> None:
        """The queue held `length` messages at `at`: its minute keeps the longest sample."""
        update = {"$max": {"queue_length": length}}
        await self._grouped.write(UpdateOne({"_id": minute_of(at)}, update, upsert=True))

    async def minutes(self, last: datetime, count: int) -> list[MinuteStats]:
        """The `count` minutes up to and including `last`'s, oldest first, zeros where nothing
        happened (one indexed range read)."""
        end = last.astimezone(UTC).replace(second=0, microsecond=0)
        start = end - timedelta(minutes=count - 1)
        ids = {"$gte": minute_of(start), "$lte": minute_of(end)}
        found = {doc["_id"]: doc async for doc in self._collection.find({"_id": ids})}
        stats = []
        for n in range(count):
            moment = start + timedelta(minutes=n)
            doc = found.get(minute_of(moment), {})
            queue, finished = doc.get("queue_length"), doc.get("finished", {})
            stats.append(
                MinuteStats(
                    minute=moment,
                    created=int(doc.get("created", 0)),
                    finished={s.value: int(finished.get(s.value, 0)) for s in FINISHED},
                    latency_buckets=_buckets(doc.get("latency", {})),
                    queue_length=None if queue is None else int(queue),
                )
            )
        return stats

    async def day(self, day: str) -> DayStats:
        """The counters of one day (zeros when nothing happened)."""
        doc = await self._collection.find_one({"_id": day}) or {}
        latency = doc.get("latency", {})
        usage = doc.get("usage", {})
        return DayStats(
            day=day,
            by_status={s.value: int(doc.get("status", {}).get(s.value, 0)) for s in TaskStatus},
            per_agent={k: int(v) for k, v in doc.get("agents", {}).items()},
            latency_count=int(latency.get("count", 0)),
            latency_sum=float(latency.get("sum", 0.0)),
            latency_buckets=_buckets(latency),
            usage=Usage(
                input_tokens=int(usage.get("input_tokens", 0)),
                output_tokens=int(usage.get("output_tokens", 0)),
                cost_usd=round(float(usage.get("cost_usd", 0.0)), 8),
            ),
        )
