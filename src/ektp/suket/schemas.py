"""API shapes of sukets."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class SuketIssue(BaseModel):
    resident_id: int = Field(ge=1)


class SuketCancel(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class SuketOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    resident_id: int
    enrollment_id: int | None
    region_code: str
    cause: str
    status_code: str
    issued_on: dt.date
    valid_until: dt.date
    issued_by: str
    status: str
    renewed_from_suket_id: int | None
    renewed_by_suket_id: int | None
    replaced_by_card_id: int | None
    end_note: str | None


class SuketIssued(SuketOut):
    verify_url: str
    pdf_url: str


class OutstandingOut(BaseModel):
    region_code: str
    buckets: dict[str, int]
    total: int


class PublicSuketOut(BaseModel):
    state: str
    number: str | None
    name: str | None
    nik: str | None
    issued_on: dt.date | None
    valid_until: dt.date | None
