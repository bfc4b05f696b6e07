"""MongoDB access through PyMongo's async client: one repository per collection."""

from app.store._base import Document, Repository
from app.store.agent_runs import AgentRunRepository
from app.store.client import Store, drop_outcome, open_store, uninterrupted, within
from app.store.idempotency import IdempotencyRepository
from app.store.messages import MessageRepository
from app.store.task_events import EventBuffer
from app.store.task_stats import DayStats, MinuteStats, TaskStatsRepository
from app.store.tasks import TaskFilters, TaskPage, TaskRepository

__all__ = [
    "AgentRunRepository",
    "DayStats",
    "Document",
    "EventBuffer",
    "IdempotencyRepository",
    "MessageRepository",
    "MinuteStats",
    "Repository",
    "Store",
    "TaskFilters",
    "TaskPage",
    "TaskRepository",
    "TaskStatsRepository",
    "drop_outcome",
    "open_store",
    "uninterrupted",
    "within",
]
