"""API shapes of re-issue requests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EvidenceIn(BaseModel):
    kind: str = Field(max_length=32, pattern="^[A-Z_]+$")
    reference: str = Field(default="", max_length=100)
    issued_on: dt.date | None = None
    document_kind: str | None = Field(default=None, max_length=40)


class ReissueCreate(BaseModel):
    resident_id: int = Field(ge=1)
    reason: str = Field(max_length=12)
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=10)
    disaster_victim: bool = False
    note: str = Field(default="", max_length=2000)


class DecisionIn(BaseModel):
    #: The fresh capture, base64 (CBEFF XML or an ISO/IEC 19794-2 record); absent when the
    #: resident has no biometrics.
    capture_base64: str | None = Field(default=None, max_length=20_000_000)
    capture_format: str | None = Field(default=None, pattern="^(CBEFF_XML|ISO_19794_2)$")
    #: Demo only: verify with a synthetic capture of the resident ("same") or of a stranger.
    synthetic: str | None = Field(default=None, pattern="^(same|stranger)$")


class CancelIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class ReissueOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    resident_id: int
    region_code: str
    reason: str
    evidence: list[dict[str, Any]]
    disaster_victim: bool
    note: str
    status: str
    verification: str | None
    verification_score: float | None
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    refusal_reason: str | None
    card_id: int | None
