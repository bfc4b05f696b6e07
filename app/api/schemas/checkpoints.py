"""Bodies of the approval routes: checkpoints, and the decisions on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from app.domain.models import (
    Checkpoint,
    CheckpointKind,
    CheckpointStage,
    CheckpointStatus,
)


class CheckpointOut(BaseModel):
    checkpoint_id: str
    task_id: str
    attempt: int
    kind: CheckpointKind
    stage: CheckpointStage
    reason: str
    payload: dict[str, Any] = Field(description="What the reviewer needs: routing or the draft.")
    status: CheckpointStatus
    created_at: datetime
    deadline: datetime
    decided_by: str | None
    decided_at: datetime | None
    comment: str | None
    edits: dict[str, Any] | None

    @classmethod
    def of(cls, checkpoint: Checkpoint) -> CheckpointOut:
        return cls.model_validate(checkpoint.model_dump())


class CheckpointList(BaseModel):
    items: list[CheckpointOut]


class ApproveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: StrictStr | None = Field(default=None, max_length=2000)
    edits: dict[str, Any] | None = Field(
        default=None,
        description="Routing stage: {agent_name}. Output stage: any of summary, raw_output, "
        "code_language.",
    )


class RejectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: StrictStr = Field(min_length=1, max_length=2000)
