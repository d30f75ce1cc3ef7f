"""Name and place normalisation for Indonesian person records (pure functions, no I/O).

What a legacy register holds for one person, and what has to come out equal:

* **Case, accents, punctuation.** "Moh. Ma'ruf" and "MOH MARUF": upper case, accents folded to
  A–Z, apostrophes join ("MA'RUF" → "MARUF"), every other non-letter separates words.
* **Titles and degrees.** Religious and academic titles are not part of the name: leading
  H., HJ. (haji / hajjah), KH., IR., DR., DRS., DRA., PROF., DRG.; trailing degrees (S.PD., S.H.,
  S.E., S.KOM., M.SI., A.MD., ...) and everything after a comma ("BUDI, S.PD.") are dropped.
* **Abbreviations.** MOH., MOCH., MUH., MHD., M. and the spelled-out variants (MOHAMAD,
  MUCHAMMAD, ...) → MUHAMMAD; ABD. → ABDUL; a leading ST. → SITI.
* **Old spellings** (van Ophuijsen 1901 / Soewandi 1947, replaced by EYD in 1972). Old ``dj`` =
  new ``j``, ``tj`` = ``c``, ``nj`` = ``ny``, ``sj`` = ``sy``, ``ch`` = ``kh``, ``oe`` = ``u``,
  and old ``j`` = new ``y``. The last rule is the trap: modern JOKO must stay JOKO, while the J of
  old TJAHJO is a Y (CAHYO). The letter J alone cannot tell the eras apart, so a name is read as
  old-spelled when any of its words carries an unambiguous old marker (OE, DJ or TJ anywhere, NJ or SJ opening a word —
  modern words hold NJ inside: CIANJUR); only
  then is a lone J turned into Y. DJOKO → JOKO, SOEHARTO → SUHARTO, TJAHJO → CAHYO, JOESOEF →
  YUSUF. An old J in a name with no other marker (JANTI for YANTI) is left to the phonetic key,
  which folds J and Y together.

:func:`normalise_name` is idempotent (a property test checks it), and so is
:func:`phonetic_key`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

#: Leading titles (no part of the name): haji/hajjah, kyai haji, engineer, doctor, professor, ...
TITLES: frozenset[str] = frozenset(
    {"H", "HJ", "HAJI", "HAJJAH", "KH", "IR", "DR", "DRS", "DRA", "DRG", "PROF", "USTADZ", "USTADZAH"}
)
#: Academic degrees written after a name (dots removed): S.PD. → SPD.
DEGREES: frozenset[str] = frozenset(
    {
        "SPD", "SPDI", "SH", "SE", "ST", "SKOM", "SSOS", "SAG", "SKM", "SIP", "SKED", "SFARM",
        "SPSI", "SSI", "SHI", "SSN", "SKEP", "SSTP", "SPT", "SP", "SS", "SAB", "STP", "SIKOM",
        "MM", "MSI", "MPD", "MH", "MT", "MKES", "MAG", "MKOM", "MSC", "MBA", "MA", "PHD",
        "AMD", "AMDKEB", "AMDKEP", "AMKEB", "AMKEP", "AMA", "BA", "BSC", "LC", "MPDI",
    }
)  # fmt: skip
#: Written forms of MUHAMMAD (abbreviated or spelled otherwise), after old spellings are folded.
MUHAMMAD_FORMS: frozenset[str] = frozenset(
    {
        "M", "MOH", "MOCH", "MOKH", "MUH", "MUCH", "MUKH", "MHD", "MHMD", "MOHD", "MUHD", "MUHAMAD",
        "MUHAMMAD", "MUHAMMED", "MUHAMED", "MOHAMAD", "MOHAMMAD", "MOHAMMED", "MOHAMED",
        "MOKHAMAD", "MOKHAMMAD", "MUKHAMAD", "MUKHAMMAD", "MUHAMMAT", "MUHAMAT", "MOHAMMAT",
        "MUHHAMAD", "MUHAMMADD",
    }
)  # fmt: skip
ABDUL_FORMS: frozenset[str] = frozenset({"ABD", "ABDL", "ABDOEL", "ABDUL", "ABDOL"})
SITI_FORMS: frozenset[str] = frozenset({"ST", "SITI", "SITTI"})
#: Markers that only occur in the old spellings (after punctuation is removed): anywhere in a
#: word, and at the start of a word (modern words hold NJ inside: CIANJUR, BANJAR, SENJA).
_OLD_MARKERS = ("OE", "DJ", "TJ")
_OLD_OPENERS = ("NJ", "SJ")
#: Digraph rewrites, old → new; a J left over in an old-spelled word is a Y.
_DIGRAPHS = {"OE": "U", "DJ": "J", "TJ": "C", "NJ": "NY", "SJ": "SY", "CH": "KH"}
_JOINERS = frozenset("'`\u2018\u2019")
_NOT_LETTER = re.compile(r"[^A-Z]+")
_MAX_PASSES = 8


def fold_letters(text: str) -> str:
    """Upper case A–Z and spaces: accents folded (É → E), apostrophes join the parts of a word,
    every other character separates words."""
    decomposed = unicodedata.normalize("NFKD", text.upper())
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch) and ch not in _JOINERS)
    return " ".join(_NOT_LETTER.sub(" ", kept).split())


def is_old_spelling(words: list[str]) -> bool:
    """Whether any word carries a marker found only in the pre-1972 spellings."""
    return any(marker in word for word in words for marker in _OLD_MARKERS) or any(
        word.startswith(_OLD_OPENERS) for word in words
    )


def _modernise_once(word: str, old: bool) -> str:
    out: list[str] = []
    index = 0
    length = len(word)
    while index < length:
        pair = word[index : index + 2]
        if len(pair) == 2 and pair in _DIGRAPHS and (old or pair == "CH"):
            out.append(_DIGRAPHS[pair])
            index += 2
            continue
        char = word[index]
        out.append("Y" if old and char == "J" else char)
        index += 1
    return "".join(out)


def modernise_words(words: list[str]) -> list[str]:
    """Words in the 1972 (EYD) spelling: the old rules apply to the whole name when one of its
    words is old-spelled (see the module doc); ``CH`` → ``KH`` always. Repeated until nothing
    changes, so the result is a fixed point."""
    current = list(words)
    for _ in range(_MAX_PASSES):
        old = is_old_spelling(current)
        updated = [_modernise_once(word, old) for word in current]
        if updated == current:
            break
        current = updated
    return current


def modern_spelling(word: str) -> str:
    """One word in the 1972 spelling (see :func:`modernise_words`)."""
    return " ".join(modernise_words(fold_letters(word).split()))


def _raw_words(raw: str) -> list[str]:
    """Words of a raw name with degrees and titles removed, punctuation still attached."""
    text = raw.upper().split(",", 1)[0]
    words = text.replace(".", ". ").split()
    # Degrees written with inner dots ("S.PD.", "A.MD") became several pieces: rejoin trailing
    # pieces into candidate degrees from the end.
    while words:
        joined = ""
        consumed = 0
        for size in range(1, min(3, len(words) - 1) + 1):
            candidate = "".join(words[-size:]).replace(".", "")
            if candidate in DEGREES and any("." in piece for piece in words[-size:]):
                joined = candidate
                consumed = size
        if not joined:
            break
        del words[-consumed:]
    while len(words) > 1 and words[0].rstrip(".") in TITLES:
        words.pop(0)
    return words


def normalise_name(raw: str | None) -> str:
    """The comparable form of a name: A–Z words separated by single spaces, titles and degrees
    removed, abbreviations expanded, modern spelling ("" for an empty name).

    >>> normalise_name("H. Moch. Djoko Soesilo, S.Pd.")
    'MUHAMMAD JOKO SUSILO'
    """
    if raw is None:
        return ""
    words: list[str] = []
    for piece in _raw_words(raw):
        words.extend(fold_letters(piece).split())
    words = modernise_words(words)
    expanded: list[str] = []
    for position, word in enumerate(words):
        if word in MUHAMMAD_FORMS:
            expanded.append("MUHAMMAD")
        elif word in ABDUL_FORMS:
            expanded.append("ABDUL")
        elif word in SITI_FORMS and (position == 0 or word != "ST"):
            expanded.append("SITI")
        else:
            expanded.append(word)
    # Titles with no dot that survived ("HJ SITI AMINAH", or "H-ALI" split only by folding): drop
    # leading ones while a name remains — the same rule as for the raw words, so that normalising
    # a normalised name changes nothing.
    while len(expanded) > 1 and expanded[0] in TITLES:
        expanded.pop(0)
    return " ".join(expanded)


@lru_cache(maxsize=20_000)
def normalise_place(raw: str | None) -> str:
    """A birth place as written on cards: upper case A–Z words, modern spelling, the words
    KABUPATEN / KOTA / KAB dropped ("Kab. Tjiandjoer" → "CIANJUR")."""
    if raw is None:
        return ""
    words = [word for word in fold_letters(raw).split() if word not in {"KABUPATEN", "KAB", "KOTA"}]
    return " ".join(modernise_words(words))


# ------------------------------------------------------------------------------------------------
# Phonetic key

_PHONETIC_DIGRAPHS = (("KH", "H"), ("SY", "S"), ("NY", "N"), ("NG", "N"), ("DH", "D"), ("TH", "T"),
                      ("PH", "F"), ("CH", "C"))  # fmt: skip
_PHONETIC_LETTERS = str.maketrans({"Y": "J", "Z": "S", "Q": "K", "X": "S", "V": "P", "F": "P", "E": "A",
                                   "I": "A", "O": "A", "U": "A"})  # fmt: skip
_VOWEL = "A"


def phonetic_word(word: str) -> str:
    """A sound key for one word of an already normalised name: Indonesian-tuned skeleton.

    Digraphs fold (KH → H, SY → S, NY → N, NG → N), letters that old/new spellings and regional
    pronunciations swap fold together (Y/J, Z/S, F/V/P, Q/K), vowels are dropped after the first
    letter (a leading vowel is kept as A), H is dropped after the first letter, and repeated
    letters collapse. MUHAMMAD / MOHAMAD / MUCHAMMAD → ``MMD``; FITRI / PITRI → ``PTR``."""
    letters = fold_letters(word).replace(" ", "")
    if not letters:
        return ""
    for pair, single in _PHONETIC_DIGRAPHS:
        letters = letters.replace(pair, single)
    letters = letters.translate(_PHONETIC_LETTERS)
    head, tail = letters[0], letters[1:]
    skeleton = [head]
    for char in tail:
        if char in {_VOWEL, "H"}:
            continue
        skeleton.append(char)
    collapsed = [skeleton[0]]
    for char in skeleton[1:]:
        if char != collapsed[-1]:
            collapsed.append(char)
    return "".join(collapsed)


def phonetic_key(name: str) -> str:
    """The phonetic key of every word of a normalised name, space separated."""
    return " ".join(key for key in (phonetic_word(word) for word in name.split()) if key)


# ------------------------------------------------------------------------------------------------
# Name features


@dataclass(frozen=True)
class NameFeatures:
    """What the linkage model compares of a name."""

    normalised: str
    first: str
    last: str
    tokens: tuple[str, ...]
    phonetic: str
    first_phonetic: str
    last_phonetic: str


@lru_cache(maxsize=200_000)
def name_features(raw: str | None) -> NameFeatures:
    """Normalised name, first and last word, sorted distinct words (for a token-set Jaccard) and
    phonetic keys. A single name has first == last, so it still meets a two-word version of
    itself on the first (or last) word."""
    normalised = normalise_name(raw)
    words = normalised.split()
    phonetic_words = [phonetic_word(word) for word in words]
    return NameFeatures(
        normalised=normalised,
        first=words[0] if words else "",
        last=words[-1] if words else "",
        tokens=tuple(sorted(set(words))),
        phonetic=" ".join(phonetic_words),
        first_phonetic=phonetic_words[0] if phonetic_words else "",
        last_phonetic=phonetic_words[-1] if phonetic_words else "",
    )


def token_jaccard(left: str, right: str) -> float:
    """Jaccard similarity of the word sets of two normalised names (0 when either is empty)."""
    a, b = set(left.split()), set(right.split())
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
