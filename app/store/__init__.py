"""MongoDB access through PyMongo's async client: one repository per collection."""

from app.store.agent_runs import AgentRunRepository
from app.store.client import Store, open_store
from app.store.idempotency import IdempotencyRepository
from app.store.messages import MessageRepository
from app.store.task_events import TaskEventRepository
from app.store.task_stats import DayStats, TaskStatsRepository
from app.store.tasks import TaskFilters, TaskPage, TaskRepository
from app.store.tool_executions import ToolExecutionRepository

__all__ = [
    "AgentRunRepository",
    "DayStats",
    "IdempotencyRepository",
    "MessageRepository",
    "Store",
    "TaskEventRepository",
    "TaskFilters",
    "TaskPage",
    "TaskRepository",
    "TaskStatsRepository",
    "ToolExecutionRepository",
    "open_store",
]
