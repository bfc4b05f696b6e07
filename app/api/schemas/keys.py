"""Bodies of the admin API for managed keys (/v1/admin/keys)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.dispatch.keys import MAX_GRACE_SECONDS
from app.domain.access import TENANT_PATTERN, Role
from app.store.api_keys import KeyRecord

PerMinute = Annotated[int, Field(ge=0, le=1_000_000)]


class KeyLimitsBody(BaseModel):
    """A key's own limits; a limit left out takes the service's per-key default, 0 is none."""

    model_config = ConfigDict(extra="forbid")

    submits_per_minute: PerMinute | None = Field(
        default=None, description="Submits, retries and cancels a minute (moving window)."
    )
    reads_per_minute: PerMinute | None = Field(
        default=None, description="Every other request a minute (moving window)."
    )


class KeyCreate(BaseModel):
    tenant: Annotated[
        str, Field(pattern=TENANT_PATTERN, description="Whose tasks the key acts on.")
    ]
    role: Role = Role.USER
    name: Annotated[str, Field(max_length=100, description="What the key is for.")] = ""
    expires_at: AwareDatetime | None = Field(
        default=None, description="After this the key is refused (ISO 8601 with a zone)."
    )
    limits: KeyLimitsBody = Field(default_factory=KeyLimitsBody)


class KeyRotate(BaseModel):
    grace_seconds: Annotated[float, Field(ge=0, le=MAX_GRACE_SECONDS)] = Field(
        default=3600,
        description="How long the current secret keeps working beside the new one.",
    )


class KeyOut(BaseModel):
    key_id: str
    tenant: str
    role: Role
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(description="Within a minute of the last use.")
    previous_valid_until: datetime | None = Field(
        description="After a rotation: until when the previous secret still works."
    )
    limits: KeyLimitsBody

    @classmethod
    def of(cls, record: KeyRecord) -> KeyOut:
        return cls.model_validate(asdict(record))


class KeyIssued(KeyOut):
    secret: str = Field(description="The key's secret: shown this once, stored only as a hash.")


class KeyList(BaseModel):
    items: list[KeyOut]
