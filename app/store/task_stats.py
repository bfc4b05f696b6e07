"""The `task_stats` collection: per-day counters kept at each status change.

System metrics read one document per day instead of scanning tasks, so they cost the same
with a hundred tasks or millions.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from app.domain.models import Task, TaskStatus
from app.store._base import Document, Repository

# Upper bounds (seconds) of the task latency histogram used for today's p95.
LATENCY_BOUNDS = (0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, math.inf)


def day_of(moment: datetime) -> str:
    return moment.date().isoformat()


@dataclass(frozen=True)
class DayStats:
    """One day's counters (tasks created that day)."""

    day: str
    by_status: dict[str, int] = field(default_factory=dict)
    per_agent: dict[str, int] = field(default_factory=dict)
    latency_count: int = 0
    latency_sum: float = 0.0
    latency_buckets: list[int] = field(default_factory=list)

    def latency_quantile(self, q: float) -> float | None:
        """The q-quantile of task latency, interpolated within histogram buckets."""
        if self.latency_count == 0:
            return None
        rank = q * self.latency_count
        seen = 0
        lower = 0.0
        for bound, count in zip(LATENCY_BOUNDS, self.latency_buckets, strict=False):
            if count and seen + count >= rank:
                upper = bound if math.isfinite(bound) else lower * 2 or 1.0
                return lower + (upper - lower) * (rank - seen) / count
            seen += count
            lower = bound if math.isfinite(bound) else lower
        return lower


class TaskStatsRepository(Repository):
    """Counters per creation day: tasks by current status, by agent, and latency."""

    async def created(self, tasks: Sequence[Task]) -> None:
        """New tasks were stored: one update per creation day (one, but around midnight)."""
        by_day: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for task in tasks:
            by_day[day_of(task.created_at)][f"status.{task.status.value}"] += 1
        for day, inc in by_day.items():
            await self._grouped.increment(day, inc)

    async def moved(self, from_: TaskStatus, task: Task) -> None:
        """A task changed status: one update of its day's counters (shared by the changes of
        that day waiting together).

        A move to a final status also counts the task for its agent and its latency.
        """
        inc: Document = {f"status.{task.status.value}": 1, f"status.{from_.value}": -1}
        if task.status.final:
            finished_at = task.completed_at or task.updated_at
            latency = (finished_at - task.created_at).total_seconds()
            bucket = next(i for i, bound in enumerate(LATENCY_BOUNDS) if latency <= bound)
            inc |= {
                f"agents.{task.selected_agent or 'none'}": 1,
                "latency.count": 1,
                "latency.sum": latency,
                f"latency.buckets.{bucket}": 1,
            }
        await self._grouped.increment(day_of(task.created_at), inc)

    async def day(self, day: str) -> DayStats:
        """The counters of one day (zeros when nothing happened)."""
        doc = await self._collection.find_one({"_id": day}) or {}
        latency = doc.get("latency", {})
        buckets = latency.get("buckets", {})
        return DayStats(
            day=day,
            by_status={s.value: int(doc.get("status", {}).get(s.value, 0)) for s in TaskStatus},
            per_agent={k: int(v) for k, v in doc.get("agents", {}).items()},
            latency_count=int(latency.get("count", 0)),
            latency_sum=float(latency.get("sum", 0.0)),
            latency_buckets=[int(buckets.get(str(i), 0)) for i in range(len(LATENCY_BOUNDS))],
        )
