"""Indonesian duplicate-record generator with ground truth, for training and measuring linkage.

Clean people come from the project's population generator (:mod:`ektp.simulate.population`,
no database needed: regions from the packaged Kemendagri list). Each clean person becomes one
record; a share of them gets one (sometimes two) extra records made the way duplicates arise in
the register (BRIEF §3–4):

* ``typo``: keyboard-adjacent substitution, deletion, insertion or transposition in a name word;
* ``old_spelling``: the name written in the pre-1972 spelling (U → OE, J → DJ, Y → J, C → TJ),
  or an old-spelled name written in the modern one;
* ``abbreviation``: MUHAMMAD → M./MOH./MUH./MOCH./MHD., ABDUL → ABD., SITI → ST.;
* ``single_name``: only the first word kept (single names are common on old Javanese records),
  or ``added_word``: a word appended (a father's name, a second given name);
* ``title``: H./HJ./IR./DRS. before or a degree (S.PD., S.H.) after the name;
* ``day_month_swap``: 1980-03-07 written 1980-07-03 (only where both are valid dates);
* ``date_typo``: the birth year one off, or one digit of the day wrong;
* ``moved``: recorded again after moving (another village, usually in another regency) with a
  **new NIK** issued there — the classic duplicate cause; ``new_nik`` alone: a second NIK
  without a move (a proxy recording at a mass event);
* ``missing_mother`` / ``missing_birth_place``: fields left empty;
* ``place_variant``: the birth place with a typo or in the old spelling.

Every record carries ``record_id`` and ``true_person_id`` (and ``corruptions``, a "+"-joined list
of what was done) so pairwise precision and recall can be computed. Same seed, same output.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ektp.kit.errors import invalid
from ektp.simulate.names import old_spelling
from ektp.simulate.population import RegionPool, generate_population

#: Columns of a linkage record, in order (what ``ektp linkage dedupe`` reads).
RECORD_COLUMNS = (
    "record_id", "nik", "name", "sex", "birth_date", "birth_place", "mother_name", "province_code",
    "regency_code", "district_code", "village_code", "address",
)  # fmt: skip
TRUTH_COLUMNS = ("true_person_id", "corruptions")

_KEYBOARD_ROWS = ("QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM")
_KEYBOARD: dict[str, str] = {}
for _row_index, _row in enumerate(_KEYBOARD_ROWS):
    for _col, _char in enumerate(_row):
        neighbours = [_row[i] for i in (_col - 1, _col + 1) if 0 <= i < len(_row)]
        for _other_index in (_row_index - 1, _row_index + 1):
            if 0 <= _other_index < len(_KEYBOARD_ROWS):
                other = _KEYBOARD_ROWS[_other_index]
                neighbours += [other[i] for i in (_col - 1, _col, _col + 1) if 0 <= i < len(other)]
        _KEYBOARD[_char] = "".join(neighbours)

_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "MUHAMMAD": ("M.", "MOH.", "MUH.", "MOCH.", "MHD.", "MUHAMAD", "MOHAMMAD"),
    "MOHAMMAD": ("M.", "MOH."),
    "MUHAMAD": ("M.", "MUH."),
    "ABDUL": ("ABD.",),
    "SITI": ("ST.",),
}
_TITLES_BEFORE = {"L": ("H.", "IR.", "DRS.", "H"), "P": ("HJ.", "HJ", "DRA.", "IR.")}
_DEGREES_AFTER = (", S.PD.", ", S.H.", " S.PD", ", S.E.", ", S.KOM", ", A.MD.")
_ADDED_WORDS = ("SANTOSO", "HIDAYAT", "SAPUTRA", "WIBOWO", "RAHMAN", "SETIAWAN", "LESTARI", "WATI",
                "NINGSIH", "HASAN", "PRATAMA", "KURNIAWAN")  # fmt: skip

#: Corruption kinds and their weights (how often each is picked; 1–3 per duplicate).
CORRUPTION_WEIGHTS: dict[str, float] = {
    "typo": 0.22,
    "old_spelling": 0.10,
    "abbreviation": 0.08,
    "single_name": 0.07,
    "added_word": 0.05,
    "title": 0.05,
    "day_month_swap": 0.08,
    "date_typo": 0.06,
    "moved": 0.16,
    "new_nik": 0.05,
    "missing_mother": 0.04,
    "missing_birth_place": 0.02,
    "place_variant": 0.02,
}


@dataclass(frozen=True)
class LinkageDataset:
    """Records (clean and duplicates, shuffled) with their ground truth."""

    records: list[dict[str, Any]]

    @property
    def person_count(self) -> int:
        return len({record["true_person_id"] for record in self.records})

    def true_pairs(self) -> int:
        """Number of record pairs that belong to the same person."""
        sizes: dict[int, int] = {}
        for record in self.records:
            sizes[record["true_person_id"]] = sizes.get(record["true_person_id"], 0) + 1
        return sum(size * (size - 1) // 2 for size in sizes.values())


# ------------------------------------------------------------------------------------------------
# Clean records


def clean_records(
    size: int, *, seed: int, provinces: Collection[str] | None = None, pool: RegionPool | None = None
) -> list[dict[str, Any]]:
    """``size`` clean person records from the population generator (``true_person_id`` = the
    generator's resident id). Mother's name: the mother in the same family for children, else a
    woman of the same naming pool drawn at random; empty for 25 % (legacy records often lack it)."""
    region_pool = pool if pool is not None else RegionPool.from_source(provinces)
    rng = np.random.default_rng(seed + 7_919)
    records: list[dict[str, Any]] = []
    for chunk in generate_population(region_pool, size=size, seed=seed, provinces=provinces):
        residents = chunk.residents
        n = len(residents["id"])
        names = [str(name) for name in residents["full_name"]]
        family = np.asarray(residents["family_id"])
        relation = np.asarray(residents["relation"])
        sex = np.asarray(residents["sex"])
        mothers: dict[int, str] = {}
        for i in range(n):
            if relation[i] == "ISTRI" or (relation[i] == "KEPALA_KELUARGA" and sex[i] == "P"):
                mothers.setdefault(int(family[i]), names[i])
        women = [i for i in range(n) if sex[i] == "P"] or list(range(n))
        draws = rng.integers(0, len(women), n)
        missing = rng.random(n) < 0.25
        birth = np.asarray(residents["birth_date"]).astype("datetime64[D]").astype(object)
        for i in range(n):
            if relation[i] in {"ANAK", "CUCU"} and int(family[i]) in mothers:
                mother = mothers[int(family[i])]
            else:
                mother = names[women[int(draws[i])]]
            birth_date = birth[i]
            records.append(
                {
                    "record_id": 0,
                    "true_person_id": int(residents["id"][i]),
                    "nik": str(residents["nik"][i]),
                    "name": names[i],
                    "sex": str(sex[i]),
                    "birth_date": birth_date.isoformat() if isinstance(birth_date, dt.date) else "",
                    "birth_place": str(residents["birth_place"][i] or ""),
                    "mother_name": "" if missing[i] else mother,
                    "province_code": str(residents["province_code"][i]),
                    "regency_code": str(residents["regency_code"][i]),
                    "district_code": str(residents["district_code"][i]),
                    "village_code": str(residents["village_code"][i]),
                    "address": f"{residents['street'][i]} RT {residents['rt'][i]} RW {residents['rw'][i]}",
                    "corruptions": "",
                }
            )
    return records


# ------------------------------------------------------------------------------------------------
# Corruptions (each takes the record being built and the random generator)


def keyboard_typo(word: str, rng: np.random.Generator) -> str:
    """One keyboard slip in ``word``: adjacent-key substitution, deletion, insertion or transposition
    (a word of one letter only gets a substitution)."""
    if not word:
        return word
    kind = int(rng.integers(0, 4)) if len(word) > 2 else 0
    position = int(rng.integers(0, len(word)))
    char = word[position]
    if kind == 0:
        neighbours = _KEYBOARD.get(char, "AEIOU")
        return word[:position] + neighbours[int(rng.integers(0, len(neighbours)))] + word[position + 1 :]
    if kind == 1:
        return word[:position] + word[position + 1 :]
    if kind == 2:
        neighbours = _KEYBOARD.get(char, "AEIOU")
        return word[: position + 1] + neighbours[int(rng.integers(0, len(neighbours)))] + word[position + 1 :]
    position = min(position, len(word) - 2)
    return word[:position] + word[position + 1] + word[position] + word[position + 2 :]


def _new_spelling(word: str) -> str:
    return (
        word.replace("OE", "U").replace("DJ", "J").replace("TJ", "C").replace("NJ", "NY").replace("SJ", "SY")
    )


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(0, len(options)))]


def _typo(record: dict[str, Any], rng: np.random.Generator) -> bool:
    words = record["name"].split()
    if not words:
        return False
    index = int(rng.integers(0, len(words)))
    words[index] = keyboard_typo(words[index], rng)
    record["name"] = " ".join(words)
    return True


def _old_spelling(record: dict[str, Any], rng: np.random.Generator) -> bool:
    words = record["name"].split()
    if any(marker in record["name"] for marker in ("OE", "DJ", "TJ")):
        changed = [_new_spelling(word) for word in words]
    else:
        changed = [old_spelling(word) for word in words]
    if changed == words:
        return False
    record["name"] = " ".join(changed)
    return True


def _abbreviation(record: dict[str, Any], rng: np.random.Generator) -> bool:
    words = record["name"].split()
    for index, word in enumerate(words):
        if word in _ABBREVIATIONS:
            words[index] = _pick(rng, _ABBREVIATIONS[word])
            record["name"] = " ".join(words)
            return True
    return False


def _single_name(record: dict[str, Any], rng: np.random.Generator) -> bool:
    words = record["name"].split()
    if len(words) < 2:
        return False
    record["name"] = words[0]
    return True


def _added_word(record: dict[str, Any], rng: np.random.Generator) -> bool:
    record["name"] = f"{record['name']} {_pick(rng, _ADDED_WORDS)}"
    return True


def _title(record: dict[str, Any], rng: np.random.Generator) -> bool:
    if rng.random() < 0.6:
        record["name"] = f"{_pick(rng, _TITLES_BEFORE.get(record['sex'], ('H.',)))} {record['name']}"
    else:
        record["name"] = f"{record['name']}{_pick(rng, _DEGREES_AFTER)}"
    return True


def _day_month_swap(record: dict[str, Any], rng: np.random.Generator) -> bool:
    if not record["birth_date"]:
        return False
    born = dt.date.fromisoformat(record["birth_date"])
    if born.day > 12 or born.day == born.month:
        return False
    record["birth_date"] = dt.date(born.year, born.day, born.month).isoformat()
    return True


def _date_typo(record: dict[str, Any], rng: np.random.Generator) -> bool:
    if not record["birth_date"]:
        return False
    born = dt.date.fromisoformat(record["birth_date"])
    if rng.random() < 0.5:
        shifted = born.year + (1 if rng.random() < 0.5 else -1)
        day = min(born.day, 28) if born.month == 2 else born.day
        record["birth_date"] = dt.date(shifted, born.month, day).isoformat()
    else:
        day = born.day + int(rng.choice([-10, -1, 1, 10]))
        if not 1 <= day <= 28:
            return False
        record["birth_date"] = dt.date(born.year, born.month, day).isoformat()
    return True


class _NikMaker:
    """New NIKs: district digits + birth date (day + 40 for women) + a serial from 5000 up, unique
    against every NIK seen."""

    def __init__(self, used: set[str]) -> None:
        self.used = used

    def make(self, record: dict[str, Any], rng: np.random.Generator) -> str:
        district = record["district_code"].replace(".", "")
        born = dt.date.fromisoformat(record["birth_date"]) if record["birth_date"] else dt.date(1970, 1, 1)
        day = born.day + (40 if record["sex"] == "P" else 0)
        prefix = f"{district:0<6}"[:6] + f"{day:02d}{born.month:02d}{born.year % 100:02d}"
        for _ in range(50):
            nik = prefix + f"{int(rng.integers(5000, 10000)):04d}"
            if nik not in self.used:
                self.used.add(nik)
                return nik
        raise invalid("nik", "exhausted", f"no free serial left for NIK prefix {prefix}")


def _move(record: dict[str, Any], rng: np.random.Generator, pool: RegionPool, niks: _NikMaker) -> bool:
    codes = pool.village_codes
    for _ in range(20):
        village = str(codes[int(rng.integers(0, codes.size))])
        if village[:5] != record["regency_code"] or rng.random() < 0.25:
            break
    if village == record["village_code"]:
        return False
    record["village_code"] = village
    record["district_code"] = village[:8]
    record["regency_code"] = village[:5]
    record["province_code"] = village[:2]
    record["address"] = (
        f"JL. {_pick(rng, _ADDED_WORDS)} NO. {int(rng.integers(1, 200))} RT 00{int(rng.integers(1, 9))}"
    )
    record["nik"] = niks.make(record, rng)
    return True


def _missing(column: str) -> Any:
    def apply(record: dict[str, Any], rng: np.random.Generator) -> bool:
        if not record[column]:
            return False
        record[column] = ""
        return True

    return apply


def _place_variant(record: dict[str, Any], rng: np.random.Generator) -> bool:
    place = record["birth_place"]
    if not place:
        return False
    changed = " ".join(old_spelling(word) for word in place.split())
    record["birth_place"] = changed if changed != place and rng.random() < 0.5 else keyboard_typo(place, rng)
    return True


_SIMPLE = {
    "typo": _typo,
    "old_spelling": _old_spelling,
    "abbreviation": _abbreviation,
    "single_name": _single_name,
    "added_word": _added_word,
    "title": _title,
    "day_month_swap": _day_month_swap,
    "date_typo": _date_typo,
    "missing_mother": _missing("mother_name"),
    "missing_birth_place": _missing("birth_place"),
    "place_variant": _place_variant,
}


def corrupt_record(
    clean: dict[str, Any],
    rng: np.random.Generator,
    *,
    pool: RegionPool,
    used_niks: set[str],
    kinds: Sequence[str] | None = None,
) -> dict[str, Any]:
    """A duplicate of ``clean`` with 1–3 corruptions (or exactly ``kinds``), recorded in
    ``corruptions``. At least one corruption always takes effect."""
    names = list(CORRUPTION_WEIGHTS)
    weights = np.array([CORRUPTION_WEIGHTS[name] for name in names])
    weights = weights / weights.sum()
    wanted = list(kinds) if kinds is not None else []
    if kinds is None:
        count = int(rng.choice([1, 2, 3], p=[0.45, 0.4, 0.15]))
        wanted = [str(name) for name in rng.choice(names, size=count, replace=False, p=weights)]
    unknown = [name for name in wanted if name not in CORRUPTION_WEIGHTS]
    if unknown:
        raise invalid("kinds", "unknown", f"unknown corruption {unknown[0]!r}; known: {', '.join(names)}")
    record = dict(clean)
    niks = _NikMaker(used_niks)
    done: list[str] = []
    for _ in range(10):
        for name in wanted:
            if name in done:
                continue
            if name == "moved":
                applied = _move(record, rng, pool, niks)
            elif name == "new_nik":
                record["nik"] = niks.make(record, rng)
                applied = True
            else:
                applied = _SIMPLE[name](record, rng)
            if applied:
                done.append(name)
        if done or kinds is not None:
            break
        wanted = [str(rng.choice(names, p=weights))]
    record["corruptions"] = "+".join(done)
    return record


def make_dataset(
    size: int,
    *,
    duplicate_share: float = 0.25,
    seed: int = 0,
    provinces: Collection[str] | None = None,
    pool: RegionPool | None = None,
) -> LinkageDataset:
    """``size`` persons plus ``round(size * duplicate_share)`` corrupted duplicates (about one in
    eight duplicated persons gets two), shuffled, ``record_id`` 1..N in the shuffled order."""
    if not isinstance(size, int) or size < 1:
        raise invalid("size", "range", f"size must be a whole number of at least 1, got {size!r}")
    if not 0 <= duplicate_share <= 1:
        raise invalid("duplicate_share", "range", f"duplicate_share must be in [0, 1], got {duplicate_share}")
    region_pool = pool if pool is not None else RegionPool.from_source(provinces)
    clean = clean_records(size, seed=seed, provinces=provinces, pool=region_pool)
    rng = np.random.default_rng(seed + 104_729)
    used = {record["nik"] for record in clean}
    duplicates_wanted = round(size * duplicate_share)
    twice = duplicates_wanted // 9
    persons = rng.choice(len(clean), size=duplicates_wanted - twice, replace=False)
    sources = np.concatenate([persons, persons[:twice]])
    duplicates = [
        corrupt_record(clean[int(index)], rng, pool=region_pool, used_niks=used) for index in sources
    ]
    records = clean + duplicates
    order = rng.permutation(len(records))
    shuffled = [records[int(index)] for index in order]
    for record_id, record in enumerate(shuffled, start=1):
        record["record_id"] = record_id
    return LinkageDataset(records=shuffled)
