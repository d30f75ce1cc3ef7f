"""Synthetic population: residents and families (KK) that look like an Indonesian register.

A pure, seeded, vectorised (numpy) generator; no ORM, no database. It streams
:class:`PopulationChunk` objects of column arrays, so a million residents never exist as Python
objects at once; :mod:`ektp.simulate.load` writes them to the database.

How one chunk is made (all steps vectorised over the chunk):

1. **People.** Ages from the 2020 census pyramid (5-year bands), sex (≈ 50/50, more women among
   the old), marital status by age and sex. Married women are paired with as many men chosen by
   the men's marriage rates, by age rank, so husbands are a few years older.
2. **Households.** Each couple is a family (husband as head); widowed and divorced people head
   their own family or, when old, live with a child's family (ORANG TUA / MERTUA); never-married
   adults mostly stay with their parents. Children are placed in a family whose younger parent was
   17–44 (mostly around 28) at their birth; a few live with grandparents (CUCU) or relatives.
3. **Place and faith.** Each family gets a province (weighted by BRIEF §7 populations), a village
   (kelurahan and cities weigh more), a religion (provincial shares: Bali is Hindu, NTT Catholic
   and Protestant, Sulawesi Utara and Papua Protestant) and a naming culture (Sundanese in Jawa
   Barat, Batak in Sumatera Utara, ...).
4. **Identity.** Names per culture and generation (see :mod:`ektp.simulate.names`), old
   spellings for older people, abbreviations on pre-2022 records, the 2022 rules on newer ones;
   NIK from the district of first issue (usually the family's; people who moved keep the NIK of
   where they were first registered), birth date and sex, with serials unique per 12-digit
   prefix, also across chunks and against numbers already in the database
   (:class:`SerialCounter`); KK numbers from the district and date of issue, with a history of
   editions (new number after a move or a change of head).
5. **The rest.** Occupation by age, sex and town/country; blood type (mostly unknown); a few
   foreigners (WNA) with permanent-stay permits; addresses (JL., PERUM, DUSUN, KP.) with RT/RW;
   the date each record was created (``recorded_on``; most before 2022).

Same seed, same arguments → same output. Every figure used is in :mod:`ektp.simulate.data`.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ektp.kit.errors import FieldProblem, ValidationFailed, invalid
from ektp.simulate import data
from ektp.simulate.names import (
    ABBREVIATED,
    BALINESE_ORDER_FEMALE,
    BALINESE_ORDER_MALE,
    BALINESE_TITLES,
    CHINESE_CLANS,
    CHINESE_SYLLABLES,
    CULTURE_INDEX,
    CULTURES,
    HAMLETS,
    HOUSING,
    MIDDLE_FROM_YEAR,
    OPENERS,
    STREETS,
    YOUNG_FROM_YEAR,
    Culture,
    old_spelling,
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
DateArray = npt.NDArray[np.datetime64]
ObjArray = npt.NDArray[np.object_]

#: The day the synthetic register is "as of": every date generated is on or before it. Fixed (not
#: today) so that a seed always gives the same population.
REFERENCE_DATE = dt.date(2025, 12, 31)
DEFAULT_CHUNK_SIZE = 100_000
#: The day the 2022 name rules start to apply (records created on or after it).
NAME_RULES_FROM = dt.date(2022, 1, 1)
NAME_RULES_MAX = 60

# Relations, as stored (values of ektp.population.codes.FamilyRelation).
HEAD, SPOUSE, CHILD, GRANDCHILD, PARENT, PARENT_IN_LAW, RELATIVE = range(7)
RELATIONS = ("KEPALA_KELUARGA", "ISTRI", "ANAK", "CUCU", "ORANG_TUA", "MERTUA", "FAMILI_LAIN")
MARITAL = ("BELUM_KAWIN", "KAWIN", "CERAI_HIDUP", "CERAI_MATI")
NEVER, MARRIED, DIVORCED, WIDOWED = range(4)
SEX = ("L", "P")

#: Most children listed on one family card.
MAX_CHILDREN = 8
#: Share of foreigners (WNA with a permanent-stay permit) among residents.
FOREIGNER_SHARE = 0.0005
#: Chance that a NIK was first issued in another district than the family's, by relation.
ISSUED_ELSEWHERE = {
    HEAD: 0.06,
    SPOUSE: 0.20,
    CHILD: 0.01,
    GRANDCHILD: 0.05,
    PARENT: 0.3,
    PARENT_IN_LAW: 0.3,
    RELATIVE: 0.3,
}
#: Of those, the share whose first district is in the same province (the rest: anywhere).
ELSEWHERE_SAME_PROVINCE = 0.8
#: Families whose KK was re-printed with the same number after a member change / that changed
#: number after a move to another district.
KK_MEMBER_CHANGE = 0.35
KK_MOVED = 0.08
#: The SIAK register (16-digit NIK and KK) was filled between these years; earlier families got
#: their first KK in this window.
REGISTER_FROM = dt.date(2007, 1, 1)
REGISTER_TO = dt.date(2012, 12, 31)


# ------------------------------------------------------------------------------------------------
# Regions


def birth_place_label(regency_name: str) -> str:
    """The birth place written on a card for a regency: "Kabupaten Bandung" → "BANDUNG",
    "Kota Administrasi Jakarta Selatan" → "JAKARTA"."""
    name = regency_name.upper().strip()
    for prefix in ("KABUPATEN ADMINISTRASI ", "KOTA ADMINISTRASI ", "KABUPATEN ", "KOTA "):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    if name.startswith("JAKARTA"):
        name = "JAKARTA"
    cleaned = "".join(ch if ch.isalpha() or ch == " " else " " for ch in name)
    return " ".join(cleaned.split())[:60]


def _district_int(code: str) -> int:
    """ "32.04.05" (or a village code under it) → 320405."""
    parts = code.split(".")
    return int(parts[0]) * 10_000 + int(parts[1]) * 100 + int(parts[2])


@dataclass(frozen=True)
class RegionPool:
    """Where the synthetic people can live (villages) and where NIKs can have been issued
    (districts). Build it from the database (``ektp.simulate.load.region_pool``: only villages
    that exist there) or from the packaged list (:meth:`from_source`)."""

    #: Dotted village codes, grouped by province.
    village_codes: npt.NDArray[np.str_]
    #: District of each village as an int (320405).
    village_district: IntArray
    village_weight: FloatArray
    #: Kelurahan (urban village) or in an all-urban province.
    village_urban: BoolArray
    #: Province code → [start, stop) into the village arrays.
    province_villages: Mapping[str, tuple[int, int]]
    #: Every known district as an int, sorted (for NIKs issued elsewhere).
    districts: IntArray
    #: Province int (32) → [start, stop) into ``districts``.
    province_districts: Mapping[int, tuple[int, int]]
    #: Regency int (3204) → birth place label.
    birth_places: Mapping[int, str]

    @property
    def provinces(self) -> tuple[str, ...]:
        return tuple(sorted(self.province_villages))

    @classmethod
    def build(
        cls, *, villages: Iterable[str], regencies: Mapping[str, str], districts: Iterable[str]
    ) -> RegionPool:
        """From dotted village codes, regency code → name, and dotted district codes."""
        codes = sorted(set(villages))
        if not codes:
            raise invalid("province", "no_villages", "no villages to place residents in: load villages first")
        village_codes = np.array(codes, dtype=np.str_)
        province_of = np.array([code[:2] for code in codes])
        village_district = np.array([_district_int(code) for code in codes], dtype=np.int64)
        regency_number = village_district // 100
        urban = np.array([code.split(".")[3][0] == "1" for code in codes], dtype=bool)
        urban |= np.isin(province_of, list(data.URBAN_PROVINCES))
        weight = np.where(urban, data.KELURAHAN_WEIGHT, 1.0) * np.where(
            regency_number % 100 >= 71, data.KOTA_WEIGHT, 1.0
        )
        province_villages: dict[str, tuple[int, int]] = {}
        for province in np.unique(province_of):
            index = np.flatnonzero(province_of == province)
            province_villages[str(province)] = (int(index[0]), int(index[-1]) + 1)
        district_ints = np.array(
            sorted({_district_int(code) for code in districts} | set(village_district.tolist())),
            dtype=np.int64,
        )
        province_districts: dict[int, tuple[int, int]] = {}
        district_province = district_ints // 10_000
        for province_number in np.unique(district_province):
            index = np.flatnonzero(district_province == province_number)
            province_districts[int(province_number)] = (int(index[0]), int(index[-1]) + 1)
        birth_places = {
            int(code[:2]) * 100 + int(code[3:5]): birth_place_label(name)
            for code, name in regencies.items()
            if len(code) == 5
        }
        return cls(
            village_codes=village_codes,
            village_district=village_district,
            village_weight=weight.astype(np.float64),
            village_urban=urban,
            province_villages=province_villages,
            districts=district_ints,
            province_districts=province_districts,
            birth_places=birth_places,
        )

    @classmethod
    def from_source(cls, provinces: Collection[str] | None = None) -> RegionPool:
        """From the packaged Kemendagri list (no database), villages of ``provinces`` (all: None)."""
        from ektp.regions.source import read_source

        source = read_source()
        wanted = set(provinces) if provinces is not None else None
        villages = [code for code in source.villages if wanted is None or code[:2] in wanted]
        regencies = {code: name for code, name in source.upper.items() if len(code) == 5}
        districts = [code for code in source.upper if len(code) == 8]
        return cls.build(villages=villages, regencies=regencies, districts=districts)


# ------------------------------------------------------------------------------------------------
# Serial numbers


@dataclass
class SerialCounter:
    """The highest serial used per 12-digit prefix (NIK: district + DDMMYY with the female offset;
    KK: district + issue date), as sorted parallel arrays. Serials continue across chunks and
    after the numbers already stored, so every number generated is new."""

    label: str
    keys: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    highest: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @classmethod
    def from_numbers(cls, label: str, numbers: Iterable[str]) -> SerialCounter:
        """Seed from existing 16-digit numbers (others are ignored)."""
        values = np.array(
            [int(number) for number in numbers if len(number) == 16 and number.isdigit()], dtype=np.int64
        )
        counter = cls(label)
        if values.size:
            prefixes = values // 10_000
            serials = values % 10_000
            order = np.lexsort((serials, prefixes))
            prefixes, serials = prefixes[order], serials[order]
            last = np.r_[prefixes[1:] != prefixes[:-1], True]
            counter.keys = prefixes[last]
            counter.highest = serials[last]
        return counter

    def __len__(self) -> int:
        return int(self.keys.size)

    def assign(self, prefixes: IntArray) -> IntArray:
        """Next free serials for ``prefixes`` (12-digit ints), in order of appearance."""
        if prefixes.size == 0:
            return np.zeros(0, dtype=np.int64)
        order = np.argsort(prefixes, kind="stable")
        ordered = prefixes[order]
        unique, starts, counts = np.unique(ordered, return_index=True, return_counts=True)
        rank = np.arange(ordered.size) - np.repeat(starts, counts)
        position = np.searchsorted(self.keys, unique)
        found = position < self.keys.size
        found[found] = self.keys[position[found]] == unique[found]
        base = np.zeros(unique.size, dtype=np.int64)
        base[found] = self.highest[position[found]]
        serial_sorted = np.repeat(base, counts) + rank + 1
        if serial_sorted.size and int(serial_sorted.max()) > 9999:
            worst = int(unique[np.argmax(base + counts)])
            raise ValidationFailed(
                f"{self.label} serials exhausted",
                [
                    FieldProblem(
                        "serial",
                        "range",
                        f"more than 9999 {self.label} numbers share the prefix {worst:012d}",
                    )
                ],
            )
        serials = np.empty_like(serial_sorted)
        serials[order] = serial_sorted
        new_highest = base + counts
        self.highest[position[found]] = new_highest[found]
        if not found.all():
            keys = np.concatenate([self.keys, unique[~found]])
            highest = np.concatenate([self.highest, new_highest[~found]])
            resort = np.argsort(keys, kind="stable")
            self.keys, self.highest = keys[resort], highest[resort]
        return serials


# ------------------------------------------------------------------------------------------------
# Output


@dataclass(frozen=True)
class IdStart:
    """First id to use per table (ids are assigned here so rows can refer to each other)."""

    resident: int = 1
    family: int = 1
    member: int = 1
    kk_history: int = 1


Table = dict[str, Any]


@dataclass
class PopulationChunk:
    """Column arrays of one chunk, ready for bulk insert. Dates are ``datetime64[D]`` arrays (NaT for
    missing), ids and codes ints or strings, names lists of ``str``."""

    index: int
    residents: Table
    families: Table
    members: Table
    kk_history: Table

    @property
    def resident_count(self) -> int:
        return len(self.residents["id"])

    @property
    def family_count(self) -> int:
        return len(self.families["id"])

    def rows(self, table: str) -> list[dict[str, Any]]:
        """One dict per row with Python values (``dt.date``/None): convenient for small batches and
        tests; the bulk loader reads the columns directly."""
        columns: Table = getattr(self, table)
        converted: dict[str, list[Any]] = {}
        for name, column in columns.items():
            if isinstance(column, np.ndarray) and column.dtype.kind == "M":
                values = column.astype("datetime64[D]").astype(object).tolist()
                converted[name] = [None if value is None else value for value in values]
            elif isinstance(column, np.ndarray):
                converted[name] = column.tolist()
            else:
                converted[name] = list(column)
        names = list(converted)
        return [dict(zip(names, values, strict=True)) for values in zip(*converted.values(), strict=True)]


RESIDENT_COLUMNS = (
    "id", "nik", "full_name", "name_search", "birth_place", "birth_date", "sex", "religion",
    "marital_status", "blood_type", "occupation", "citizenship", "permit_expiry", "street", "rt",
    "rw", "village_code", "district_code", "regency_code", "province_code", "life_status",
    "recorded_on", "family_id",
)  # fmt: skip
FAMILY_COLUMNS = ("id", "kk_number", "head_resident_id", "street", "rt", "rw", "village_code")
MEMBER_COLUMNS = ("id", "family_id", "resident_id", "relation", "joined_on")
KK_HISTORY_COLUMNS = ("id", "family_id", "kk_number", "valid_from", "valid_to", "reason")


# ------------------------------------------------------------------------------------------------
# Small vectorised helpers


def _zipf(size: int, exponent: float = 0.8) -> FloatArray:
    weights: FloatArray = 1.0 / np.arange(1, size + 1, dtype=np.float64) ** exponent
    normalised: FloatArray = weights / weights.sum()
    return normalised


def _date_parts(days: DateArray) -> tuple[IntArray, IntArray, IntArray]:
    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    months_since = days.astype("datetime64[M]")
    months = months_since.astype(np.int64) % 12 + 1
    day = (days - months_since.astype("datetime64[D]")).astype(np.int64) + 1
    return years, months, day


def _age_on(birth: DateArray, on: dt.date) -> IntArray:
    years, months, days = _date_parts(birth)
    age = on.year - years
    before = (months > on.month) | ((months == on.month) & (days > on.day))
    result: IntArray = age - before.astype(np.int64)
    return result


def _by_band(values: IntArray, edges: tuple[int, ...], shares: tuple[float, ...]) -> FloatArray:
    """Look up ``shares[i]`` for ``edges[i] <= value < edges[i+1]`` (0 below the first edge)."""
    index = np.searchsorted(np.asarray(edges), values, side="right") - 1
    table = np.asarray((*shares, 0.0), dtype=np.float64)
    return np.where(index >= 0, table[np.clip(index, 0, len(shares))], 0.0)


def _random_days(rng: np.random.Generator, start: DateArray, stop: DateArray) -> DateArray:
    """Uniform day in [start, stop] (stop < start gives start)."""
    span = np.maximum((stop - start).astype(np.int64), 0)
    result: DateArray = start + (rng.random(span.size) * (span + 1)).astype(np.int64).astype("timedelta64[D]")
    return result


def _pick_in_sorted(
    rng: np.random.Generator, sorted_keys: IntArray, low: IntArray, high: IntArray
) -> tuple[IntArray, BoolArray]:
    """For each [low, high] key range, a random position in ``sorted_keys`` inside it."""
    lo = np.searchsorted(sorted_keys, low, side="left")
    hi = np.searchsorted(sorted_keys, high, side="right")
    ok = hi > lo
    position = lo + (rng.random(low.size) * np.maximum(hi - lo, 1)).astype(np.int64)
    return np.minimum(position, max(sorted_keys.size - 1, 0)), ok


def _fast_search_key(name: str) -> str:
    """``ektp.population.names.search_key`` for the names generated here (A–Z, space and '.')."""
    return " ".join(name.replace(".", " ").split())


# ------------------------------------------------------------------------------------------------
# Generator


@dataclass(frozen=True)
class _Context:
    pool: RegionPool
    provinces: tuple[str, ...]
    province_weights: FloatArray
    reference: dt.date
    religion_tables: FloatArray
    culture_tables: dict[tuple[int, int], tuple[IntArray, FloatArray]]
    occupation_labels: tuple[str, ...]
    occupation_tables: FloatArray


def _context(pool: RegionPool, provinces: tuple[str, ...], reference: dt.date) -> _Context:
    weights = np.array(
        [data.PROVINCE_POPULATION.get(code, 1_000_000) for code in provinces], dtype=np.float64
    )
    religion_tables = np.array(
        [np.array(data.RELIGION_BY_PROVINCE.get(code, data.NATIONAL_RELIGION)) for code in provinces],
        dtype=np.float64,
    )
    religion_tables /= religion_tables.sum(axis=1, keepdims=True)
    culture_tables: dict[tuple[int, int], tuple[IntArray, FloatArray]] = {}
    for p_index, code in enumerate(provinces):
        for r_index, religion in enumerate(data.RELIGIONS):
            mix = data.culture_weights(code, religion)
            cultures = np.array([CULTURE_INDEX[key] for key in mix], dtype=np.int64)
            shares = np.array(list(mix.values()), dtype=np.float64)
            culture_tables[(p_index, r_index)] = (cultures, shares / shares.sum())
    labels = tuple(label for label, *_ in data.OCCUPATIONS)
    # rows: (sex, urban) → weights over labels
    tables = np.zeros((2, 2, len(labels)))
    for index, (_, men, women, rural) in enumerate(data.OCCUPATIONS):
        for sex, base in ((0, men), (1, women)):
            tables[sex, 0, index] = base * rural
            tables[sex, 1, index] = base / rural
    tables /= tables.sum(axis=2, keepdims=True)
    return _Context(
        pool, provinces, weights / weights.sum(), reference, religion_tables, culture_tables, labels, tables
    )


def _validate(
    pool: RegionPool, *, size: int, provinces: Collection[str] | None, chunk_size: int
) -> tuple[str, ...]:
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise invalid("size", "range", f"size must be a whole number of at least 1, got {size!r}")
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
        raise invalid(
            "chunk_size", "range", f"chunk_size must be a whole number of at least 1, got {chunk_size!r}"
        )
    if provinces is None:
        chosen = pool.provinces
    else:
        chosen = tuple(sorted({str(code).strip() for code in provinces}))
        if not chosen:
            raise invalid("province", "required", "at least one province is needed")
        for code in chosen:
            if len(code) != 2 or not code.isdigit():
                raise invalid(
                    "province", "format", f"province must be a 2-digit Kemendagri code like 32, got {code!r}"
                )
            if code not in data.PROVINCE_POPULATION:
                raise invalid("province", "unknown", f"province {code} is not a Kemendagri province code")
            if code not in pool.province_villages:
                raise invalid("province", "no_villages", f"no villages of province {code} are loaded")
    return chosen


def generate_population(
    pool: RegionPool,
    *,
    size: int,
    seed: int,
    provinces: Collection[str] | None = None,
    reference_date: dt.date = REFERENCE_DATE,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    ids: IdStart = IdStart(),  # frozen, never mutated
    nik_serials: SerialCounter | None = None,
    kk_serials: SerialCounter | None = None,
) -> Iterator[PopulationChunk]:
    """Stream ``size`` residents with their families, ``chunk_size`` residents per chunk.

    ``provinces``: where the families live (default: every province of ``pool``, weighted by
    population). ``nik_serials`` / ``kk_serials``: counters seeded from numbers already stored,
    so that none is generated twice (fresh ones when omitted). The same arguments always give the
    same population."""
    chosen = _validate(pool, size=size, provinces=provinces, chunk_size=chunk_size)
    context = _context(pool, chosen, reference_date)
    nik_counter = nik_serials if nik_serials is not None else SerialCounter("NIK")
    kk_counter = kk_serials if kk_serials is not None else SerialCounter("KK")
    sequence = np.random.SeedSequence(seed)
    next_ids = [ids.resident, ids.family, ids.member, ids.kk_history]
    done = 0
    index = 0
    while done < size:
        count = min(chunk_size, size - done)
        (child_seed,) = sequence.spawn(1)
        rng = np.random.default_rng(child_seed)
        chunk = _generate_chunk(rng, count, context, index, next_ids, nik_counter, kk_counter)
        next_ids = [
            next_ids[0] + chunk.resident_count,
            next_ids[1] + chunk.family_count,
            next_ids[2] + len(chunk.members["id"]),
            next_ids[3] + len(chunk.kk_history["id"]),
        ]
        done += count
        index += 1
        yield chunk


def _generate_chunk(
    rng: np.random.Generator,
    n: int,
    ctx: _Context,
    chunk_index: int,
    next_ids: list[int],
    nik_counter: SerialCounter,
    kk_counter: SerialCounter,
) -> PopulationChunk:
    reference = ctx.reference
    ref = np.datetime64(reference, "D")

    # 1. People ------------------------------------------------------------------------------
    bands = np.asarray(data.AGE_BANDS, dtype=np.float64)
    band = rng.choice(bands.size, size=n, p=bands / bands.sum())
    within = rng.random(n)
    age_float = band * 5.0 + within * 5.0
    oldest = band == bands.size - 1
    span = data.MAX_AGE - 80
    age_float[oldest] = 80.0 + span * (1.0 - np.sqrt(1.0 - within[oldest]))
    birth = ref - np.floor(age_float * 365.2425).astype(np.int64).astype("timedelta64[D]")
    age = _age_on(birth, reference)
    male_share = np.where(age >= 75, 0.42, np.where(age >= 60, 0.47, data.MALE_SHARE))
    female = rng.random(n) >= male_share
    male = ~female

    marital = np.full(n, NEVER, dtype=np.int64)
    ever_f = _by_band(age, data.EVER_MARRIED_AGES, data.EVER_MARRIED_FEMALE)
    wid_f = _by_band(age, data.WIDOWED_AGES, data.WIDOWED_FEMALE)
    draw = rng.random(n)
    draw2 = rng.random(n)
    ever = female & (draw < ever_f)
    marital[ever & (draw2 < wid_f)] = WIDOWED
    marital[ever & (draw2 >= wid_f) & (draw2 < wid_f + data.DIVORCED_FEMALE)] = DIVORCED
    marital[ever & (draw2 >= wid_f + data.DIVORCED_FEMALE)] = MARRIED
    wives = np.flatnonzero(marital == MARRIED)

    ever_m = _by_band(age, data.EVER_MARRIED_AGES, data.EVER_MARRIED_MALE)
    wid_m = _by_band(age, data.WIDOWED_AGES, data.WIDOWED_MALE)
    current_m = np.where(male & (age >= 18), ever_m * (1.0 - wid_m - data.DIVORCED_MALE), 0.0)
    eligible = np.flatnonzero(current_m > 0)
    if wives.size > eligible.size:
        dropped = rng.choice(wives, size=wives.size - eligible.size, replace=False)
        marital[dropped] = DIVORCED
        wives = np.flatnonzero(marital == MARRIED)
    # Weighted sample without replacement (Efraimidis–Spirakis): the largest log(u)/w.
    keys = np.log(rng.random(eligible.size)) / current_m[eligible]
    husbands = eligible[np.argpartition(-keys, wives.size - 1)[: wives.size]] if wives.size else eligible[:0]
    marital[husbands] = MARRIED
    others = male & (marital == NEVER) & (age >= 18)
    remaining = np.maximum(1.0 - ever_m * (1.0 - wid_m - data.DIVORCED_MALE), 1e-9)
    p_wid = ever_m * wid_m / remaining
    p_div = ever_m * data.DIVORCED_MALE / remaining
    draw3 = rng.random(n)
    marital[others & (draw3 < p_wid)] = WIDOWED
    marital[others & (draw3 >= p_wid) & (draw3 < p_wid + p_div)] = DIVORCED

    # Pair by age rank: husbands' ages blurred so that gaps vary.
    wives = wives[np.argsort(age[wives] + rng.random(wives.size), kind="stable")]
    husbands = husbands[np.argsort(age[husbands] + rng.normal(0.0, 3.0, husbands.size), kind="stable")]

    # 2. Households -----------------------------------------------------------------------------
    relation = np.full(n, -1, dtype=np.int64)
    family = np.full(n, -1, dtype=np.int64)
    couples = wives.size
    relation[husbands] = HEAD
    relation[wives] = SPOUSE
    family[husbands] = np.arange(couples)
    family[wives] = np.arange(couples)

    alone_draw = rng.random(n)
    formerly = (marital == DIVORCED) | (marital == WIDOWED)
    # Old widows and widowers often live with a child's family; younger divorcees often go back to
    # their parents' card.
    dependent_elder = formerly & (age >= 55) & (alone_draw < 0.8)
    back_home = formerly & (age < 50) & (alone_draw < 0.65)
    formerly_heads = np.flatnonzero(formerly & ~dependent_elder & ~back_home)
    stay_share = np.where(age < 25, 0.98, np.where(age < 35, 0.92, np.where(age < 50, 0.7, 0.25)))
    never_adult = (marital == NEVER) & (age >= 17)
    single_heads = np.flatnonzero(never_adult & (alone_draw >= stay_share))
    heads_rest = np.concatenate([formerly_heads, single_heads])
    relation[heads_rest] = HEAD
    family[heads_rest] = couples + np.arange(heads_rest.size)
    n_families = couples + heads_rest.size

    head_of = np.empty(n_families, dtype=np.int64)
    head_of[:couples] = husbands
    head_of[couples:] = heads_rest
    spouse_of = np.full(n_families, -1, dtype=np.int64)
    spouse_of[:couples] = wives
    key_min = age[head_of].copy()
    key_max = age[head_of].copy()
    key_min[:couples] = np.minimum(age[husbands], age[wives])
    key_max[:couples] = np.maximum(age[husbands], age[wives])
    # Families that can have children: couples and the formerly married.
    parent_families = np.arange(couples + formerly_heads.size)

    unplaced = np.flatnonzero(relation < 0)
    is_child = age[unplaced] < 17
    kid_draw = rng.random(unplaced.size)
    to_grandparents = is_child & (kid_draw < 0.04)
    to_relatives = ~is_child & (marital[unplaced] == NEVER) & (kid_draw < 0.02)
    elders = dependent_elder[unplaced]
    as_child = ~(to_grandparents | to_relatives | elders)

    # Children: a family whose younger parent was ~28 (17–44) at the birth.
    if parent_families.size:
        order = np.argsort(key_min[parent_families] + rng.random(parent_families.size) * 0.5, kind="stable")
        sorted_families = parent_families[order]
        sorted_keys = key_min[sorted_families]
        kids = unplaced[as_child]
        target = age[kids] + np.clip(np.rint(rng.normal(28.0, 5.5, kids.size)), 17, 44).astype(np.int64)
        position, ok = _pick_in_sorted(rng, sorted_keys, target, target)
        position2, ok2 = _pick_in_sorted(rng, sorted_keys, age[kids] + 17, age[kids] + 44)
        position = np.where(ok, position, position2)
        ok = ok | ok2
        position3, ok3 = _pick_in_sorted(rng, sorted_keys, age[kids] + 16, np.full(kids.size, 10_000))
        position = np.where(ok, position, position3)
        placed = ok | ok3
        family[kids[placed]] = sorted_families[position[placed]]
        relation[kids[placed]] = CHILD
        # At most MAX_CHILDREN children per card: the oldest beyond that are placed otherwise.
        excess = _beyond_rank(kids[placed], family, age, MAX_CHILDREN)
        relation[excess] = -1
        family[excess] = -1
        # Grandchildren.
        grandkids = unplaced[to_grandparents]
        position, ok = _pick_in_sorted(rng, sorted_keys, age[grandkids] + 38, age[grandkids] + 75)
        family[grandkids[ok]] = sorted_families[position[ok]]
        relation[grandkids[ok]] = GRANDCHILD
    # Widowed/divorced elders with a child's family: one whose older member is ~28 years younger.
    if n_families:
        order = np.argsort(key_max + rng.random(n_families) * 0.5, kind="stable")
        sorted_keys = key_max[order]
        old = unplaced[elders]
        target = age[old] - np.clip(np.rint(rng.normal(28.0, 6.0, old.size)), 18, 45).astype(np.int64)
        position, ok = _pick_in_sorted(rng, sorted_keys, target - 3, target + 3)
        family[old[ok]] = order[position[ok]]
        relation[old[ok]] = np.where(rng.random(int(ok.sum())) < 0.6, PARENT, PARENT_IN_LAW)
        # Relatives (nephews, cousins) anywhere; and anyone still unplaced.
        rest = np.flatnonzero(relation < 0)
        children_left = rest[age[rest] < 17]
        adults_left = rest[age[rest] >= 17]
        family[children_left] = rng.integers(0, n_families, children_left.size)
        relation[children_left] = RELATIVE
        # Young never-married adults with nowhere else to go live with relatives; from 35 on they
        # head their own card (below).
        relatives = adults_left[
            (marital[adults_left] == NEVER) & ~dependent_elder[adults_left] & (age[adults_left] < 35)
        ]
        family[relatives] = rng.integers(0, n_families, relatives.size)
        relation[relatives] = RELATIVE
    loners = np.flatnonzero(relation < 0)
    if loners.size:
        # Only in tiny chunks: people with nobody to live with head their own family.
        relation[loners] = HEAD
        family[loners] = n_families + np.arange(loners.size)
        head_of = np.concatenate([head_of, loners])
        spouse_of = np.concatenate([spouse_of, np.full(loners.size, -1, dtype=np.int64)])
        n_families += loners.size

    # 3. Place, faith, culture --------------------------------------------------------------------
    pool = ctx.pool
    fam_province = rng.choice(len(ctx.provinces), size=n_families, p=ctx.province_weights)
    fam_village = np.empty(n_families, dtype=np.int64)
    fam_religion = np.empty(n_families, dtype=np.int64)
    fam_culture = np.empty(n_families, dtype=np.int64)
    spouse_alt_culture = np.empty(n_families, dtype=np.int64)
    for p_index, code in enumerate(ctx.provinces):
        in_province = np.flatnonzero(fam_province == p_index)
        if not in_province.size:
            continue
        start, stop = pool.province_villages[code]
        cumulative = np.cumsum(pool.village_weight[start:stop])
        pick = np.searchsorted(cumulative, rng.random(in_province.size) * cumulative[-1], side="right")
        fam_village[in_province] = start + np.minimum(pick, stop - start - 1)
        fam_religion[in_province] = rng.choice(
            len(data.RELIGIONS), size=in_province.size, p=ctx.religion_tables[p_index]
        )
        for r_index in range(len(data.RELIGIONS)):
            group = in_province[fam_religion[in_province] == r_index]
            if group.size:
                cultures, shares = ctx.culture_tables[(p_index, r_index)]
                fam_culture[group] = cultures[rng.choice(cultures.size, size=group.size, p=shares)]
                spouse_alt_culture[group] = cultures[rng.choice(cultures.size, size=group.size, p=shares)]

    person_family = family
    culture = fam_culture[person_family]
    spouses = np.flatnonzero(relation == SPOUSE)
    mixed = rng.random(spouses.size) < 0.12
    culture[spouses[mixed]] = spouse_alt_culture[person_family[spouses[mixed]]]
    in_laws = np.flatnonzero(relation == PARENT_IN_LAW)
    in_law_spouse = spouse_of[person_family[in_laws]]
    has_spouse = in_law_spouse >= 0
    culture[in_laws[has_spouse]] = culture[in_law_spouse[has_spouse]]
    religion = fam_religion[person_family]

    # Foreigners with a permanent-stay permit: some single heads and spouses.
    single_head = np.zeros(n, dtype=bool)
    single_head[single_heads] = True
    candidates = np.flatnonzero(((relation == SPOUSE) | single_head) & (age >= 21))
    wanted = round(n * FOREIGNER_SHARE + rng.random())
    foreign = np.zeros(n, dtype=bool)
    if candidates.size and wanted:
        foreign[rng.choice(candidates, size=min(wanted, candidates.size), replace=False)] = True
    culture[foreign] = CULTURE_INDEX["foreign"]

    # 4. Dates: records, KK editions, membership --------------------------------------------------
    register_from = np.datetime64(REGISTER_FROM, "D")
    register_to = np.datetime64(REGISTER_TO, "D")
    fam_registered = _random_days(rng, np.full(n_families, register_from), np.full(n_families, register_to))
    registered = fam_registered[person_family]
    delay_span = np.minimum((ref - birth).astype(np.int64), 400)
    delay = (rng.random(n) * (delay_span + 1)).astype(np.int64).astype("timedelta64[D]")
    recorded = np.where(birth < registered, registered, birth + delay)
    late = (age >= 17) & (rng.random(n) < 0.04)
    recorded[late] = _random_days(
        rng, np.full(int(late.sum()), np.datetime64("2013-01-01", "D")), np.full(int(late.sum()), ref)
    )
    recorded[foreign] = _random_days(
        rng, np.full(int(foreign.sum()), np.datetime64("2014-01-01", "D")), np.full(int(foreign.sum()), ref)
    )
    recorded = np.minimum(np.maximum(recorded, birth), ref)

    # Family formed: the wedding (wife ~22) or, for others, some time after the head turned 20.
    formed = np.empty(n_families, dtype="datetime64[D]")
    wife_birth = birth[spouse_of[:couples]]
    # Married at ~22 (never after today): a wife younger than her drawn wedding age married
    # some time since she turned 15.
    wife_age = (ref - wife_birth).astype(np.int64) / 365.2425
    wedding_age = np.clip(rng.normal(22.0, 4.0, couples), 16.0, 40.0)
    too_young = wedding_age >= wife_age
    wedding_age[too_young] = 15.0 + rng.random(int(too_young.sum())) * np.maximum(
        wife_age[too_young] - 15.0, 0.0
    )
    formed[:couples] = wife_birth + np.floor(wedding_age * 365.2425).astype(np.int64).astype("timedelta64[D]")
    rest_heads = head_of[couples:]
    adult_from = birth[rest_heads] + np.timedelta64(int(20 * 365.25), "D")
    formed[couples:] = _random_days(rng, adult_from, np.full(rest_heads.size, ref))
    formed = np.minimum(formed, ref)
    first_edition = np.minimum(np.maximum(formed, fam_registered), ref)
    first_reason = np.where(formed > fam_registered, "SPLIT", "ISSUED").astype(object)
    member_change = rng.random(n_families) < KK_MEMBER_CHANGE
    moved = rng.random(n_families) < KK_MOVED
    head_female = female[head_of]
    head_changed = head_female & (rng.random(n_families) < 0.6)
    number_change = moved | head_changed
    second_edition = _random_days(rng, first_edition, np.full(n_families, ref))
    third_edition = _random_days(rng, second_edition, np.full(n_families, ref))
    second_edition = np.where(member_change, second_edition, first_edition)
    change_date = np.where(member_change, third_edition, second_edition)
    number_change &= change_date > second_edition
    number_change &= change_date > first_edition

    # Districts.
    fam_district = pool.village_district[fam_village]
    person_district = fam_district[person_family]
    province_number = person_district // 10_000
    elsewhere_share = np.zeros(n)
    for rel, share in ISSUED_ELSEWHERE.items():
        elsewhere_share[relation == rel] = share
    elsewhere = rng.random(n) < elsewhere_share
    nik_district = person_district.copy()
    movers = np.flatnonzero(elsewhere)
    nik_district[movers] = _other_districts(rng, pool, province_number[movers])
    previous_district = np.where(moved, _other_districts(rng, pool, fam_district // 10_000), fam_district)

    # 5. Identity ---------------------------------------------------------------------------------
    years, months, days = _date_parts(birth)
    nik_prefix = (
        nik_district * 1_000_000 + (days + np.where(female, 40, 0)) * 10_000 + months * 100 + years % 100
    )
    nik_serial = nik_counter.assign(nik_prefix)
    nik_number = nik_prefix * 10_000 + nik_serial
    nik = nik_number.astype(str)

    first_numbered_district = np.where(number_change, previous_district, fam_district)
    kk_first_number = _kk_numbers(kk_counter, first_numbered_district, first_edition)
    kk_current_number = kk_first_number.copy()
    kk_current_number[number_change] = _kk_numbers(
        kk_counter, fam_district[number_change], change_date[number_change]
    )
    kk_first = kk_first_number.astype(str).astype(object)
    kk_current = kk_current_number.astype(str).astype(object)

    full_name = _names(
        rng, ctx, n, culture, female, birth, years, recorded, relation, person_family, head_of, spouse_of
    )
    name_search = np.array(
        [_fast_search_key(name) if "." in name else name for name in full_name], dtype=object
    )

    regency_number = nik_district // 100
    native = rng.random(n) < 0.85
    province_regencies = np.array(sorted(pool.birth_places), dtype=np.int64)
    random_regency = _same_province_regency(rng, province_regencies, regency_number)
    birth_regency = np.where(native, regency_number, random_regency)
    regency_values, regency_inverse = np.unique(birth_regency, return_inverse=True)
    birth_place = np.array(
        [pool.birth_places.get(code, "INDONESIA") for code in regency_values.tolist()], dtype=object
    )[regency_inverse.reshape(-1)]
    foreign_places = (
        "SINGAPURA",
        "TOKYO",
        "SEOUL",
        "BEIJING",
        "SYDNEY",
        "LONDON",
        "BERLIN",
        "MANILA",
        "KUALA LUMPUR",
    )
    for index in np.flatnonzero(foreign):
        birth_place[index] = foreign_places[int(rng.integers(len(foreign_places)))]

    # 6. The rest ---------------------------------------------------------------------------------
    urban = pool.village_urban[fam_village][person_family]
    occupation = _occupations(rng, ctx, age, female, marital, urban)
    blood = _blood_types(rng, n)
    permit_expiry = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    permit_expiry[foreign] = ref + (rng.integers(-180, 5 * 365, int(foreign.sum()))).astype("timedelta64[D]")
    street, rt, rw = _addresses(
        rng, n_families, pool.village_urban[fam_village], np.asarray(ctx.provinces)[fam_province]
    )

    # Ids in the order of the unique numbers (NIK, KK number): the unique indexes then grow at
    # one end instead of taking a random insert per row, which is most of a bulk load's cost.
    order = np.argsort(nik_number, kind="stable")
    resident_ids = np.empty(n, dtype=np.int64)
    resident_ids[order] = next_ids[0] + np.arange(n)
    family_order = np.argsort(kk_current_number, kind="stable")
    family_ids = np.empty(n_families, dtype=np.int64)
    family_ids[family_order] = next_ids[1] + np.arange(n_families)
    # Membership rows as the card lists them: by family, head first, then spouse, children
    # oldest first, then the others.
    relation_rank = np.where(relation == CHILD, 2, relation)
    member_order = np.lexsort((birth, relation_rank, family_ids[person_family]))

    joined = np.maximum(first_edition[person_family], birth)
    late_join = (relation >= GRANDCHILD) | ((relation == SPOUSE) & (rng.random(n) < 0.1))
    joined = np.where(late_join, _random_days(rng, joined, np.full(n, ref)), joined)
    joined = np.minimum(joined, ref)

    village_codes = pool.village_codes[fam_village]
    district_dotted = _dotted(fam_district)
    person_village = village_codes[person_family]

    residents: Table = {
        "id": resident_ids[order],
        "nik": nik[order],
        "full_name": full_name[order],
        "name_search": name_search[order],
        "birth_place": birth_place[order],
        "birth_date": birth[order],
        "sex": np.where(female, "P", "L")[order],
        "religion": np.asarray(data.RELIGIONS)[religion][order],
        "marital_status": np.asarray(MARITAL)[marital][order],
        "blood_type": blood[order],
        "occupation": occupation[order],
        "citizenship": np.where(foreign, "WNA", "WNI")[order],
        "permit_expiry": permit_expiry[order],
        "street": street[person_family][order],
        "rt": rt[person_family][order],
        "rw": rw[person_family][order],
        "village_code": person_village[order],
        "district_code": district_dotted[person_family][order],
        "regency_code": _prefixes(district_dotted, 5)[person_family][order],
        "province_code": _prefixes(district_dotted, 2)[person_family][order],
        "life_status": np.full(n, "ALIVE", dtype=object),
        "recorded_on": recorded[order],
        "family_id": family_ids[person_family][order],
        # Not stored: kept for checks and summaries.
        "nik_district": _dotted(nik_district)[order],
        "relation": np.asarray(RELATIONS)[relation][order],
    }
    families: Table = {
        "id": family_ids[family_order],
        "kk_number": kk_current[family_order],
        "head_resident_id": resident_ids[head_of][family_order],
        "street": street[family_order],
        "rt": rt[family_order],
        "rw": rw[family_order],
        "village_code": village_codes[family_order],
        # Not stored: the date the current number was issued.
        "kk_issued_on": np.where(number_change, change_date, first_edition)[family_order],
    }
    members: Table = {
        "id": next_ids[2] + np.arange(n),
        "family_id": family_ids[person_family][member_order],
        "resident_id": resident_ids[member_order],
        "relation": np.asarray(RELATIONS)[relation][member_order],
        "joined_on": joined[member_order],
    }
    kk_history = _kk_history(
        next_ids[3], family_ids, kk_first, kk_current, first_edition, second_edition, change_date,
        first_reason, member_change, number_change, moved,
    )  # fmt: skip
    return PopulationChunk(chunk_index, residents, families, members, kk_history)


def _beyond_rank(people: IntArray, family: IntArray, age: IntArray, keep: int) -> IntArray:
    """Of ``people``, those beyond the ``keep`` youngest of their family."""
    if not people.size:
        return people
    order = np.lexsort((age[people], family[people]))
    sorted_family = family[people][order]
    positions = np.arange(order.size)
    starts = np.r_[True, sorted_family[1:] != sorted_family[:-1]]
    rank = positions - np.maximum.accumulate(np.where(starts, positions, 0))
    beyond: IntArray = people[order][rank >= keep]
    return beyond


def _dotted(districts: IntArray) -> ObjArray:
    """320405 → "32.04.05" (formatted once per distinct district)."""
    unique, inverse = np.unique(districts, return_inverse=True)
    labels = np.array(
        [f"{d // 10_000:02d}.{d // 100 % 100:02d}.{d % 100:02d}" for d in unique.tolist()], dtype=object
    )
    return labels[inverse.reshape(-1)]


def _prefixes(codes: ObjArray, length: int) -> ObjArray:
    unique, inverse = np.unique(codes.astype(str), return_inverse=True)
    return np.array([code[:length] for code in unique.tolist()], dtype=object)[inverse.reshape(-1)]


def _other_districts(rng: np.random.Generator, pool: RegionPool, province_numbers: IntArray) -> IntArray:
    """A district where someone was first registered before moving: mostly the same province."""
    result = pool.districts[rng.integers(0, pool.districts.size, province_numbers.size)]
    same = rng.random(province_numbers.size) < ELSEWHERE_SAME_PROVINCE
    for province_number in np.unique(province_numbers[same]):
        span = pool.province_districts.get(int(province_number))
        if span is None:
            continue
        rows = np.flatnonzero(same & (province_numbers == province_number))
        result[rows] = pool.districts[rng.integers(span[0], span[1], rows.size)]
    return result


def _same_province_regency(
    rng: np.random.Generator, regencies: IntArray, regency_numbers: IntArray
) -> IntArray:
    result = regency_numbers.copy()
    provinces = regencies // 100
    for province_number in np.unique(regency_numbers // 100):
        choices = regencies[provinces == province_number]
        rows = np.flatnonzero(regency_numbers // 100 == province_number)
        if choices.size:
            result[rows] = choices[rng.integers(0, choices.size, rows.size)]
    return result


def _kk_numbers(counter: SerialCounter, districts: IntArray, issued: DateArray) -> IntArray:
    """KK numbers as 16-digit ints: district, issue date (DDMMYY), serial."""
    years, months, days = _date_parts(issued)
    prefix = districts * 1_000_000 + days * 10_000 + months * 100 + years % 100
    numbers: IntArray = prefix * 10_000 + counter.assign(prefix)
    return numbers


def _kk_history(
    first_id: int,
    family_ids: IntArray,
    kk_first: ObjArray,
    kk_current: ObjArray,
    first_edition: DateArray,
    second_edition: DateArray,
    change_date: DateArray,
    first_reason: ObjArray,
    member_change: BoolArray,
    number_change: BoolArray,
    moved: BoolArray,
) -> Table:
    """One row per KK edition: the first (ISSUED/SPLIT), a re-print with the same number after a
    member change, and a new number after a move or a change of head. The last is open."""
    nat = np.datetime64("NaT", "D")
    first_to = np.where(member_change, second_edition, np.where(number_change, change_date, nat))
    parts_family = [family_ids, family_ids[member_change], family_ids[number_change]]
    parts_number = [kk_first, kk_first[member_change], kk_current[number_change]]
    parts_from = [first_edition, second_edition[member_change], change_date[number_change]]
    second_to = np.where(number_change, change_date, nat)[member_change]
    parts_to = [first_to, second_to, np.full(int(number_change.sum()), nat)]
    change_reason = np.where(moved, "MOVE", "HEAD_CHANGE").astype(object)
    parts_reason = [
        first_reason,
        np.full(int(member_change.sum()), "MEMBER_CHANGE", dtype=object),
        change_reason[number_change],
    ]
    family_column = np.concatenate(parts_family)
    valid_from = np.concatenate(parts_from)
    order = np.lexsort((valid_from, family_column))
    count = family_column.size
    return {
        "id": first_id + np.arange(count),
        "family_id": family_column[order],
        "kk_number": np.concatenate(parts_number)[order],
        "valid_from": valid_from[order],
        "valid_to": np.concatenate(parts_to)[order],
        "reason": np.concatenate(parts_reason)[order],
    }


def _occupations(
    rng: np.random.Generator,
    ctx: _Context,
    age: IntArray,
    female: BoolArray,
    marital: IntArray,
    urban: BoolArray,
) -> ObjArray:
    n = age.size
    result = np.full(n, data.BELUM_BEKERJA, dtype=object)
    labels = np.asarray(ctx.occupation_labels, dtype=object)
    sex = female.astype(np.int64)
    setting = urban.astype(np.int64)
    for sex_value in (0, 1):
        for setting_value in (0, 1):
            rows = np.flatnonzero((age >= 15) & (sex == sex_value) & (setting == setting_value))
            table = ctx.occupation_tables[sex_value, setting_value]
            result[rows] = labels[rng.choice(labels.size, size=rows.size, p=table)]
    draw = rng.random(n)
    student_share = np.array([data.STUDENT_SHARE_BY_AGE.get(a, 0.0) for a in range(data.MAX_AGE + 2)])
    student = draw < student_share[np.minimum(age, data.MAX_AGE + 1)]
    student |= (age >= 5) & (age <= 6) & (draw < data.STUDENT_SHARE_5_6)
    young_idle = (age < 15) & ~student
    result[young_idle] = data.BELUM_BEKERJA
    draw2 = rng.random(n)
    homemaker_share = np.where(marital == MARRIED, data.HOMEMAKER_MARRIED_WOMEN, data.HOMEMAKER_OTHER_WOMEN)
    homemaker = female & (age >= 17) & ~student & (draw2 < homemaker_share)
    result[homemaker] = data.MENGURUS_RUMAH_TANGGA
    idle = (age >= 15) & ~student & ~homemaker & (draw2 > 1.0 - data.NOT_WORKING_ADULTS)
    result[idle] = data.BELUM_BEKERJA
    draw3 = rng.random(n)
    retired = (age >= 58) & ~homemaker & (draw3 < data.PENSIONERS_58)
    civil = _member_of(
        result,
        [
            "PEGAWAI NEGERI SIPIL (PNS)",
            "TENTARA NASIONAL INDONESIA (TNI)",
            "KEPOLISIAN RI (POLRI)",
            "GURU",
            "DOSEN",
            "KARYAWAN BUMN",
        ],
    )
    retired |= (age >= 60) & civil
    result[retired] = data.PENSIUNAN
    elderly_idle = (age >= 65) & ~homemaker & ~retired & (draw3 > 1.0 - data.ELDERLY_NOT_WORKING)
    result[elderly_idle] = data.BELUM_BEKERJA
    result[student] = data.PELAJAR
    return result


def _blood_types(rng: np.random.Generator, n: int) -> ObjArray:
    letters = np.array(list(data.BLOOD_TYPE_SHARES), dtype=object)
    shares = np.array(list(data.BLOOD_TYPE_SHARES.values()))
    kind = letters[rng.choice(letters.size, size=n, p=shares / shares.sum())]
    draw = rng.random(n)
    rhesus = np.where(
        draw < data.BLOOD_RHESUS_WRITTEN * data.BLOOD_RHESUS_NEGATIVE,
        "-",
        np.where(draw < data.BLOOD_RHESUS_WRITTEN, "+", ""),
    )
    result: ObjArray = (kind + rhesus.astype(object)).astype(object)
    result[rng.random(n) < data.BLOOD_TYPE_UNKNOWN] = "UNKNOWN"
    return result


def _addresses(
    rng: np.random.Generator, count: int, urban: BoolArray, province: npt.NDArray[np.str_]
) -> tuple[ObjArray, ObjArray, ObjArray]:
    street = np.empty(count, dtype=object)
    kind = rng.random(count)
    number = rng.integers(1, 200, count)
    street_index = rng.choice(len(STREETS), size=count, p=_zipf(len(STREETS), 0.6))
    hamlet_index = rng.integers(0, len(HAMLETS), count)
    housing_index = rng.integers(0, len(HOUSING), count)
    block = rng.integers(0, 8, count)
    block_number = rng.integers(1, 25, count)
    kampung = np.isin(province, ["32", "36"])
    for i in range(count):
        if urban[i]:
            if kind[i] < 0.72:
                street[i] = f"JL. {STREETS[street_index[i]]} NO. {number[i]}"
            elif kind[i] < 0.87:
                street[i] = (
                    f"PERUM {HOUSING[housing_index[i]]} BLOK {'ABCDEFGH'[block[i]]}{block_number[i]} NO. {number[i] % 40 + 1}"
                )
            else:
                street[i] = f"GG. {STREETS[street_index[i]]} NO. {number[i]}"
        elif kind[i] < 0.55:
            street[i] = f"{'KP.' if kampung[i] else 'DUSUN'} {HAMLETS[hamlet_index[i]]}"
        else:
            street[i] = f"JL. {STREETS[street_index[i]]} NO. {number[i]}"
    rt_numbers = rng.integers(1, 16, count)
    rw_numbers = rng.integers(1, np.where(urban, 16, 9))
    rt = np.array([f"{value:03d}" for value in rt_numbers.tolist()], dtype=object)
    rw = np.array([f"{value:03d}" for value in rw_numbers.tolist()], dtype=object)
    return street, rt, rw


# ------------------------------------------------------------------------------------------------
# Names


@dataclass(frozen=True)
class _CulturePools:
    """Token arrays of one culture, sex and era, with their old-spelling twins."""

    first: ObjArray
    first_old: ObjArray
    first_p: FloatArray
    more: ObjArray
    more_old: ObjArray
    more_p: FloatArray
    words: FloatArray


_POOL_CACHE: dict[tuple[int, int, int], _CulturePools] = {}


def _pools(culture_index: int, sex: int, era: int) -> _CulturePools:
    key = (culture_index, sex, era)
    cached = _POOL_CACHE.get(key)
    if cached is None:
        culture = CULTURES[culture_index]
        pools = culture.female if sex else culture.male
        first = pools.first[era]
        more = pools.more[era]
        convert = old_spelling if culture.old_spelling else (lambda token: token)
        cached = _CulturePools(
            first=np.array(first, dtype=object),
            first_old=np.array([convert(token) for token in first], dtype=object),
            first_p=_zipf(len(first), 0.5),
            more=np.array(more, dtype=object),
            more_old=np.array([convert(token) for token in more], dtype=object),
            more_p=_zipf(len(more), 0.5),
            words=np.array(pools.words[era], dtype=np.float64),
        )
        _POOL_CACHE[key] = cached
    return cached


def _names(
    rng: np.random.Generator,
    ctx: _Context,
    n: int,
    culture: IntArray,
    female: BoolArray,
    birth: DateArray,
    years: IntArray,
    recorded: DateArray,
    relation: IntArray,
    family: IntArray,
    head_of: IntArray,
    spouse_of: IntArray,
) -> ObjArray:
    """Full names, upper case, as the card prints them."""
    era = np.where(years >= YOUNG_FROM_YEAR, 2, np.where(years >= MIDDLE_FROM_YEAR, 1, 0))
    sex = female.astype(np.int64)
    rules = recorded >= np.datetime64(NAME_RULES_FROM, "D")
    legacy = ~rules
    old_share = np.where(
        years < 1955,
        0.55,
        np.where(years < 1965, 0.35, np.where(years < 1972, 0.2, np.where(years < 1980, 0.04, 0.0))),
    )
    old = rng.random(n) < old_share

    words = np.ones(n, dtype=np.int64)
    t0 = np.full(n, "", dtype=object)
    t1 = np.full(n, "", dtype=object)
    t2 = np.full(n, "", dtype=object)
    spare = np.full(n, "", dtype=object)  # a second word for single names under the 2022 rules
    group = (culture * 2 + sex) * 3 + era
    order = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.r_[True, group[order][1:] != group[order][:-1], True])
    for start, stop in itertools.pairwise(bounds.tolist()):
        rows = order[start:stop]
        g = int(group[rows[0]])
        pools = _pools(g // 6, (g // 3) % 2, g % 3)
        size = rows.size
        words[rows] = rng.choice(3, size=size, p=pools.words / pools.words.sum()) + 1
        first_index = rng.choice(pools.first.size, size=size, p=pools.first_p)
        more_index1 = rng.choice(pools.more.size, size=size, p=pools.more_p)
        more_index2 = rng.choice(pools.more.size, size=size, p=pools.more_p)
        use_old = old[rows]
        t0[rows] = np.where(use_old, pools.first_old[first_index], pools.first[first_index])
        t1[rows] = np.where(use_old, pools.more_old[more_index1], pools.more[more_index1])
        t2[rows] = np.where(use_old, pools.more_old[more_index2], pools.more[more_index2])
        # A second given word from the "first" pool for variety when no "more" fits.
        spare_index = rng.choice(pools.first.size, size=size, p=pools.first_p)
        spare[rows] = pools.first[spare_index]
    candidate_second = t1.copy()
    words[(words < 2) & _member_of(t0, OPENERS)] = 2
    t1[words < 2] = ""
    t2[words < 3] = ""
    t2[t2 == t1] = ""
    clash = t1 == t0
    t1[clash] = spare[clash]
    t1[t1 == t0] = ""

    prefix = np.full(n, "", dtype=object)
    surname = np.full(n, "", dtype=object)
    family_draw = rng.random(head_of.size)
    person_draw = rng.random(n)
    heads_and_kids = (
        (relation == HEAD) | (relation == CHILD) | (relation == GRANDCHILD) | (relation == PARENT)
    )

    for c_index, cult in enumerate(CULTURES):
        members = np.flatnonzero(culture == c_index)
        if not members.size:
            continue
        hokkien = members[:0]
        if cult.key == "chinese":
            hokkien = members[(era[members] == 0) & (rng.random(members.size) < 0.6)]
            t0[hokkien] = np.array(CHINESE_CLANS, dtype=object)[
                rng.choice(len(CHINESE_CLANS), hokkien.size, p=_zipf(len(CHINESE_CLANS)))
            ]
            t1[hokkien] = np.array(CHINESE_SYLLABLES, dtype=object)[
                rng.integers(0, len(CHINESE_SYLLABLES), hokkien.size)
            ]
            t2[hokkien] = np.array(CHINESE_SYLLABLES, dtype=object)[
                rng.integers(0, len(CHINESE_SYLLABLES), hokkien.size)
            ]
            words[hokkien] = 3
        if cult.surnames:
            _surnames(
                rng,
                cult,
                members,
                surname,
                female,
                relation,
                family,
                head_of,
                spouse_of,
                family_draw,
                person_draw,
                old,
                legacy,
            )
            surname[hokkien] = ""
        if cult.balinese:
            _balinese_prefixes(rng, members, prefix, female, relation, family, birth, family_draw)
        if cult.title is not None:
            male_title, female_title, share = cult.title
            family_titled = family_draw < share
            titled = np.where(
                heads_and_kids[members] & ~female[members] | (relation[members] == CHILD),
                family_titled[family[members]],
                person_draw[members] < share,
            )
            chosen = members[titled]
            prefix[chosen] = np.where(female[chosen], female_title, male_title)
        if cult.buton:
            la = members[(era[members] < 2) | (rng.random(members.size) < 0.5)]
            opener = np.where(female[la], "WA", "LA").astype(object)
            prefix[la] = np.where(prefix[la] == "", opener, opener + " " + prefix[la])
            prefix[members[(prefix[members] != "") & ~np.isin(members, la)]] = ""

    # Abbreviations on pre-2022 records (MOH., M., ABD., ST.).
    abbreviate = legacy & (rng.random(n) < 0.3) & ((t1 != "") | (surname != "")) & (prefix == "")
    for index in np.flatnonzero(abbreviate & _member_of(t0, ABBREVIATED)):
        variants = ABBREVIATED[t0[index]]
        t0[index] = variants[int(rng.integers(len(variants)))]

    # The 2022 rules: at least two words (a single given name gets a second one).
    single = rules & (t1 == "") & (prefix == "") & (surname == "")
    second = candidate_second[single]
    fallback = np.where(female[single], "PUTRI", "SAPUTRA").astype(object)
    fallback = np.where(fallback == t0[single], np.where(female[single], "LESTARI", "PRATAMA"), fallback)
    t1[single] = np.where(second == t0[single], fallback, second)

    joined = _spaced(prefix) + _spaced(t0) + _spaced(t1) + _spaced(t2) + _spaced(surname)
    names = np.array([name[:-1] for name in joined.tolist()], dtype=object)
    lengths = np.fromiter(map(len, names.tolist()), dtype=np.int64, count=n)
    for position in np.flatnonzero(rules & (lengths > NAME_RULES_MAX)).tolist():
        for parts in ((prefix, t0, t1, surname), (t0, t1, surname), (t0, surname)):
            name = " ".join(str(part[position]) for part in parts if part[position])
            if len(name) <= NAME_RULES_MAX:
                break
        names[position] = name[:NAME_RULES_MAX].rstrip()
    return names


def _spaced(tokens: ObjArray) -> ObjArray:
    """Each non-empty token followed by one space."""
    result: ObjArray = np.where(tokens != "", tokens + " ", "").astype(object)
    return result


def _member_of(tokens: ObjArray, wanted: Collection[str]) -> BoolArray:
    """``np.isin`` for object arrays of strings, without sorting Python objects."""
    return np.fromiter((token in wanted for token in tokens.tolist()), dtype=bool, count=tokens.size)


def _surnames(
    rng: np.random.Generator,
    culture: Culture,
    members: IntArray,
    surname: ObjArray,
    female: BoolArray,
    relation: IntArray,
    family: IntArray,
    head_of: IntArray,
    spouse_of: IntArray,
    family_draw: FloatArray,
    person_draw: FloatArray,
    old: BoolArray,
    legacy: BoolArray,
) -> None:
    """Family names: the father's line passes to children (Batak, Minahasa, NTT, ...), the mother's
    for the Minang suku; spouses keep their own, and Batak spouses never share a marga."""
    names = np.array(culture.surnames, dtype=object)
    names_old = np.array(
        [old_spelling(token) if culture.old_spelling else token for token in culture.surnames], dtype=object
    )
    weights = _zipf(names.size, 0.6)
    n_families = head_of.size
    line = rng.choice(names.size, size=n_families, p=weights)  # the father's (or mother's) line
    own = rng.choice(names.size, size=members.size, p=weights)
    fam = family[members]
    rel = relation[members]
    is_female = female[members]
    if culture.surname_from == "mother":
        carriers = (rel == CHILD) | (rel == GRANDCHILD) | (is_female & ((rel == HEAD) | (rel == SPOUSE)))
    else:
        carriers = (
            (rel == CHILD)
            | (rel == GRANDCHILD)
            | (~is_female & (rel == HEAD))
            | (~is_female & (rel == PARENT))
        )
        # A single woman heading her own family carries her father's name too.
        carriers |= (
            is_female
            & (rel == HEAD)
            & (spouse_of[fam] < 0)
            & (relation[members] == HEAD)
            & (rng.random(members.size) < 0.5)
        )
    choice = np.where(carriers, line[fam], own)
    clash = ~carriers & (choice == line[fam])
    choice[clash] = (choice[clash] + 1) % names.size
    shows = np.where(
        (rel == CHILD) | (rel == HEAD),
        family_draw[fam] < culture.surname_share,
        person_draw[members] < culture.surname_share,
    )
    picked = np.where(old[members], names_old[choice], names[choice])
    chosen = members[shows]
    surname[chosen] = picked[shows]
    if culture.boru_share:
        boru = members[shows & is_female & legacy[members] & (rng.random(members.size) < culture.boru_share)]
        surname[boru] = np.where(rng.random(boru.size) < 0.4, "BR. ", "BR ").astype(object) + surname[boru]


def _balinese_prefixes(
    rng: np.random.Generator,
    members: IntArray,
    prefix: ObjArray,
    female: BoolArray,
    relation: IntArray,
    family: IntArray,
    birth: DateArray,
    family_draw: FloatArray,
) -> None:
    """I WAYAN / NI MADE ... by birth order (children: their rank among the family's children;
    others: a likely rank), and triwangsa titles passed from the father."""
    rank = rng.choice(4, size=members.size, p=[0.35, 0.3, 0.2, 0.15])
    kids = relation[members] == CHILD
    if kids.any():
        kid_rows = members[kids]
        order = np.lexsort((birth[kid_rows], family[kid_rows]))
        sorted_family = family[kid_rows][order]
        starts = np.r_[True, sorted_family[1:] != sorted_family[:-1]]
        first_pos = np.maximum.accumulate(np.where(starts, np.arange(order.size), 0))
        kid_rank = np.empty(order.size, dtype=np.int64)
        kid_rank[order] = (np.arange(order.size) - first_pos) % 4
        rank[kids] = kid_rank
    variant = rng.random(members.size)
    fam = family[members]
    title_index = np.full(members.size, -1, dtype=np.int64)
    cumulative = 0.0
    for index, (_, _, share) in enumerate(BALINESE_TITLES):
        title_index[(family_draw[fam] >= cumulative) & (family_draw[fam] < cumulative + share)] = index
        cumulative += share
    patrilineal = (relation[members] == CHILD) | ((relation[members] == HEAD) & ~female[members])
    title_index[~patrilineal] = -1
    for row, member in enumerate(members.tolist()):
        forms = (BALINESE_ORDER_FEMALE if female[member] else BALINESE_ORDER_MALE)[int(rank[row])]
        order_name = forms[int(variant[row] * len(forms))]
        if title_index[row] >= 0:
            male_title, female_title, _ = BALINESE_TITLES[int(title_index[row])]
            title = female_title if female[member] else male_title
            prefix[member] = f"{title} {order_name.split(' ', 1)[1]}" if variant[row] < 0.5 else title
        else:
            prefix[member] = order_name


def _occupation_labels() -> tuple[str, ...]:
    working = tuple(label for label, *_ in data.OCCUPATIONS)
    return (*working, data.BELUM_BEKERJA, data.PELAJAR, data.MENGURUS_RUMAH_TANGGA, data.PENSIUNAN)


#: Every occupation label the generator can write.
OCCUPATION_LABELS: tuple[str, ...] = _occupation_labels()
