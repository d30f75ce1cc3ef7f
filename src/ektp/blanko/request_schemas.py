"""Pydantic schemas of the blank-request, loan, priority-event, allocation-run and indicator API."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

RegionCode = Field(min_length=2, max_length=13, pattern=r"^\d{2}(\.\d{2})?$")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RequestCreate(_In):
    region_code: str = RegionCode
    requested_quantity: StrictInt = Field(gt=0, le=50_000_000)
    justification: str = Field(min_length=1, max_length=2000)
    requested_on: dt.date | None = None


class RequestUpdate(_In):
    requested_quantity: StrictInt | None = Field(default=None, gt=0, le=50_000_000)
    justification: str | None = Field(default=None, min_length=1, max_length=2000)


class TransitionNote(_In):
    note: str | None = Field(default=None, max_length=2000)


class ApproveBody(_In):
    approved_quantity: StrictInt = Field(gt=0)
    reason: str | None = Field(default=None, max_length=2000)
    approved_on: dt.date | None = None


class RejectBody(_In):
    reason: str = Field(min_length=1, max_length=2000)


class ReleaseBody(_In):
    released_on: dt.date | None = None


class DispatchBody(_In):
    mode: Literal["COLLECTED", "SHIPPED"]
    carrier: str = Field(min_length=1, max_length=120)
    dispatched_on: dt.date | None = None


class ReceiveBody(_In):
    """Proof of delivery: accepted + damaged + missing must equal the released quantity."""

    accepted_quantity: StrictInt = Field(ge=0)
    damaged_quantity: StrictInt = Field(default=0, ge=0)
    missing_quantity: StrictInt = Field(default=0, ge=0)
    rejection_reason: str | None = Field(default=None, max_length=2000)
    received_by: str = Field(min_length=1, max_length=120)
    received_on: dt.date | None = None


class TransitionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_status: str | None
    to_status: str
    actor_username: str
    at: dt.datetime
    note: str | None


class ProofOfDeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    accepted_quantity: int
    damaged_quantity: int
    missing_quantity: int
    rejected_quantity: int
    rejection_reason: str | None
    received_on: dt.date
    received_by: str
    recorded_at: dt.datetime


class RequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    region_code: str
    requested_quantity: int
    justification: str
    status: str
    requested_on: dt.date
    approved_quantity: int | None
    #: Requested − approved once decided (the whole request when rejected); None before.
    unapproved_remainder: int | None
    decision_reason: str | None
    approved_on: dt.date | None
    allocation_run_id: int | None
    released_on: dt.date | None
    dispatch_mode: str | None
    dispatched_on: dt.date | None
    carrier: str | None
    created_at: dt.datetime


class RequestDetail(RequestOut):
    transitions: list[TransitionOut]
    proof_of_delivery: ProofOfDeliveryOut | None


class LoanCreate(_In):
    from_region: str = RegionCode
    to_region: str = RegionCode
    quantity: StrictInt = Field(gt=0)
    business_date: dt.date | None = None
    note: str | None = Field(default=None, max_length=2000)


class LoanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: str
    from_region_code: str
    to_region_code: str
    quantity: int
    business_date: dt.date
    note: str | None
    actor_username: str


class PriorityEventCreate(_In):
    region_prefix: str = Field(min_length=2, max_length=13, pattern=r"^\d{2}(\.\d{2}){0,3}$")
    starts_on: dt.date
    ends_on: dt.date
    priority_class: StrictInt = Field(ge=0, le=9)
    reason: str = Field(min_length=1, max_length=200)


class PriorityEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    region_prefix: str
    starts_on: dt.date
    ends_on: dt.date
    priority_class: int
    reason: str


class PolicyIn(_In):
    """``ektp.planning.allocation.AllocationPolicy`` (see its docstring for each field)."""

    mode: Literal["water_filling", "milp"] = "water_filling"
    box_size: StrictInt = Field(default=100, ge=1)
    central_reserve: StrictInt = Field(default=0, ge=0)
    floor_boxes: StrictInt = Field(default=1, ge=0)
    floor_days_of_cover: float = Field(default=0.0, ge=0)
    days_of_cover_target: float | None = Field(default=None, gt=0)
    max_shipments: StrictInt | None = Field(default=None, ge=0)
    min_daily_consumption: float = Field(default=1.0, gt=0)
    strict_priority: StrictBool = True


class RunCreate(_In):
    policy: PolicyIn = PolicyIn()
    run_date: dt.date | None = None
    adc_window_days: StrictInt = Field(default=30, ge=1, le=366)
    default_priority_class: StrictInt = Field(default=1, ge=0, le=9)
    cap_per_region: StrictInt | None = Field(default=None, ge=0)


class RunDecision(_In):
    note: str | None = Field(default=None, max_length=2000)


class LineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    region_code: str
    requested: int
    stock_on_hand: int
    consumption_rate: float
    priority_class: int
    floor: int
    upper_bound: int
    allocated: int
    days_of_cover_before: float
    days_of_cover_after: float
    fill_ratio: float | None
    explanation: str


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: str
    run_date: dt.date
    mode: str
    fingerprint: str
    supply: int
    allocated: int
    created_by_username: str
    created_at: dt.datetime
    decided_by_username: str | None
    decided_at: dt.datetime | None
    decision_note: str | None


class RunDetail(RunOut):
    inputs: dict[str, Any]
    sources: dict[str, Any]
    unallocated: int
    top_class_worst_fill_ratio: float | None
    classes: list[dict[str, Any]]
    lines: list[LineOut]


class RunApproved(BaseModel):
    run: RunOut
    approved_requests: list[RequestOut]


class RunVerification(BaseModel):
    fingerprint: str
    recomputed_fingerprint: str
    outputs_equal: bool
    reproducible: bool


class FillRatesOut(BaseModel):
    requests: int
    requested: int
    approved: int
    received: int
    approved_rate: float | None
    received_rate: float | None


class LeadTimesOut(BaseModel):
    count: int
    mean_days: float | None
    p90_days: int | None
    max_days: int | None


class DayOut(BaseModel):
    date: dt.date
    stock_on_hand: int
    consumption: int
    receipts: int
    adjusted_daily_consumption: float
    #: None where days of cover are infinite (stock and no consumption).
    days_of_cover: float | None
    band: str


class IndicatorsOut(BaseModel):
    region_code: str
    period_start: dt.date
    period_end: dt.date
    window_days: int
    stock_on_hand: int
    consumption: int
    receipts: int
    stock_out_days: int
    adjusted_daily_consumption: float
    #: None where infinite (stock and no consumption in the window).
    days_of_cover: float | None
    band: str
    fill: FillRatesOut
    lead_time: LeadTimesOut
    #: Print-ready recordings waiting for a card now, not counting suket holders.
    prr_backlog: int | None
    #: ACTIVE sukets of the region now.
    sukets_outstanding: int | None
    days: list[DayOut]
