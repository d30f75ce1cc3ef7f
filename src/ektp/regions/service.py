"""Regions (wilayah): load the Kemendagri list, look codes up (current or historical), list
children, search by name. Services never commit.

Historical codes. The table holds every code ever loaded; a code that is no longer in force has
``valid_to`` set, and a ``successor_code`` where the replacement is known. The retired regency
codes of the 2022 Papua split come from ``ektp.regions.retired`` with their successor derived by
name from the current list. Districts and villages under those regencies are *not* stored under
their old codes: they are resolved on request by mapping the old regency prefix to the new one and
keeping the rest of the code (91.01.01 → 93.01.01). That rests on an inference — that Kemendagri
renumbered only the province/regency part when the regencies moved — and such a resolution is
marked ``inferred`` so that callers can tell it from a stored fact.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.orm import Session

from ektp.auth.permissions import Principal
from ektp.kit.errors import FieldProblem, InvalidState, NotFound, ValidationFailed, invalid
from ektp.kit.time import today_wib
from ektp.models.regions import Region
from ektp.regions import repository
from ektp.regions.codes import (
    REGION_CODE_FIELD,
    is_city_code,
    normalise_region_code,
    normalise_region_name,
    parent_of,
    region_kind,
)
from ektp.regions.retired import RETIRED_REGENCIES, RetiredRegency
from ektp.regions.source import RegionSource, read_source

RegionStatus = Literal["current", "historical", "unknown"]

LEVEL_NAMES: dict[int, str] = {1: "province", 2: "regency/city", 3: "district", 4: "village"}

#: Longest successor chain followed before giving up (a cycle would be a data error).
MAX_SUCCESSOR_CHAIN = 16

SEARCH_MIN_LENGTH = 2
SEARCH_MAX_LIMIT = 100


# --------------------------------------------------------------------------------------------
# Loading


@dataclass
class LevelCounts:
    """What one load did to the codes of one level. The four counts are disjoint."""

    #: Current codes that were not in the table before.
    inserted: int = 0
    #: Codes already in the table whose name, postal code, validity or source changed (a code
    #: that had vanished and is back in the list counts here).
    updated: int = 0
    #: Codes that became historical in this load: gone from the list (``valid_to`` set to the load
    #: date), or a retired code from the law table stored for the first time.
    retired: int = 0
    #: Codes already stored exactly as the list has them.
    unchanged: int = 0


@dataclass
class RegionLoadReport:
    source: str
    #: Provinces whose villages were loaded; ``None`` means all.
    village_provinces: tuple[str, ...] | None
    levels: dict[int, LevelCounts] = field(
        default_factory=lambda: {level: LevelCounts() for level in LEVEL_NAMES}
    )
    seconds: float = 0.0

    @property
    def inserted(self) -> int:
        return sum(counts.inserted for counts in self.levels.values())

    @property
    def updated(self) -> int:
        return sum(counts.updated for counts in self.levels.values())

    @property
    def retired(self) -> int:
        return sum(counts.retired for counts in self.levels.values())

    @property
    def unchanged(self) -> int:
        return sum(counts.unchanged for counts in self.levels.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "village_provinces": list(self.village_provinces) if self.village_provinces is not None else None,
            "levels": {
                str(level): {
                    "inserted": counts.inserted,
                    "updated": counts.updated,
                    "retired": counts.retired,
                    "unchanged": counts.unchanged,
                }
                for level, counts in sorted(self.levels.items())
            },
            "seconds": round(self.seconds, 3),
        }


def retired_regency_full_name(retired: RetiredRegency) -> str:
    """ "Kabupaten Merauke" for 91.01, "Kota Sorong" for 92.71 (the kind follows from the code)."""
    return ("Kota " if is_city_code(retired.code) else "Kabupaten ") + retired.name


def successor_candidates(retired: RetiredRegency, upper: Mapping[str, str]) -> list[str]:
    """Current regency/city codes whose name is the retired one's ("Kabupaten Merauke" → 93.01).
    Exactly one is expected; the loader refuses to guess otherwise."""
    wanted = normalise_region_name(retired_regency_full_name(retired))
    return sorted(
        code
        for code, name in upper.items()
        if code.count(".") == 1 and code != retired.code and normalise_region_name(name) == wanted
    )


def derive_successors(upper: Mapping[str, str]) -> dict[str, str]:
    """Retired regency code → its successor in the current list, by name."""
    successors: dict[str, str] = {}
    for retired in RETIRED_REGENCIES:
        candidates = successor_candidates(retired, upper)
        if len(candidates) != 1:
            raise InvalidState(
                f"Retired code {retired.code} ({retired_regency_full_name(retired)}, {retired.law.citation}) "
                f"matches {len(candidates)} current regencies by name ({', '.join(candidates) or 'none'}); "
                "expected exactly one."
            )
        successors[retired.code] = candidates[0]
    return successors


def _normalise_village_provinces(
    village_provinces: Collection[str] | None, upper: Mapping[str, str]
) -> tuple[str, ...] | None:
    if village_provinces is None:
        return None
    codes: list[str] = []
    for raw in village_provinces:
        code = normalise_region_code(raw, field="village_provinces")
        if "." in code:
            raise invalid("village_provinces", "province_level", f"{raw!r} is not a province code (2 digits)")
        if code not in upper:
            raise invalid("village_provinces", "exists", f"province {code} is not in the region list")
        codes.append(code)
    return tuple(sorted(set(codes)))


def _row(
    code: str,
    name: str,
    *,
    source: str,
    postal_code: str | None = None,
    valid_from: dt.date | None = None,
    valid_to: dt.date | None = None,
    successor_code: str | None = None,
) -> dict[str, Any]:
    dotted = normalise_region_code(code)
    if dotted != code:
        raise InvalidState(f"Region list holds code {code!r}, which is not in dotted form ({dotted}).")
    return {
        "code": code,
        "name": name,
        "name_search": normalise_region_name(name),
        "level": code.count(".") + 1,
        "kind": region_kind(code),
        "parent_code": parent_of(code),
        "postal_code": postal_code,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "successor_code": successor_code,
        "source": source,
    }


def _desired_rows(source: RegionSource, village_provinces: tuple[str, ...] | None) -> list[dict[str, Any]]:
    """Every row the table should hold after the load, current codes first (parents before
    children), then the retired codes of the law table."""
    successors = derive_successors(source.upper)
    law_of = {retired.code: retired.law for retired in RETIRED_REGENCIES}
    # A province created by a split law, and the regencies renumbered into it, exist from the day
    # the law took effect. Their districts and villages get no date: some may be younger.
    created_on: dict[str, dt.date] = {}
    for old, new in successors.items():
        created_on[new] = law_of[old].enacted_on
        created_on.setdefault(new.split(".")[0], law_of[old].enacted_on)

    rows = [
        _row(code, name, source=source.label, valid_from=created_on.get(code))
        for code, name in sorted(source.upper.items(), key=lambda item: (item[0].count("."), item[0]))
    ]
    wanted = set(village_provinces) if village_provinces is not None else None
    rows.extend(
        _row(code, name, source=source.label, postal_code=source.postal_codes.get(code))
        for code, name in sorted(source.villages.items())
        if wanted is None or code[:2] in wanted
    )
    for retired in RETIRED_REGENCIES:
        if retired.code in source.upper:
            raise InvalidState(
                f"Retired code {retired.code} is in force again in {source.label}; update the law table."
            )
        rows.append(
            _row(
                retired.code,
                retired_regency_full_name(retired),
                source=retired.law.citation,
                valid_to=retired.law.enacted_on,
                successor_code=successors[retired.code],
            )
        )
    return rows


def load_regions(
    session: Session,
    *,
    village_provinces: Collection[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    today: dt.date | None = None,
    actor: Principal | None = None,
) -> RegionLoadReport:
    """Bring the ``regions`` table in line with the installed Kemendagri list (idempotent).

    Loads all provinces, regencies/cities and districts, the villages of ``village_provinces``
    (all villages when ``None``), and the retired codes of ``ektp.regions.retired``. New codes are
    inserted, changed ones updated, and codes that vanished from the list are marked retired
    (``valid_to`` = ``today``, default today in WIB) rather than deleted; villages of provinces
    outside ``village_provinces`` are left as they are. Writes in bulk (core executemany in chunks),
    never one ORM object per row. ``progress(done, total)`` is called after each chunk. When
    ``actor`` is given, one audit row summarises the load. Does not commit.
    """
    started = time.perf_counter()
    source = read_source()
    provinces = _normalise_village_provinces(village_provinces, source.upper)
    report = RegionLoadReport(source=source.label, village_provinces=provinces)
    retired_on = today or today_wib()

    desired = _desired_rows(source, provinces)
    existing = repository.all_rows(session) if _table_has_rows(session) else {}
    curated = {retired.code for retired in RETIRED_REGENCIES}

    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for row in desired:
        counts = report.levels[row["level"]]
        before = existing.get(row["code"])
        if before is None:
            inserts.append(row)
            if row["valid_to"] is None:
                counts.inserted += 1
            else:
                counts.retired += 1
        elif before != tuple(row[name] for name in repository.LOAD_COLUMNS):
            updates.append(row)
            counts.updated += 1
        else:
            counts.unchanged += 1

    desired_codes = {row["code"] for row in desired}
    village_scope = set(provinces) if provinces is not None else None
    for code, before in existing.items():
        level, valid_to = before[3], before[8]
        if code in desired_codes or code in curated or valid_to is not None:
            continue
        if level == 4 and village_scope is not None and code[:2] not in village_scope:
            continue
        updates.append({"code": code, "valid_to": retired_on})
        report.levels[level].retired += 1

    total = len(inserts) + len(updates)
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, total)

    if progress is not None:
        progress(0, total)
    repository.insert_rows(session, inserts, on_chunk=advance)
    repository.update_rows(session, updates, on_chunk=advance)
    session.expire_all()
    report.seconds = time.perf_counter() - started

    if actor is not None and (inserts or updates):
        from ektp.audit.service import record

        record(
            session,
            actor=actor,
            action="regions.load",
            entity_type="region_list",
            entity_id=source.label,
            before=None,
            after=report.as_dict(),
        )
    return report


def _table_has_rows(session: Session) -> bool:
    return bool(repository.count_by_level(session, include_historical=True))


# --------------------------------------------------------------------------------------------
# Look-ups


@dataclass(frozen=True)
class RegionResolution:
    """A code looked up. ``region`` is the stored row, or — when ``inferred`` — a row built (not
    stored, not attached to the session) for a district/village under a retired regency by prefix
    mapping. ``successor`` is the end of the successor chain for a historical code."""

    region: Region
    is_historical: bool
    successor: Region | None
    inferred: bool = False

    @property
    def status(self) -> RegionStatus:
        return "historical" if self.is_historical else "current"


def _not_found(code: str) -> NotFound:
    message = f"No region has code {code} (current or historical)."
    return NotFound(message, [FieldProblem(REGION_CODE_FIELD, "exists", message)])


def get_region(session: Session, code: str) -> Region:
    """The stored region with this code (dotted or undotted), current or historical."""
    dotted = normalise_region_code(code)
    region = repository.get(session, dotted)
    if region is None:
        raise _not_found(dotted)
    return region


def _follow_successors(session: Session, region: Region) -> Region | None:
    successor: Region | None = None
    current = region
    seen = {region.code}
    while current.successor_code is not None:
        following = repository.get(session, current.successor_code)
        if following is None or following.code in seen or len(seen) > MAX_SUCCESSOR_CHAIN:
            break
        seen.add(following.code)
        successor = current = following
    return successor


def _infer_under_retired_regency(session: Session, dotted: str) -> Region | None:
    """A district/village code under a retired regency, resolved by prefix mapping (see the
    module docstring: an inference, not a stored fact). ``None`` when it does not apply."""
    if dotted.count(".") < 2:
        return None
    regency = repository.get(session, dotted[:5])
    if regency is None or regency.valid_to is None or regency.successor_code is None:
        return None
    mapped = regency.successor_code + dotted[5:]
    successor = repository.get(session, mapped)
    if successor is None:
        return None
    return Region(
        code=dotted,
        name=successor.name,
        name_search=successor.name_search,
        level=successor.level,
        kind=region_kind(dotted),
        parent_code=parent_of(dotted),
        postal_code=successor.postal_code,
        valid_from=None,
        valid_to=regency.valid_to,
        successor_code=mapped,
        source=f"inferred from {regency.code} → {regency.successor_code} ({regency.source})",
    )


def resolve_region(session: Session, code: str) -> RegionResolution:
    """Look a code up, current or historical, following successors to the region in force.

    Raises ``ValidationFailed`` (field ``region_code``) for a malformed code and ``NotFound`` for
    a code no region ever had."""
    dotted = normalise_region_code(code)
    region = repository.get(session, dotted)
    inferred = False
    if region is None:
        region = _infer_under_retired_regency(session, dotted)
        if region is None:
            raise _not_found(dotted)
        inferred = True
    successor = _follow_successors(session, region) if region.valid_to is not None else None
    return RegionResolution(
        region=region, is_historical=region.valid_to is not None, successor=successor, inferred=inferred
    )


def region_status(session: Session, code: str) -> RegionStatus:
    """ "current", "historical" or "unknown". A malformed code raises ``ValidationFailed``."""
    try:
        return resolve_region(session, code).status
    except NotFound:
        return "unknown"


def region_lookup(session: Session) -> Callable[[str], RegionStatus]:
    """A status function for validators that check many codes (the NIK validator): loads every
    province, regency and district code once, then answers from memory. Malformed codes are
    "unknown" here (the caller reports the format). Village codes (rare in this use) are looked
    up in ``session`` on first use and cached, so the session must outlive the function."""
    validity = repository.upper_level_validity(session)
    retired_prefixes = {
        code: region.successor_code
        for code, region in repository.retired_prefix_successors(session).items()
        if region.successor_code is not None
    }
    villages: dict[str, RegionStatus] = {}

    def lookup(code: str) -> RegionStatus:
        try:
            dotted = normalise_region_code(code)
        except ValidationFailed:
            return "unknown"
        if dotted.count(".") == 3:
            if dotted not in villages:
                villages[dotted] = region_status(session, dotted)
            return villages[dotted]
        if dotted in validity:
            return "current" if validity[dotted] is None else "historical"
        successor_prefix = retired_prefixes.get(dotted[:5])
        if successor_prefix is not None and successor_prefix + dotted[5:] in validity:
            return "historical"
        return "unknown"

    return lookup


def list_children(session: Session, code: str | None, *, include_historical: bool = False) -> list[Region]:
    """Direct children of a region by code order; ``None`` gives the provinces. Retired codes are
    left out unless ``include_historical`` (e.g. the regencies Papua had before 2022). Districts of
    a retired regency are not stored (see the module docstring), so a retired regency has none."""
    if code is None:
        return repository.children(session, None, include_historical=include_historical)
    parent = get_region(session, code)
    return repository.children(session, parent.code, include_historical=include_historical)


def search_regions(
    session: Session,
    query: str,
    *,
    level: int | None = None,
    parent: str | None = None,
    limit: int = 20,
    include_historical: bool = False,
) -> list[Region]:
    """Regions whose name contains ``query`` (case, accents and punctuation ignored), best first:
    exact name, name prefix, word prefix, anywhere; then larger regions first. ``parent`` keeps
    results inside that region (any depth). Note the names carry their kind ("Kota Bandung"), so
    "bandung" finds both Kota and Kabupaten Bandung."""
    normalised = normalise_region_name(query)
    if len(normalised) < SEARCH_MIN_LENGTH:
        raise invalid(
            "q", "min_length", f"search text must hold at least {SEARCH_MIN_LENGTH} letters or digits"
        )
    if level is not None and not 1 <= level <= 4:
        raise invalid(
            "level", "range", "level must be 1 (province), 2 (regency/city), 3 (district) or 4 (village)"
        )
    if not 1 <= limit <= SEARCH_MAX_LIMIT:
        raise invalid("limit", "range", f"limit must be between 1 and {SEARCH_MAX_LIMIT}")
    within = None
    if parent is not None:
        within = normalise_region_code(parent, field="parent")
        if repository.get(session, within) is None:
            message = f"No region has code {within}."
            raise NotFound(message, [FieldProblem("parent", "exists", message)])
    return repository.search(
        session, normalised, level=level, within=within, include_historical=include_historical, limit=limit
    )


def region_counts(session: Session, *, include_historical: bool = False) -> dict[int, int]:
    """Number of regions per level (current only unless ``include_historical``)."""
    return repository.count_by_level(session, include_historical=include_historical)
