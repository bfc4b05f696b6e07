"""Request and response bodies of the v1 API, by area."""

from app.api.schemas.checkpoints import ApproveBody, CheckpointList, CheckpointOut, RejectBody
from app.api.schemas.common import (
    API_VERSION,
    SESSION_ID_PATTERN,
    TASK_MAX_CHARS,
    CallerOut,
    ErrorBody,
    HealthOut,
    ReadyOut,
)
from app.api.schemas.system import (
    DependencyHealth,
    MinuteOut,
    SystemHistory,
    SystemMetrics,
    TaskLatency,
    TodayStats,
    WorkerInfo,
    WorkersOnline,
)
from app.api.schemas.tasks import (
    AgentRunOut,
    ExecuteRequest,
    ExecuteResponse,
    MessageOut,
    SessionMessages,
    TaskList,
    TaskOut,
    TaskRuns,
    TaskSummary,
    ToolExecutionOut,
)
from app.domain.models import Citation

__all__ = [
    "API_VERSION",
    "SESSION_ID_PATTERN",
    "TASK_MAX_CHARS",
    "AgentRunOut",
    "ApproveBody",
    "CallerOut",
    "CheckpointList",
    "CheckpointOut",
    "Citation",
    "DependencyHealth",
    "ErrorBody",
    "ExecuteRequest",
    "ExecuteResponse",
    "HealthOut",
    "MessageOut",
    "MinuteOut",
    "ReadyOut",
    "RejectBody",
    "SessionMessages",
    "SystemHistory",
    "SystemMetrics",
    "TaskLatency",
    "TaskList",
    "TaskOut",
    "TaskRuns",
    "TaskSummary",
    "TodayStats",
    "ToolExecutionOut",
    "WorkerInfo",
    "WorkersOnline",
]
