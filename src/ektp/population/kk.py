"""KK (Kartu Keluarga, family card) number: parse, validate and generate (BRIEF §2).

Layout, 16 digits: ``PP KK CC DDMMYY SSSS`` — the district where the card was issued, the issue
date (no sex offset) and a serial 0001–9999 among cards issued in that district that day.

A family's KK number changes when it moves to another district, splits or changes head; other
changes re-print the card with the same number (see ``KkChangeReason``).

The century of the issue date is not encoded: it is taken from the stored issue date when given,
otherwise the latest candidate that is not after ``today``. Parsing never raises; problems come
back with field ``"kk_number"``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ektp.kit.errors import FieldProblem, ValidationFailed
from ektp.population.nik import (
    CANDIDATE_CENTURIES,
    RegionStatus,
    check_digits,
    check_region_digits,
    dotted_district,
    normalise_district_code,
    region_warnings,
)

KK_LENGTH = 16
FIELD = "kk_number"


@dataclass(frozen=True)
class KkFacts:
    kk_number: str
    province_code: str
    regency_code: str
    district_code: str
    issue_day: int
    issue_month: int
    issue_yy: int
    #: The resolved issue date (``None`` when the digits are not a date).
    issued_on: dt.date | None
    serial: int


@dataclass
class KkParseResult:
    raw: str
    facts: KkFacts | None = None
    errors: list[FieldProblem] = field(default_factory=list)
    warnings: list[FieldProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _problem(rule: str, message: str) -> FieldProblem:
    return FieldProblem(FIELD, rule, message)


def parse_kk(
    raw: str,
    *,
    issued_on: dt.date | None = None,
    today: dt.date | None = None,
    region_status: RegionStatus | None = None,
) -> KkParseResult:
    """Parse a KK number; never raises. With ``issued_on`` the DDMMYY must match it (rule
    ``issue_date_mismatch``); a date after ``today`` (default: the system date) is refused
    (rule ``issue_date_future``)."""
    value, problems = check_digits(raw, length=KK_LENGTH, field_name=FIELD, label="KK number")
    result = KkParseResult(raw=raw if isinstance(raw, str) else repr(raw))
    if problems:
        result.errors.extend(problems)
        return result
    errors = result.errors
    errors.extend(check_region_digits(value, field_name=FIELD, label="KK number"))

    day = int(value[6:8])
    month = int(value[8:10])
    yy = int(value[10:12])
    serial = int(value[12:16])
    today = today or dt.date.today()

    if not 1 <= day <= 31:
        errors.append(_problem("day_range", f"KK issue day {day:02d} must be 01–31"))
    if not 1 <= month <= 12:
        errors.append(_problem("month_range", f"KK issue month {month:02d} must be 01–12"))

    resolved: dt.date | None = None
    if 1 <= day <= 31 and 1 <= month <= 12:
        candidates: list[dt.date] = []
        for century in CANDIDATE_CENTURIES:
            try:
                candidates.append(dt.date(century + yy, month, day))
            except ValueError:
                continue
        if not candidates:
            errors.append(
                _problem("impossible_date", f"KK issue date {day:02d}-{month:02d}-{yy:02d} does not exist")
            )
        elif issued_on is not None:
            if (issued_on.day, issued_on.month, issued_on.year % 100) == (day, month, yy):
                resolved = issued_on
            else:
                errors.append(
                    _problem(
                        "issue_date_mismatch",
                        f"KK number encodes issue date {day:02d}{month:02d}{yy:02d} (DDMMYY) but the "
                        f"recorded issue date is {issued_on.isoformat()}",
                    )
                )
        else:
            past = [d for d in candidates if d <= today]
            if past:
                resolved = max(past)
            else:
                errors.append(
                    _problem(
                        "issue_date_future", f"KK issue date {min(candidates).isoformat()} is in the future"
                    )
                )
        if resolved is not None and resolved > today:
            errors.append(
                _problem("issue_date_future", f"KK issue date {resolved.isoformat()} is in the future")
            )

    if serial == 0:
        errors.append(_problem("serial_zero", "KK serial (last 4 digits) may not be 0000"))

    district = dotted_district(value[0:6])
    result.facts = KkFacts(
        kk_number=value,
        province_code=value[0:2],
        regency_code=f"{value[0:2]}.{value[2:4]}",
        district_code=district,
        issue_day=day,
        issue_month=month,
        issue_yy=yy,
        issued_on=resolved,
        serial=serial,
    )
    if not any(p.rule.endswith("_code_zero") for p in errors):
        result.warnings.extend(region_warnings(district, region_status, field_name=FIELD))
    return result


def validate_kk(
    raw: str,
    *,
    issued_on: dt.date | None = None,
    today: dt.date | None = None,
    region_status: RegionStatus | None = None,
) -> KkParseResult:
    """:func:`parse_kk`, raising :class:`ValidationFailed` if it has errors."""
    result = parse_kk(raw, issued_on=issued_on, today=today, region_status=region_status)
    if result.errors:
        raise ValidationFailed(
            "Invalid KK number: " + "; ".join(p.message for p in result.errors), list(result.errors)
        )
    return result


def kk_prefix(*, district_code: str, issued_on: dt.date) -> str:
    """The first 12 digits: district of issue + DDMMYY; serials count within it."""
    region = normalise_district_code(district_code)
    return f"{region}{issued_on.day:02d}{issued_on.month:02d}{issued_on.year % 100:02d}"


def generate_kk(*, district_code: str, issued_on: dt.date, serial: int) -> str:
    """Build a KK number issued in ``district_code`` ("32.04.05") on ``issued_on``."""
    if not isinstance(serial, int) or isinstance(serial, bool) or not 1 <= serial <= 9999:
        raise ValidationFailed(
            "Invalid KK serial", [FieldProblem("serial", "range", f"serial must be 1–9999, got {serial!r}")]
        )
    return f"{kk_prefix(district_code=district_code, issued_on=issued_on)}{serial:04d}"
