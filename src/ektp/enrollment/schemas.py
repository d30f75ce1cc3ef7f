"""Pydantic schemas of the enrollment API: service points, recordings (JSON with a base64 capture,
or a synthetic capture in the demo), a recording with its history, a point's day sheet."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ektp.enrollment.capture import ExceptionReason
from ektp.models.enrollment import CaptureFormat, ServicePointKind


class ServicePointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")
    kind: ServicePointKind
    name: str = Field(min_length=1, max_length=200)
    region_code: str = Field(pattern=r"^\d{2}\.\d{2}$")
    place: str = Field(min_length=1, max_length=200)
    daily_capacity: int = Field(ge=1, le=100_000)
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None


class ServicePointUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    place: str | None = Field(default=None, min_length=1, max_length=200)
    daily_capacity: int | None = Field(default=None, ge=1, le=100_000)
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    active: bool | None = None


class ServicePointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    kind: str
    name: str
    region_code: str
    place: str
    starts_on: dt.date | None
    ends_on: dt.date | None
    daily_capacity: int
    active: bool


class ExceptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: ``finger:RIGHT_THUMB`` … ``finger:LEFT_LITTLE``, ``iris:RIGHT``, ``iris:LEFT``, ``face``.
    trait: str = Field(min_length=1, max_length=40)
    reason: ExceptionReason
    note: str = Field(default="", max_length=500)


class SyntheticIn(BaseModel):
    """Demo only: generate the capture (``identity_key`` = the person, ``capture_no`` = which
    capture of that person)."""

    model_config = ConfigDict(extra="forbid")

    identity_key: int = Field(ge=0, le=2**31 - 1)
    capture_no: int = Field(default=0, ge=0, le=1000)
    seed: int = Field(default=2017, ge=0, le=2**31 - 1)


class RecordingCreate(BaseModel):
    """A recording by JSON: the resident (``nik`` or ``resident_id``), the point, and the capture
    as ``capture_base64`` (CBEFF XML or ISO/IEC 19794-2; ``capture_format`` optional, detected)
    or ``synthetic``. ``send`` (default true) also sends it for enrollment."""

    model_config = ConfigDict(extra="forbid")

    nik: str | None = Field(default=None, max_length=32)
    resident_id: int | None = Field(default=None, ge=1)
    service_point_id: int = Field(ge=1)
    capture_base64: str | None = Field(default=None, max_length=4 * 1024 * 1024)
    capture_format: CaptureFormat | None = None
    synthetic: SyntheticIn | None = None
    exceptions: list[ExceptionIn] = Field(default_factory=list, max_length=13)
    send: bool = True

    @model_validator(mode="after")
    def _one_capture(self) -> RecordingCreate:
        if (self.capture_base64 is None) == (self.synthetic is None):
            raise ValueError("give exactly one of capture_base64 and synthetic")
        if not self.nik and self.resident_id is None:
            raise ValueError("give nik or resident_id")
        return self


class StatusChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_status: str | None
    to_status: str
    at: dt.datetime
    by: str
    reason: str


class RecordingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    resident_id: int
    service_point_id: int
    region_code: str
    status: str
    biometric_ref: str
    business_date: dt.date
    captured_at: dt.datetime
    captured_by: str
    decided_at: dt.datetime | None
    status_changed_at: dt.datetime


class CaptureInfo(BaseModel):
    format: str
    sha256: str
    size_bytes: int


class RecordingDetail(RecordingOut):
    nik: str
    full_name: str
    quality: dict[str, Any]
    exceptions: list[dict[str, Any]]
    capture: CaptureInfo | None
    #: decided_at − captured_at (seconds) once the first decision is reached.
    seconds_to_decision: float | None
    history: list[StatusChangeOut]


class DayRecording(RecordingOut):
    nik: str
    full_name: str


class DaySheetOut(BaseModel):
    service_point: ServicePointOut
    business_date: dt.date
    total: int
    daily_capacity: int
    remaining: int
    by_status: dict[str, int]
    items: list[DayRecording]
    page: int
    size: int
    has_next: bool
