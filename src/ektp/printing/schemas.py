"""Request and response bodies of the printing API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class QueueItemOut(BaseModel):
    source: str
    id: int
    resident_id: int
    nik: str
    full_name: str
    category: str
    rank: int
    waiting_since: dt.datetime
    reissue_reason: str | None = None


class QuotaOut(BaseModel):
    region_code: str
    business_date: dt.date
    daily_quota: int
    printed: int
    remaining: int


class BlankTraceOut(BaseModel):
    """A region's used blanks against its card and spoilage records (``ektp.printing.trace``)."""

    region_code: str
    printed: int
    spoiled: int
    imported: int
    traced: int
    cards: int
    untraced: int
    cards_missing: int
    complete: bool


class QueueOut(BaseModel):
    region_code: str
    quota: QuotaOut
    items: list[QueueItemOut]


class QuotaIn(BaseModel):
    daily_quota: int = Field(ge=0, le=100_000)


class PrioritiesIn(BaseModel):
    ranks: dict[str, int]


class PrintIn(BaseModel):
    """Name a recording or a re-issue request, or neither (the head of the queue)."""

    enrollment_id: int | None = None
    reissue_request_id: int | None = None
    blank_serial: int | None = Field(default=None, ge=1)
    business_date: dt.date | None = None


class SpoilIn(BaseModel):
    reason: str = Field(max_length=20)
    note: str = Field(default="", max_length=500)
    blank_serial: int | None = Field(default=None, ge=1)
    enrollment_id: int | None = None
    business_date: dt.date | None = None


class IssueIn(BaseModel):
    issued_on: dt.date | None = None


class ReportIn(BaseModel):
    status: str = Field(max_length=8)
    reason: str = Field(max_length=500)


class CardOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    resident_id: int
    nik: str
    enrollment_id: int | None
    kind: str
    blank_usage_id: int
    region_code: str
    status: str
    printed_on: dt.date
    printed_by: str
    issued_on: dt.date | None
    issued_by: str | None
    ended_at: dt.datetime | None
    revoked_at: dt.datetime | None
    end_reason: str | None
    replaced_by_card_id: int | None


class BlankUsageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    blank_serial: int
    lot_id: int
    region_code: str
    outcome: str
    spoilage_reason: str | None
    note: str
    ledger_event_id: int
    business_date: dt.date
