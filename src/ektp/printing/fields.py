"""The fields printed on a card (BRIEF §3), read from the resident and the region register.

The result is a flat ``dict[str, str]`` — stored as the card's ``printed_fields`` snapshot when
printed, and rendered by :mod:`ektp.printing.pdf` (preview from the resident, or a printed card
from its snapshot)."""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy.orm import Session

from ektp.models.population import Resident
from ektp.models.regions import Region
from ektp.population.codes import BLOOD_TYPE_LABELS, MARITAL_STATUS_LABELS, RELIGION_LABELS, SEX_LABELS

#: Validity printed for citizens (since 2013).
FOR_LIFE = "SEUMUR HIDUP"

_PREFIX = {"provinsi": "PROVINSI", "kabupaten": "KABUPATEN", "kota": "KOTA"}


#: Region names and kinds read recently: (database, code) → (read at, name, kind). A print reads
#: five names; a renamed region shows its new name on cards within ``_NAME_TTL`` seconds.
_NAMES: dict[tuple[str, str], tuple[float, str, str]] = {}
_NAME_TTL = 60.0


def _region(session: Session, code: str) -> tuple[str, str] | None:
    key = (str(session.get_bind().engine.url), code)
    now = time.monotonic()
    hit = _NAMES.get(key)
    if hit is not None and now - hit[0] < _NAME_TTL:
        return hit[1], hit[2]
    region = session.get(Region, code)
    if region is None:
        return None
    if len(_NAMES) > 10_000:
        _NAMES.clear()
    _NAMES[key] = (now, region.name, region.kind)
    return region.name, region.kind


def _name(session: Session, code: str, *, prefixed: bool = False) -> str:
    found = _region(session, code)
    if found is None:
        return code
    name = found[0].upper()
    prefix = _PREFIX.get(found[1], "") if prefixed else ""
    if prefix and not name.startswith(prefix):
        return f"{prefix} {name}"
    return name


def _date(day: dt.date) -> str:
    return day.strftime("%d-%m-%Y")


def card_fields(
    session: Session, resident: Resident, *, region_code: str, issued_on: dt.date
) -> dict[str, str]:
    """What the card shows for ``resident`` printed by ``region_code`` on ``issued_on``."""
    validity = (
        FOR_LIFE
        if resident.citizenship == "WNI" or resident.permit_expiry is None
        else _date(resident.permit_expiry)
    )
    issue_place = _name(session, region_code)
    return {
        "province": _name(session, resident.province_code, prefixed=True),
        "regency": _name(session, resident.regency_code, prefixed=True),
        "nik": resident.nik,
        "name": resident.full_name,
        "birth": f"{resident.birth_place}, {_date(resident.birth_date)}",
        "sex": SEX_LABELS.get(resident.sex, resident.sex),
        "blood_type": BLOOD_TYPE_LABELS.get(resident.blood_type, resident.blood_type),
        "address": resident.street,
        "rt_rw": f"{resident.rt}/{resident.rw}",
        "village": _name(session, resident.village_code),
        "district": _name(session, resident.district_code),
        "religion": RELIGION_LABELS.get(resident.religion, resident.religion),
        "marital_status": MARITAL_STATUS_LABELS.get(resident.marital_status, resident.marital_status),
        "occupation": resident.occupation,
        "citizenship": resident.citizenship,
        "valid_until": validity,
        "issue_place": issue_place,
        "issue_date": _date(issued_on),
    }
