"""Typed factories for residents and families. They write rows directly (no audit entries, no
region-scope checks) but keep every invariant the service keeps: NIK consistent with the
village's district, birth date and sex, with the next free serial; denormalised region codes;
KK number from the district and issue date, with its history row and membership rows."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence

from sqlalchemy.orm import Session

from ektp.models.population import Family, FamilyMember, KkNumberHistory, Resident
from ektp.population import repository
from ektp.population.codes import FamilyRelation, KkChangeReason, region_parts
from ektp.population.kk import generate_kk, kk_prefix
from ektp.population.names import normalise_name, search_key
from ektp.population.nik import SexCode, generate_nik, nik_prefix

#: Cileunyi Kulon, Kecamatan Cileunyi, Kabupaten Bandung (Jawa Barat): loaded in the test database.
DEFAULT_VILLAGE = "32.04.05.2001"
#: Sukarasa, Kecamatan Sukasari, Kota Bandung: another regency of the same province.
OTHER_REGENCY_VILLAGE = "32.73.01.1001"
#: Gambir, Jakarta Pusat: another province.
OTHER_PROVINCE_VILLAGE = "31.71.01.1001"

_FIRST = ("BUDI", "SITI", "AGUS", "DEWI", "RINA", "ANDI", "EKO", "NUR", "ADI", "PUTRI", "DIAN", "HENDRA")
_LAST = ("SANTOSO", "RAHAYU", "HIDAYAT", "LESTARI", "WIJAYA", "PURNAMA", "SAPUTRA", "KURNIAWAN", "SETIAWAN")
_names = itertools.cycle([f"{a} {b}" for b in _LAST for a in _FIRST])


def next_name() -> str:
    return next(_names)


def make_resident(
    session: Session,
    *,
    village_code: str = DEFAULT_VILLAGE,
    sex: SexCode = "L",
    birth_date: dt.date = dt.date(1990, 5, 17),
    name: str | None = None,
    marital_status: str = "BELUM_KAWIN",
    citizenship: str = "WNI",
    permit_expiry: dt.date | None = None,
    recorded_on: dt.date = dt.date(2023, 1, 10),
    nik: str | None = None,
    religion: str = "ISLAM",
    occupation: str = "KARYAWAN SWASTA",
    birth_place: str = "BANDUNG",
    blood_type: str = "UNKNOWN",
    street: str = "JL. MERDEKA NO. 1",
    rt: str = "001",
    rw: str = "002",
    death_date: dt.date | None = None,
) -> Resident:
    """A resident living in ``village_code``; the NIK (unless given) is issued in its district."""
    province, regency, district = region_parts(village_code)
    if nik is None:
        prefix = nik_prefix(district_code=district, birth_date=birth_date, sex=sex)
        serial = repository.first_free(repository.used_serials(session, prefix))
        assert serial is not None, f"no free NIK serial under {prefix}"
        nik = generate_nik(district_code=district, birth_date=birth_date, sex=sex, serial=serial)
    if citizenship == "WNA" and permit_expiry is None:
        permit_expiry = dt.date(2030, 12, 31)
    full_name = normalise_name(name or next_name())
    resident = Resident(
        nik=nik,
        full_name=full_name,
        name_search=search_key(full_name),
        birth_place=birth_place,
        birth_date=birth_date,
        sex=sex,
        religion=religion,
        marital_status=marital_status,
        blood_type=blood_type,
        occupation=occupation,
        citizenship=citizenship,
        permit_expiry=permit_expiry,
        street=street,
        rt=rt,
        rw=rw,
        village_code=village_code,
        district_code=district,
        regency_code=regency,
        province_code=province,
        life_status="DEAD" if death_date else "ALIVE",
        death_date=death_date,
        recorded_on=recorded_on,
    )
    session.add(resident)
    session.flush()
    return resident


def make_family(
    session: Session,
    *,
    village_code: str = DEFAULT_VILLAGE,
    head: Resident | None = None,
    members: Sequence[tuple[Resident, str]] = (),
    issued_on: dt.date = dt.date(2023, 1, 10),
    kk_number: str | None = None,
) -> Family:
    """A family in ``village_code`` with ``head`` (made if not given) as KEPALA_KELUARGA and the
    given ``(resident, relation)`` members; the first KK edition is recorded as ISSUED."""
    _, _, district = region_parts(village_code)
    if head is None:
        head = make_resident(session, village_code=village_code)
    if kk_number is None:
        prefix = kk_prefix(district_code=district, issued_on=issued_on)
        serial = repository.first_free(repository.used_kk_serials(session, prefix))
        assert serial is not None, f"no free KK serial under {prefix}"
        kk_number = generate_kk(district_code=district, issued_on=issued_on, serial=serial)
    family = Family(
        kk_number=kk_number, street=head.street, rt=head.rt, rw=head.rw, village_code=village_code
    )
    session.add(family)
    session.flush()
    family.head_resident_id = head.id
    for resident, relation in ((head, FamilyRelation.KEPALA_KELUARGA.value), *members):
        session.add(
            FamilyMember(family_id=family.id, resident_id=resident.id, relation=relation, joined_on=issued_on)
        )
        resident.family_id = family.id
    session.add(
        KkNumberHistory(
            family_id=family.id, kk_number=kk_number, valid_from=issued_on, reason=KkChangeReason.ISSUED.value
        )
    )
    session.flush()
    return family
