"""Pydantic schemas of the audit API."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    recorded_at: dt.datetime
    actor_user_id: int | None
    actor_username: str
    actor_role: str
    actor_region: str | None
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None
    prev_hash: str
    row_hash: str


class AuditFilter(BaseModel):
    entity_type: str | None = Field(default=None, min_length=1, max_length=64)
    entity_id: str | None = Field(default=None, min_length=1, max_length=128)
    actor: str | None = Field(default=None, min_length=1, max_length=64, description="Username of the actor.")
    since: AwareDatetime | None = Field(
        default=None, description="Recorded at or after (ISO 8601 with offset)."
    )
    until: AwareDatetime | None = Field(default=None, description="Recorded before (ISO 8601 with offset).")


class ChainVerificationOut(BaseModel):
    intact: bool
    rows_checked: int
    head_id: int | None
    head_hash: str
    first_bad_id: int | None
    problem: Literal["altered", "relinked", "missing"] | None
    message: str
