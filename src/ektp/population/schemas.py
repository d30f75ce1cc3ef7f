"""Pydantic schemas of the population API.

Inputs are typed loosely where the service gives the better error: the NIK, KK number and region
codes arrive as strings and are parsed by the service, so that a bad one comes back as a 422
naming the field and the rule (``nik`` / ``digits``, ``nik`` / ``impossible_date``, ...) rather
than a generic pattern mismatch."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ektp.population.codes import (
    BloodType,
    Citizenship,
    FamilyRelation,
    MaritalStatus,
    Religion,
)

SexLiteral = Literal["L", "P"]
#: Raw identifiers are bounded so that an absurd payload is refused before any parsing.
RAW_ID_MAX = 64


def _pad_rt_rw(value: object) -> object:
    """RT/RW are three digits on the card ("001"); "1" and "01" are accepted and padded."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        value = value.strip()
        if value.isascii() and value.isdigit() and 1 <= len(value) <= 3:
            return value.zfill(3)
    return value


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Address(_Input):
    street: str = Field(min_length=1, max_length=120)
    rt: str = Field(pattern=r"^[0-9]{3}$", description="Rukun tetangga, 1–3 digits (padded to 3).")
    rw: str = Field(pattern=r"^[0-9]{3}$", description="Rukun warga, 1–3 digits (padded to 3).")
    village_code: str = Field(max_length=32, description='Kemendagri village code, e.g. "32.04.05.2001".')

    _rt = field_validator("rt", "rw", mode="before")(_pad_rt_rw)


class ResidentCreate(Address):
    """A resident to register. Without ``nik`` a new NIK is issued in the village's district."""

    nik: str | None = Field(default=None, max_length=RAW_ID_MAX)
    full_name: str = Field(min_length=1, max_length=200)
    birth_place: str = Field(min_length=1, max_length=60)
    birth_date: dt.date
    sex: SexLiteral
    religion: Religion
    marital_status: MaritalStatus = MaritalStatus.BELUM_KAWIN
    blood_type: BloodType = BloodType.UNKNOWN
    occupation: str = Field(min_length=1, max_length=60)
    citizenship: Citizenship = Citizenship.WNI
    permit_expiry: dt.date | None = None
    #: Business date of the record; earlier than today only for imports by a central user.
    recorded_on: dt.date | None = None


class ResidentUpdate(_Input):
    """Fields that may change with a recorded reason. ``nik``, ``birth_date`` and ``sex`` are
    accepted only to be refused with rule ``immutable``; ``village_code``, ``life_status`` and
    ``death_date`` change through life events (rule ``use_life_event``)."""

    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    birth_place: str | None = Field(default=None, min_length=1, max_length=60)
    religion: Religion | None = None
    marital_status: MaritalStatus | None = None
    blood_type: BloodType | None = None
    occupation: str | None = Field(default=None, min_length=1, max_length=60)
    citizenship: Citizenship | None = None
    permit_expiry: dt.date | None = None
    street: str | None = Field(default=None, min_length=1, max_length=120)
    rt: str | None = Field(default=None, pattern=r"^[0-9]{3}$")
    rw: str | None = Field(default=None, pattern=r"^[0-9]{3}$")

    nik: str | None = Field(default=None, max_length=RAW_ID_MAX)
    birth_date: dt.date | None = None
    sex: str | None = Field(default=None, max_length=16)
    village_code: str | None = Field(default=None, max_length=32)
    life_status: str | None = Field(default=None, max_length=16)
    death_date: dt.date | None = None

    _rt = field_validator("rt", "rw", mode="before")(_pad_rt_rw)


class ResidentPatch(ResidentUpdate):
    """Body of ``PATCH /residents/{nik}``: the changes plus why (and, optionally, the version
    the client saw, for optimistic locking)."""

    reason: str = Field(max_length=500)
    version: int | None = Field(default=None, ge=1)


class Problem(BaseModel):
    field: str
    rule: str
    message: str


class Resident(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    nik: str
    full_name: str
    birth_place: str
    birth_date: dt.date
    sex: str
    religion: str
    marital_status: str
    blood_type: str
    occupation: str
    citizenship: str
    permit_expiry: dt.date | None
    street: str
    rt: str
    rw: str
    village_code: str
    district_code: str
    regency_code: str
    province_code: str
    life_status: str
    death_date: dt.date | None
    recorded_on: dt.date
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ResidentDetail(Resident):
    """A resident with the facts the register derives: current KK number and wajib KTP today."""

    kk_number: str | None = None
    family_relation: str | None = None
    wajib_ktp: bool = False
    labels: dict[str, str] = Field(default_factory=dict)


class ResidentCreated(BaseModel):
    resident: ResidentDetail
    warnings: list[Problem]


class ResidentSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    nik: str
    full_name: str
    birth_date: dt.date
    sex: str
    village_code: str
    life_status: str


class FamilyMemberIn(_Input):
    nik: str = Field(max_length=RAW_ID_MAX)
    relation: FamilyRelation


class FamilyCreate(_Input):
    """A new family card for ``head_nik`` (at the head's address). Without ``kk_number`` a number
    is issued in the district of that address on ``issued_on`` (default today); a given number
    (an existing card being registered) is checked against ``issued_on``."""

    head_nik: str = Field(max_length=RAW_ID_MAX)
    members: list[FamilyMemberIn] = Field(default_factory=list, max_length=50)
    kk_number: str | None = Field(default=None, max_length=RAW_ID_MAX)
    issued_on: dt.date | None = None


class FamilyMember(BaseModel):
    nik: str
    full_name: str
    relation: str
    relation_label: str
    joined_on: dt.date


class KkEdition(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kk_number: str
    valid_from: dt.date
    valid_to: dt.date | None
    reason: str


class Family(BaseModel):
    kk_number: str
    head_nik: str | None
    street: str
    rt: str
    rw: str
    village_code: str
    members: list[FamilyMember]
    history: list[KkEdition]


class MarriageRequest(_Input):
    spouse_nik: str = Field(max_length=RAW_ID_MAX)
    date: dt.date
    #: Where the couple lives afterwards: the husband's family, the wife's, or a new family card
    #: headed by the husband.
    household: Literal["JOIN_HUSBAND", "JOIN_WIFE", "NEW_FAMILY"] = "JOIN_HUSBAND"


class DivorceRequest(_Input):
    spouse_nik: str | None = Field(default=None, max_length=RAW_ID_MAX)
    date: dt.date


class DeathRequest(_Input):
    date: dt.date


class MoveRequest(_Input):
    to_village_code: str = Field(max_length=32)
    street: str = Field(min_length=1, max_length=120)
    rt: str = Field(pattern=r"^[0-9]{3}$")
    rw: str = Field(pattern=r"^[0-9]{3}$")
    date: dt.date
    #: Move every active member of the resident's family (the family keeps its card, with a new
    #: number if the district changes).
    whole_family: bool = False
    #: For a single mover: join this family at the destination (else a new family card is made).
    into_kk_number: str | None = Field(default=None, max_length=RAW_ID_MAX)
    relation: FamilyRelation | None = None

    _rt = field_validator("rt", "rw", mode="before")(_pad_rt_rw)


class BirthRequest(_Input):
    full_name: str = Field(min_length=1, max_length=200)
    sex: SexLiteral
    birth_date: dt.date
    birth_place: str = Field(min_length=1, max_length=60)
    mother_nik: str | None = Field(default=None, max_length=RAW_ID_MAX)
    father_nik: str | None = Field(default=None, max_length=RAW_ID_MAX)
    religion: Religion | None = None
    blood_type: BloodType = BloodType.UNKNOWN


class ReissueNeed(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    reason: str
    status: str
    raised_at: dt.datetime
    raised_by_event_id: int | None
    closed_at: dt.datetime | None


class LifeEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    nik: str
    kind: str
    event_date: dt.date
    details: dict[str, object]


class EventOutcome(BaseModel):
    """What a life event changed: the events recorded, the residents touched, the KK editions
    issued and the card re-issue needs raised."""

    events: list[LifeEventOut]
    residents: list[ResidentSummary]
    kk_editions: list[KkEdition]
    reissue_needs: list[ReissueNeed]
    child_nik: str | None = None
