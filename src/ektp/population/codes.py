"""Code lists of the resident record (BRIEF §3). Stored as short ASCII codes (a CHECK constraint
keeps each column honest); the labels are what the card prints.

Pure module: no ORM, no web, so the models, the schemas, the simulator and the web shell can all
import it."""

from __future__ import annotations

import enum


class Sex(enum.StrEnum):
    LAKI_LAKI = "L"
    PEREMPUAN = "P"


SEX_LABELS: dict[str, str] = {"L": "LAKI-LAKI", "P": "PEREMPUAN"}


class Religion(enum.StrEnum):
    ISLAM = "ISLAM"
    KRISTEN = "KRISTEN"
    KATOLIK = "KATOLIK"
    HINDU = "HINDU"
    BUDDHA = "BUDDHA"
    KONGHUCU = "KONGHUCU"
    #: Printed "KEPERCAYAAN TERHADAP TUHAN YME" (since the 2017 Constitutional Court ruling).
    KEPERCAYAAN = "KEPERCAYAAN"


RELIGION_LABELS: dict[str, str] = {
    **{r.value: r.value for r in Religion},
    Religion.KEPERCAYAAN.value: "KEPERCAYAAN TERHADAP TUHAN YME",
}


class MaritalStatus(enum.StrEnum):
    BELUM_KAWIN = "BELUM_KAWIN"
    KAWIN = "KAWIN"
    CERAI_HIDUP = "CERAI_HIDUP"
    CERAI_MATI = "CERAI_MATI"


MARITAL_STATUS_LABELS: dict[str, str] = {m.value: m.value.replace("_", " ") for m in MaritalStatus}


class BloodType(enum.StrEnum):
    A = "A"
    B = "B"
    AB = "AB"
    O = "O"  # noqa: E741
    A_POS = "A+"
    A_NEG = "A-"
    B_POS = "B+"
    B_NEG = "B-"
    AB_POS = "AB+"
    AB_NEG = "AB-"
    O_POS = "O+"
    O_NEG = "O-"
    UNKNOWN = "UNKNOWN"


#: The card prints "-" for an unknown blood type.
BLOOD_TYPE_LABELS: dict[str, str] = {**{b.value: b.value for b in BloodType}, BloodType.UNKNOWN.value: "-"}


class Citizenship(enum.StrEnum):
    WNI = "WNI"
    WNA = "WNA"


class LifeStatus(enum.StrEnum):
    ALIVE = "ALIVE"
    DEAD = "DEAD"


class FamilyRelation(enum.StrEnum):
    KEPALA_KELUARGA = "KEPALA_KELUARGA"
    ISTRI = "ISTRI"
    SUAMI = "SUAMI"
    ANAK = "ANAK"
    MENANTU = "MENANTU"
    CUCU = "CUCU"
    ORANG_TUA = "ORANG_TUA"
    MERTUA = "MERTUA"
    FAMILI_LAIN = "FAMILI_LAIN"
    LAINNYA = "LAINNYA"


FAMILY_RELATION_LABELS: dict[str, str] = {r.value: r.value.replace("_", " ") for r in FamilyRelation}


class LifeEventKind(enum.StrEnum):
    MARRIAGE = "MARRIAGE"
    DIVORCE = "DIVORCE"
    DEATH = "DEATH"
    #: Pindah-datang: moving out of one village and arriving in another.
    MOVE = "MOVE"
    BIRTH = "BIRTH"
    #: A correction or change of recorded data, with its reason (``update_resident``).
    DATA_CHANGE = "DATA_CHANGE"


class ReissueReason(enum.StrEnum):
    """Why a card must be printed again (BRIEF §5). The population domain raises DATA_CHANGE and
    MOVE; the card domain raises the others."""

    DATA_CHANGE = "DATA_CHANGE"
    MOVE = "MOVE"
    DAMAGED = "DAMAGED"
    LOST = "LOST"
    SUKET = "SUKET"


class ReissueStatus(enum.StrEnum):
    OPEN = "OPEN"
    CONSUMED = "CONSUMED"
    CANCELLED = "CANCELLED"


class KkChangeReason(enum.StrEnum):
    """Why a family card (KK) edition was issued. A new edition keeps the number unless the
    family moved district, split off or changed head (BRIEF §2)."""

    #: First KK of a new family.
    ISSUED = "ISSUED"
    #: The family moved to another district: new number from the new district.
    MOVE = "MOVE"
    #: A new family split off (e.g. after marriage): the new family's first number.
    SPLIT = "SPLIT"
    #: The head changed (death, divorce): new number.
    HEAD_CHANGE = "HEAD_CHANGE"
    #: Members joined or left (birth, marriage, death of a member, moving within the district):
    #: the card is re-printed with the same number.
    MEMBER_CHANGE = "MEMBER_CHANGE"
    #: Address changed within the same district: re-printed with the same number.
    ADDRESS_CHANGE = "ADDRESS_CHANGE"


def values(enum_type: type[enum.StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in enum_type)


def check_in(column: str, enum_type: type[enum.StrEnum]) -> str:
    """SQL for a CHECK constraint: ``column IN ('A', 'B', ...)``."""
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values(enum_type)) + ")"


def region_parts(village_code: str) -> tuple[str, str, str]:
    """ "32.04.05.2001" → ("32", "32.04", "32.04.05"): province, regency, district of a village."""
    parts = village_code.split(".")
    return parts[0], ".".join(parts[:2]), ".".join(parts[:3])
