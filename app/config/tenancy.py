"""What one API key or tenant may use: request rates (and, with them, what a Redis outage
means for a submit)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from app.config.groups import _env, _Group

PerMinute = Annotated[int, Field(ge=0)]  # 0: no limit


class TenancySettings(_Group):
    # Moving-window limits, per minute, counted in Redis across every API process. Submits
    # are what creates or ends work (submit, retry, cancel); reads are every other
    # authenticated request. A managed key's own limits replace the per-key defaults.
    key_submits_per_minute: PerMinute = _env("API_RATE_LIMIT_PER_MINUTE", 60)
    key_reads_per_minute: PerMinute = _env("API_READ_RATE_LIMIT_PER_MINUTE", 600)
    tenant_submits_per_minute: PerMinute = _env("TENANT_RATE_LIMIT_PER_MINUTE", 600)
    tenant_reads_per_minute: PerMinute = _env("TENANT_READ_RATE_LIMIT_PER_MINUTE", 6000)
    # When the limiter's Redis does not answer, reads are let through; submits are too
    # unless this is false (then they are refused with 503 until Redis answers).
    submits_fail_open: bool = _env("RATE_LIMIT_SUBMITS_FAIL_OPEN", True)
