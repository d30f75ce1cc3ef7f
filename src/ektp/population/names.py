"""Name rules and name normalisation.

The 2022 rules (Permendagri 73/2022 on recording names on population documents) apply to records
created from 1 January 2022 on (``recorded_on``), never retroactively:

* Latin letters A–Z and spaces only: no digits (rule ``digits``), no punctuation (rule
  ``punctuation``), no other scripts or accented letters (rule ``latin_letters``). The apostrophe
  counts as punctuation — the regulation makes no exception for it, so "MA'RUF" is written "MARUF";
  hyphens likewise.
* at most 60 characters including spaces (rule ``max_length``);
* at least two words (rule ``min_words``);
* no abbreviations (rule ``abbreviation``): a one-letter word ("M ALI") or a common abbreviated
  name part (MOH, MUH, MHD, ABD, ...). Punctuated abbreviations ("MOH.") already fail
  ``punctuation``.

Records created before 2022 (legacy imports) may hold single names (common in Java),
abbreviations ("Moh.", "M.") and punctuation; they are only held to what storage needs: not empty
(rule ``required``) and at most :data:`STORED_MAX` characters (rule ``max_length``).

Every name is stored upper-cased with whitespace normalised, as the card prints it; the search
key (:func:`search_key`) further drops everything but A–Z and single spaces. Old spellings
(oe/u, dj/j, tj/c, j/y) are *not* folded here: the two eras use the letter J for different
sounds, so no single folding is right; spelling-tolerant matching belongs to the demographic
linkage, not to the prefix index.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from ektp.kit.errors import FieldProblem

#: First day on which the 2022 rules apply.
RULES_FROM = dt.date(2022, 1, 1)
#: The 2022 limit.
RULES_MAX = 60
#: The storage limit (legacy names too).
STORED_MAX = 100

#: Abbreviated name parts seen on legacy records; refused on records from 2022 on.
ABBREVIATIONS: frozenset[str] = frozenset(
    {"MOH", "MOCH", "MOHD", "MUH", "MUHD", "MHD", "MHMD", "ABD", "ABDL", "NY", "TN", "SDR", "SDRI"}
)

_SPACES = re.compile(r"\s+")


def normalise_name(name: str) -> str:
    """Upper case, surrounding whitespace removed, inner whitespace runs collapsed to one space."""
    return _SPACES.sub(" ", name).strip().upper()


#: Characters dropped without a trace in the search key (they join the parts of one word).
_JOINERS = frozenset("'`\u2018\u2019")


def search_key(name: str) -> str:
    """The ``name_search`` column: A–Z and single spaces only ("Moh. Ma'ruf" → "MOH MARUF",
    "M.ALI" → "M ALI"). Accents are dropped (é → E); apostrophes join ("MA'RUF" → "MARUF");
    any other character (dots, hyphens, digits, other scripts) separates words."""
    decomposed = unicodedata.normalize("NFKD", normalise_name(name))
    kept = "".join(
        ch
        if ("A" <= ch <= "Z" or ch == " ")
        else ("" if ch in _JOINERS or unicodedata.combining(ch) else " ")
        for ch in decomposed
    )
    return _SPACES.sub(" ", kept).strip()


def rules_apply(recorded_on: dt.date) -> bool:
    return recorded_on >= RULES_FROM


def check_name(name: str, *, recorded_on: dt.date, field: str = "full_name") -> list[FieldProblem]:
    """Problems with ``name`` for a record created on ``recorded_on`` (empty list: fine)."""
    if not isinstance(name, str):
        return [FieldProblem(field, "required", "name must be text")]
    value = normalise_name(name)
    if not value:
        return [FieldProblem(field, "required", "name may not be empty")]
    problems: list[FieldProblem] = []
    if len(value) > STORED_MAX:
        problems.append(FieldProblem(field, "max_length", f"name may have at most {STORED_MAX} characters"))
    if not rules_apply(recorded_on):
        return problems

    if len(value) > RULES_MAX and len(value) <= STORED_MAX:
        problems.append(
            FieldProblem(
                field,
                "max_length",
                f"name may have at most {RULES_MAX} characters (has {len(value)}; rules of 2022)",
            )
        )
    if any(ch.isdigit() for ch in value):
        problems.append(FieldProblem(field, "digits", "name may not contain digits (rules of 2022)"))
    punctuation = sorted({ch for ch in value if not ch.isalnum() and not ch.isspace()})
    if punctuation:
        shown = " ".join(punctuation[:5])
        problems.append(
            FieldProblem(field, "punctuation", f"name may not contain punctuation ({shown}) (rules of 2022)")
        )
    if any(ch.isalpha() and not ("A" <= ch <= "Z") for ch in value):
        problems.append(
            FieldProblem(
                field, "latin_letters", "name may contain only the Latin letters A–Z (rules of 2022)"
            )
        )
    words = [w for w in re.split(r"[^A-Z]+", value) if w]
    if len(value.split(" ")) < 2:
        problems.append(FieldProblem(field, "min_words", "name must have at least two words (rules of 2022)"))
    # "I" opens Balinese men's names (I WAYAN, I MADE): a name element in its own right, not an
    # abbreviation; only the first word may be that.
    abbreviated = [
        w for i, w in enumerate(words) if (len(w) == 1 and not (i == 0 and w == "I")) or w in ABBREVIATIONS
    ]
    if abbreviated:
        problems.append(
            FieldProblem(
                field,
                "abbreviation",
                f"name may not contain abbreviations ({', '.join(abbreviated)}) (rules of 2022)",
            )
        )
    return problems
