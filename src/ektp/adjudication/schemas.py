"""Request and response bodies of the adjudication API."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ResidentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    nik: str
    full_name: str
    sex: str
    birth_place: str
    birth_date: dt.date
    street: str
    rt: str
    rw: str
    village_code: str
    regency_code: str
    recorded_on: dt.date


class RecordingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: str
    biometric_ref: str
    region_code: str
    business_date: dt.date
    captured_at: dt.datetime
    captured_by: str
    status_changed_at: dt.datetime
    quality: dict[str, Any]
    exceptions: list[dict[str, Any]]


class SideOut(BaseModel):
    recording: RecordingOut
    resident: ResidentOut
    #: The synthetic data carries no photos: always False for now, said plainly on the screen.
    photo_available: bool = False


class QueueItem(BaseModel):
    enrollment_id: int
    nik: str
    full_name: str
    region_code: str
    waiting_since: dt.datetime
    age_seconds: float
    state: str
    declared_by: str | None
    best_score: float | None


class EvidenceOut(BaseModel):
    fused_score: float | None
    finger_scores: dict[str, float]
    iris_scores: dict[str, float]
    face_score: float | None
    demographic_probability: float | None
    thresholds: dict[str, Any]
    demographic: dict[str, Any]
    decision_reason: str
    decided_by: str


class ActionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    kind: str
    examiner: str
    reason: str
    resulting_status: str
    matched_enrollment_id: int | None
    at: dt.datetime


class StatusChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_status: str | None
    to_status: str
    at: dt.datetime
    by: str
    reason: str


class CaseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    enrollment_id: int
    matched_enrollment_id: int
    region_code: str
    origin: str
    status: str
    opened_at: dt.datetime
    opened_by: str
    resolved_at: dt.datetime | None
    resolved_by: str | None
    reason: str | None
    kept_enrollment_id: int | None
    removed_enrollment_id: int | None
    kept_resident_id: int | None
    withdrawn_resident_id: int | None
    register_outcome: str | None
    consent_given_by: str | None
    consent_date: dt.date | None
    consent_reference: str | None
    gallery_ref: str | None
    gallery_removal_requested_at: dt.datetime | None
    move_explanation: str | None
    move_life_event_id: int | None


class AdjudicationCaseOut(BaseModel):
    subject: SideOut
    other: SideOut | None
    evidence: EvidenceOut
    state: str
    declared_by: str | None
    disagreed_by: str | None
    next_seq: int
    actions: list[ActionOut]
    history: list[StatusChangeOut]
    duplicate_case: CaseOut | None


class DecisionIn(BaseModel):
    decision: Literal["not_same", "declare_duplicate", "confirm_duplicate", "disagree"]
    reason: str | None = Field(default=None, max_length=2000)
    #: Optional: ``next_seq`` of the case as the examiner saw it; a stale view is refused (409).
    expected_seq: int | None = Field(default=None, ge=1)


class DuplicateItem(BaseModel):
    enrollment_id: int
    nik: str
    full_name: str
    region_code: str
    recording_status: str
    matched_enrollment_id: int | None
    status: str
    origin: str
    case_id: int | None


class DuplicateCaseOut(BaseModel):
    subject: SideOut
    other: SideOut | None
    case: CaseOut | None
    evidence: EvidenceOut
    first_recorded_enrollment_id: int | None
    actions: list[ActionOut]


class ResolutionIn(BaseModel):
    keep_enrollment_id: int | None = None
    reason: str | None = Field(default=None, max_length=2000)
    consent_given_by: str | None = Field(default=None, max_length=200)
    consent_date: dt.date | None = None
    consent_reference: str | None = Field(default=None, max_length=200)
    move_explanation: str | None = Field(default=None, max_length=2000)
    move_life_event_id: int | None = None


class WithdrawnResidentOut(BaseModel):
    case_id: int
    withdrawn_nik: str
    withdrawn_name: str
    merged_into_nik: str
    merged_into_name: str
    resolved_at: dt.datetime | None
