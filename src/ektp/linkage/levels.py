"""The ektp model's comparison levels evaluated in Python, for the incremental 1:N path.

Each function returns the comparison-vector value (gamma) Splink's SQL gives the same pair for
the comparisons built in :func:`ektp.linkage.model._comparisons` (-1: null level, then the levels
top to bottom counting down to 0, the else level). ``tests/linkage/test_levels.py`` checks these
against Splink's own SQL on generated pairs; :func:`check_levels_match` refuses a model whose
levels are not the ektp ones (a custom model must use batch scoring).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from ektp.kit.errors import invalid

Similarity = Callable[[str, str], float]


def jaro_winkler(left: str, right: str) -> float:
    """Textbook Jaro-Winkler similarity (prefix scale 0.1, prefix up to 4, boost when Jaro > 0.7).
    DuckDB's ``jaro_winkler_similarity`` (rapidfuzz) picks matching characters differently on some
    long strings, so the incremental matcher passes DuckDB's values in (``similarity``); this one
    is the fallback for callers without a database."""
    if left == right:
        return 1.0 if left else 0.0
    len_l, len_r = len(left), len(right)
    if not len_l or not len_r:
        return 0.0
    window = max(max(len_l, len_r) // 2 - 1, 0)
    matched_l = [False] * len_l
    matched_r = [False] * len_r
    matches = 0
    for i, char in enumerate(left):
        for j in range(max(0, i - window), min(len_r, i + window + 1)):
            if not matched_r[j] and right[j] == char:
                matched_l[i] = matched_r[j] = True
                matches += 1
                break
    if not matches:
        return 0.0
    transpositions = 0
    j = 0
    for i in range(len_l):
        if matched_l[i]:
            while not matched_r[j]:
                j += 1
            if left[i] != right[j]:
                transpositions += 1
            j += 1
    jaro = (matches / len_l + matches / len_r + (matches - transpositions / 2) / matches) / 3
    if jaro <= 0.7:
        return jaro
    prefix = 0
    for a, b in zip(left[:4], right[:4], strict=False):
        if a != b:
            break
        prefix += 1
    return jaro + prefix * 0.1 * (1 - jaro)


def within_one_edit(left: str, right: str) -> bool:
    """Damerau-Levenshtein distance ≤ 1 (one substitution, insertion, deletion or adjacent
    transposition)."""
    if left == right:
        return True
    len_l, len_r = len(left), len(right)
    if abs(len_l - len_r) > 1:
        return False
    if len_l == len_r:
        diff = [i for i in range(len_l) if left[i] != right[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and left[diff[0]] == right[diff[1]]
            and left[diff[1]] == right[diff[0]]
        )
    short, long = (left, right) if len_l < len_r else (right, left)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _null(*values: Any) -> bool:
    return any(value is None for value in values)


def name_level(l: Mapping[str, Any], r: Mapping[str, Any], jw: Similarity = jaro_winkler) -> int:  # noqa: E741
    if _null(l["name_norm"], r["name_norm"]):
        return -1
    if l["name_norm"] == r["name_norm"]:
        return 7
    similarity = jw(l["name_norm"], r["name_norm"])
    if similarity >= 0.95:
        return 6
    if l["name_phon"] is not None and l["name_phon"] == r["name_phon"]:
        return 5
    if similarity >= 0.88:
        return 4
    tokens_l, tokens_r = l["name_tokens"], r["name_tokens"]
    if tokens_l is not None and tokens_r is not None:
        smaller = min(len(tokens_l), len(tokens_r))
        if smaller and len(set(tokens_l) & set(tokens_r)) == smaller:
            return 3
    if (l["name_first"] is not None and l["name_first"] == r["name_first"]) or (
        l["first_phon"] is not None and l["first_phon"] == r["first_phon"]
    ):
        return 2
    if similarity >= 0.7:
        return 1
    return 0


def birth_date_level(l: Mapping[str, Any], r: Mapping[str, Any]) -> int:  # noqa: E741
    if _null(l["birth_date"], r["birth_date"]):
        return -1
    if l["birth_date"] == r["birth_date"]:
        return 5
    if l["birth_date"] == r["birth_date_swapped"]:
        return 4
    if within_one_edit(l["birth_date"], r["birth_date"]):
        return 3
    year_close = abs(l["birth_year"] - r["birth_year"]) <= 1
    if l["birth_month"] == r["birth_month"] and l["birth_day"] == r["birth_day"] and year_close:
        return 2
    if year_close:
        return 1
    return 0


def _exact(column: str, l: Mapping[str, Any], r: Mapping[str, Any]) -> int:  # noqa: E741
    if _null(l[column], r[column]):
        return -1
    return 1 if l[column] == r[column] else 0


def birth_place_level(l: Mapping[str, Any], r: Mapping[str, Any], jw: Similarity = jaro_winkler) -> int:  # noqa: E741
    left, right = l["birth_place_norm"], r["birth_place_norm"]
    if _null(left, right):
        return -1
    if left == right:
        return 2
    return 1 if jw(left, right) >= 0.88 else 0


def mother_level(l: Mapping[str, Any], r: Mapping[str, Any], jw: Similarity = jaro_winkler) -> int:  # noqa: E741
    left, right = l["mother_norm"], r["mother_norm"]
    if _null(left, right):
        return -1
    if left == right:
        return 3
    if jw(left, right) >= 0.9:
        return 2
    if l["mother_first"] is not None and l["mother_first"] == r["mother_first"]:
        return 1
    return 0


_REGION = ("village_code", "district_code", "regency_code", "province_code")


def region_level(l: Mapping[str, Any], r: Mapping[str, Any]) -> int:  # noqa: E741
    if all(l[column] is None for column in _REGION) or all(r[column] is None for column in _REGION):
        return -1
    for value, column in zip((4, 3, 2, 1), _REGION, strict=True):
        if l[column] is not None and l[column] == r[column]:
            return value
    return 0


#: Columns compared with Jaro-Winkler (the incremental matcher asks DuckDB for these values).
JARO_WINKLER_COLUMNS = ("name_norm", "birth_place_norm", "mother_norm")


def comparison_vector(
    l: Mapping[str, Any],  # noqa: E741
    r: Mapping[str, Any],
    jw: Similarity = jaro_winkler,
) -> list[int]:
    """Gammas of (name, birth_date, sex, birth_place, mother_name, region, nik), the order of the
    model's comparisons; ``jw``: the Jaro-Winkler similarity to use."""
    return [
        name_level(l, r, jw),
        birth_date_level(l, r),
        _exact("sex", l, r),
        birth_place_level(l, r, jw),
        mother_level(l, r, jw),
        region_level(l, r),
        _exact("nik", l, r),
    ]


@lru_cache(maxsize=1)
def _reference_conditions() -> tuple[tuple[str, ...], ...]:
    from ektp.linkage.model import ektp_settings

    settings = ektp_settings().get_settings("duckdb")
    return tuple(
        tuple(level.sql_condition for level in comparison.comparison_levels)
        for comparison in settings.comparisons
    )


def check_levels_match(conditions: Sequence[Sequence[str]]) -> None:
    """Refuse a model whose comparison levels are not the ektp ones (their SQL differs)."""
    reference = _reference_conditions()
    if tuple(tuple(levels) for levels in conditions) != reference:
        raise invalid(
            "model",
            "levels",
            "the incremental matcher evaluates the ektp comparison levels; this model's levels differ "
            "(train it with ektp.linkage.model.train_model)",
        )
