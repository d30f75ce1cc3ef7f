"""NIK (Nomor Induk Kependudukan): parse, validate and generate (BRIEF §2).

Layout, 16 digits: ``PP KK CC DDMMYY SSSS``

* ``PPKKCC`` — Kemendagri code of the province, regency/city and district where the NIK was
  *first* issued. It never changes when the person moves: never derive domicile from it.
* ``DD`` — birth day, plus 40 for women (41–71); ``MM`` month; ``YY`` two-digit year. The century
  is not encoded: the full birth date is stored separately and the NIK is checked against it.
* ``SSSS`` — serial 0001–9999 among people sharing the first 12 digits. No check digit.

Input is taken as typed, except for surrounding whitespace: a NIK with spaces, dots or dashes
inside is refused (rule ``digits``) rather than silently cleaned, because a NIK on a form is
always written as 16 plain digits and a stray character usually means a typing error.

Problems come back as data (:class:`~ektp.kit.errors.FieldProblem`, field ``"nik"``) — parsing
never raises, whatever the input. Region codes that are unknown or retired are *warnings*:
regions split and get new codes (Merauke 91.01 → 93.01 in 2022), and NIKs issued under the old
code stay valid for life.

Pure module (no ORM): the region check is a callable handed in by the caller, e.g.
``ektp.regions.service.region_lookup(session)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from ektp.kit.errors import FieldProblem, ValidationFailed

NIK_LENGTH = 16
FEMALE_DAY_OFFSET = 40
#: Centuries tried when no stored birth date says which one applies.
CANDIDATE_CENTURIES: tuple[int, ...] = (1900, 2000)

SexCode = Literal["L", "P"]
RegionStatus = Callable[[str], str]

FIELD = "nik"
_DIGITS = frozenset("0123456789")


@dataclass(frozen=True)
class NikFacts:
    """What a NIK says. ``birth_date`` is set only when a stored birth date confirmed it (the NIK
    alone does not know the century); ``birth_date_candidates`` lists the dates it could mean."""

    nik: str
    province_code: str
    regency_code: str
    district_code: str
    #: "kabupaten" for regency codes 01–69, "kota" for 71–99, "unknown" otherwise.
    regency_kind: str
    sex: SexCode
    birth_day: int
    birth_month: int
    birth_yy: int
    birth_date: dt.date | None
    birth_date_candidates: tuple[dt.date, ...]
    serial: int


@dataclass
class NikParseResult:
    """The outcome of :func:`parse_nik`. ``facts`` is present whenever the input had 16 digits;
    it is only trustworthy when ``errors`` is empty."""

    raw: str
    facts: NikFacts | None = None
    errors: list[FieldProblem] = field(default_factory=list)
    warnings: list[FieldProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _problem(rule: str, message: str) -> FieldProblem:
    return FieldProblem(FIELD, rule, message)


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def dotted_district(digits6: str) -> str:
    """ "320405" → "32.04.05"."""
    return f"{digits6[0:2]}.{digits6[2:4]}.{digits6[4:6]}"


def regency_kind(regency_digits: str) -> str:
    number = int(regency_digits)
    if 1 <= number <= 69:
        return "kabupaten"
    if 71 <= number <= 99:
        return "kota"
    return "unknown"


def check_digits(raw: str, *, length: int, field_name: str, label: str) -> tuple[str, list[FieldProblem]]:
    """Shared first step of NIK and KK parsing: strip surrounding whitespace, then demand exactly
    ``length`` ASCII digits. Returns the stripped value and the problems found."""
    value = raw.strip() if isinstance(raw, str) else ""
    problems: list[FieldProblem] = []
    if not isinstance(raw, str):
        problems.append(FieldProblem(field_name, "digits", f"{label} must be a string of digits"))
        return value, problems
    bad = sorted({ch for ch in value if ch not in _DIGITS})
    if bad:
        shown = ", ".join(repr(ch) for ch in bad[:5])
        problems.append(
            FieldProblem(field_name, "digits", f"{label} must contain digits only (found {shown})")
        )
    if len(value) != length:
        problems.append(
            FieldProblem(field_name, "length", f"{label} must have {length} digits, got {len(value)}")
        )
    return value, problems


def check_region_digits(value: str, *, field_name: str, label: str) -> list[FieldProblem]:
    """Province, regency and district codes may not be 00."""
    problems: list[FieldProblem] = []
    for start, rule, name in (
        (0, "province_code_zero", "province"),
        (2, "regency_code_zero", "regency/city"),
        (4, "district_code_zero", "district"),
    ):
        if value[start : start + 2] == "00":
            problems.append(FieldProblem(field_name, rule, f"{label} {name} code may not be 00"))
    return problems


def region_warnings(
    district_code: str, region_status: RegionStatus | None, *, field_name: str
) -> list[FieldProblem]:
    if region_status is None:
        return []
    status = region_status(district_code)
    if status == "current":
        return []
    if status == "historical":
        return [
            FieldProblem(
                field_name,
                "region_historical",
                f"district {district_code} is a retired region code (still valid for old numbers)",
            )
        ]
    return [
        FieldProblem(field_name, "region_unknown", f"district {district_code} is not a known region code")
    ]


def parse_nik(
    raw: str,
    *,
    birth_date: dt.date | None = None,
    sex: SexCode | None = None,
    region_status: RegionStatus | None = None,
) -> NikParseResult:
    """Parse a NIK; never raises.

    With ``birth_date`` (the stored full birth date) the century is taken from it and the NIK's
    DDMMYY must match it (rule ``birth_date_mismatch``); with ``sex`` the day offset must match it
    (rule ``sex_mismatch``). Without a birth date the DDMMYY must be a real date in at least one
    candidate century (so 29 Feb 00 passes: 2000 was a leap year)."""
    value, problems = check_digits(raw, length=NIK_LENGTH, field_name=FIELD, label="NIK")
    result = NikParseResult(raw=raw if isinstance(raw, str) else repr(raw))
    if problems:
        result.errors.extend(problems)
        return result

    errors = result.errors
    errors.extend(check_region_digits(value, field_name=FIELD, label="NIK"))

    raw_day = int(value[6:8])
    month = int(value[8:10])
    yy = int(value[10:12])
    serial = int(value[12:16])

    nik_sex: SexCode
    if 1 <= raw_day <= 31:
        day, nik_sex = raw_day, "L"
    elif FEMALE_DAY_OFFSET + 1 <= raw_day <= FEMALE_DAY_OFFSET + 31:
        day, nik_sex = raw_day - FEMALE_DAY_OFFSET, "P"
    else:
        day, nik_sex = raw_day, "L"
        errors.append(
            _problem("day_range", f"NIK birth day {raw_day:02d} must be 01–31 (men) or 41–71 (women)")
        )
    day_ok = not any(p.rule == "day_range" for p in errors)
    month_ok = 1 <= month <= 12
    if not month_ok:
        errors.append(_problem("month_range", f"NIK birth month {month:02d} must be 01–12"))

    candidates: tuple[dt.date, ...] = ()
    resolved: dt.date | None = None
    if day_ok and month_ok:
        candidates = tuple(
            d
            for d in (_safe_date(century + yy, month, day) for century in CANDIDATE_CENTURIES)
            if d is not None
        )
        if not candidates:
            errors.append(
                _problem(
                    "impossible_date",
                    f"NIK birth date {day:02d}-{month:02d}-{yy:02d} does not exist in any century",
                )
            )
        elif birth_date is not None:
            if (birth_date.day, birth_date.month, birth_date.year % 100) == (day, month, yy):
                resolved = birth_date
            else:
                errors.append(
                    _problem(
                        "birth_date_mismatch",
                        f"NIK encodes birth date {day:02d}{month:02d}{yy:02d} (DDMMYY) but the recorded "
                        f"birth date is {birth_date.isoformat()}",
                    )
                )

    if sex is not None and day_ok and sex != nik_sex:
        errors.append(
            _problem(
                "sex_mismatch",
                f"NIK encodes sex {nik_sex} (day {raw_day:02d}) but the recorded sex is {sex}",
            )
        )

    if serial == 0:
        errors.append(_problem("serial_zero", "NIK serial (last 4 digits) may not be 0000"))

    district = dotted_district(value[0:6])
    result.facts = NikFacts(
        nik=value,
        province_code=value[0:2],
        regency_code=f"{value[0:2]}.{value[2:4]}",
        district_code=district,
        regency_kind=regency_kind(value[2:4]),
        sex=nik_sex,
        birth_day=day,
        birth_month=month,
        birth_yy=yy,
        birth_date=resolved,
        birth_date_candidates=candidates,
        serial=serial,
    )
    if not any(p.rule.endswith("_code_zero") for p in errors):
        result.warnings.extend(region_warnings(district, region_status, field_name=FIELD))
    return result


def validate_nik(
    raw: str,
    *,
    birth_date: dt.date | None = None,
    sex: SexCode | None = None,
    region_status: RegionStatus | None = None,
) -> NikParseResult:
    """:func:`parse_nik`, raising :class:`ValidationFailed` (with every problem) if it has errors.
    Warnings are returned, not raised."""
    result = parse_nik(raw, birth_date=birth_date, sex=sex, region_status=region_status)
    if result.errors:
        raise ValidationFailed(
            "Invalid NIK: " + "; ".join(p.message for p in result.errors), list(result.errors)
        )
    return result


def normalise_district_code(district_code: str, *, field_name: str = "district_code") -> str:
    """Accept "32.04.05" or "320405"; return the 6 plain digits or raise ValidationFailed."""
    plain = district_code.replace(".", "") if isinstance(district_code, str) else ""
    dotted_ok = isinstance(district_code, str) and (
        "." not in district_code or [len(part) for part in district_code.split(".")] == [2, 2, 2]
    )
    if not dotted_ok or len(plain) != 6 or any(ch not in _DIGITS for ch in plain):
        raise ValidationFailed(
            "Invalid district code",
            [
                FieldProblem(
                    field_name, "format", f"district code must look like 32.04.05, got {district_code!r}"
                )
            ],
        )
    if "00" in (plain[0:2], plain[2:4], plain[4:6]):
        raise ValidationFailed(
            "Invalid district code",
            [FieldProblem(field_name, "code_zero", f"district code {district_code!r} has a 00 part")],
        )
    return plain


def nik_prefix(*, district_code: str, birth_date: dt.date, sex: SexCode) -> str:
    """The first 12 digits (region + DDMMYY with the female offset): serials count within it."""
    if sex not in ("L", "P"):
        raise ValidationFailed(
            "Invalid sex", [FieldProblem("sex", "code", f"sex must be L or P, got {sex!r}")]
        )
    region = normalise_district_code(district_code)
    day = birth_date.day + (FEMALE_DAY_OFFSET if sex == "P" else 0)
    return f"{region}{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}"


def generate_nik(*, district_code: str, birth_date: dt.date, sex: SexCode, serial: int) -> str:
    """Build the NIK for a person first registered in ``district_code`` ("32.04.05")."""
    if not isinstance(serial, int) or isinstance(serial, bool) or not 1 <= serial <= 9999:
        raise ValidationFailed(
            "Invalid NIK serial", [FieldProblem("serial", "range", f"serial must be 1–9999, got {serial!r}")]
        )
    return f"{nik_prefix(district_code=district_code, birth_date=birth_date, sex=sex)}{serial:04d}"
