"""Reference figures for the synthetic population. All *(approx.)*: rounded public figures or
reasonable assumptions, kept here in one place so that they can be checked and changed.

* province populations: Dukcapil, December 2024 (BRIEF §7), rounded to 10,000;
* religion by province: Dukcapil/BPS shares, rounded, calibrated so that the national mix comes out
  at Islam 87.0 %, Kristen 7.4 %, Katolik 3.1 %, Hindu 1.7 %, Buddha 0.7 %, Konghucu 0.05 %,
  Kepercayaan 0.04 %;
* naming culture by province and religion: rough ethnic composition (Sundanese in Jawa Barat,
  Batak in Sumatera Utara, Bugis in Sulawesi Selatan, ...), enough for names to look local;
* age pyramid: Population Census 2020, 5-year bands (young population, median age ≈ 30);
* marital status by age and sex, occupations by age and sex, blood types: rounded survey shares.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

#: Population by Kemendagri province code, in people (Dukcapil, Dec 2024, approx.).
PROVINCE_POPULATION: Final = MappingProxyType(
    {
        "11": 5_620_000,
        "12": 15_600_000,
        "13": 5_800_000,
        "14": 7_100_000,
        "15": 3_720_000,
        "16": 9_100_000,
        "17": 2_110_000,
        "18": 9_100_000,
        "19": 1_530_000,
        "21": 2_200_000,
        "31": 11_000_000,
        "32": 51_300_000,
        "33": 38_400_000,
        "34": 3_780_000,
        "35": 41_900_000,
        "36": 12_900_000,
        "51": 4_430_000,
        "52": 5_690_000,
        "53": 5_660_000,
        "61": 5_620_000,
        "62": 2_810_000,
        "63": 4_300_000,
        "64": 4_000_000,
        "65": 770_000,
        "71": 2_700_000,
        "72": 3_120_000,
        "73": 9_500_000,
        "74": 2_800_000,
        "75": 1_220_000,
        "76": 1_480_000,
        "81": 1_930_000,
        "82": 1_380_000,
        "91": 1_070_000,
        "92": 600_000,
        "93": 550_000,
        "94": 1_430_000,
        "95": 1_460_000,
        "96": 630_000,
    }
)

#: Religion codes in the order used by the generator (values of ``ektp.population.codes.Religion``).
RELIGIONS: Final = ("ISLAM", "KRISTEN", "KATOLIK", "HINDU", "BUDDHA", "KONGHUCU", "KEPERCAYAAN")


def _r(
    islam: float,
    kristen: float,
    katolik: float,
    hindu: float = 0.0,
    buddha: float = 0.0,
    konghucu: float = 0.0,
    kepercayaan: float = 0.0,
) -> tuple[float, ...]:
    return (islam, kristen, katolik, hindu, buddha, konghucu, kepercayaan)


#: Religion shares (percent) by province, in the order of :data:`RELIGIONS`.
RELIGION_BY_PROVINCE: Final = MappingProxyType(
    {
        "11": _r(98.6, 1.1, 0.1, 0.0, 0.2),
        "12": _r(66.0, 26.6, 5.0, 0.1, 2.2, 0.05, 0.05),
        "13": _r(97.6, 1.8, 0.5, 0.0, 0.1),
        "14": _r(87.5, 8.9, 1.3, 0.1, 2.1, 0.1),
        "15": _r(95.3, 3.3, 0.4, 0.0, 1.0),
        "16": _r(96.5, 1.4, 0.6, 0.3, 1.2),
        "17": _r(97.3, 1.6, 0.5, 0.5, 0.1),
        "18": _r(95.5, 1.6, 1.0, 1.4, 0.5),
        "19": _r(89.0, 1.5, 1.3, 0.1, 6.5, 1.6),
        "21": _r(78.0, 12.5, 2.4, 0.1, 6.5, 0.5),
        "31": _r(84.6, 8.6, 3.6, 0.2, 2.8, 0.15, 0.02),
        "32": _r(97.45, 1.7, 0.55, 0.05, 0.2, 0.03, 0.05),
        "33": _r(97.3, 1.6, 1.0, 0.03, 0.07, 0.0, 0.05),
        "34": _r(92.7, 2.7, 4.45, 0.1, 0.05),
        "35": _r(97.3, 1.65, 0.45, 0.4, 0.15, 0.03, 0.03),
        "36": _r(94.8, 2.8, 0.9, 0.1, 1.35, 0.05),
        "51": _r(10.1, 1.7, 0.9, 86.7, 0.5, 0.02, 0.0),
        "52": _r(96.8, 0.2, 0.1, 2.6, 0.3),
        "53": _r(9.5, 36.5, 53.6, 0.2, 0.0, 0.0, 0.2),
        "61": _r(62.0, 10.8, 21.2, 0.0, 5.5, 0.5, 0.02),
        "62": _r(74.0, 19.1, 2.9, 3.9, 0.1, 0.0, 0.1),
        "63": _r(97.8, 1.1, 0.5, 0.1, 0.5),
        "64": _r(88.9, 7.9, 2.6, 0.2, 0.4),
        "65": _r(73.0, 20.0, 6.6, 0.1, 0.3),
        "71": _r(31.0, 64.0, 4.4, 0.5, 0.1),
        "72": _r(78.0, 17.0, 0.8, 3.6, 0.6),
        "73": _r(90.0, 7.7, 1.4, 0.7, 0.2),
        "74": _r(95.0, 1.7, 0.6, 2.6, 0.1),
        "75": _r(97.8, 1.8, 0.2, 0.1, 0.1),
        "76": _r(83.0, 14.9, 1.6, 0.4, 0.1),
        "81": _r(52.7, 38.5, 7.6, 0.3, 0.0, 0.0, 0.9),
        "82": _r(75.0, 24.4, 0.5, 0.05, 0.05),
        "91": _r(25.0, 62.0, 12.7, 0.1, 0.2),
        "92": _r(42.0, 52.0, 5.8, 0.1, 0.1),
        "93": _r(25.0, 15.0, 59.8, 0.1, 0.1),
        "94": _r(8.0, 68.0, 23.9, 0.05, 0.05),
        "95": _r(2.0, 75.0, 22.9, 0.05, 0.05),
        "96": _r(35.0, 57.5, 7.3, 0.1, 0.1),
    }
)

#: National religion shares (percent) the province table is calibrated to.
NATIONAL_RELIGION: Final = _r(87.0, 7.4, 3.1, 1.7, 0.7, 0.05, 0.04)

# Naming culture by province, for Muslims (the largest group almost everywhere) and for the other
# religions where the province has its own Christian culture.
_MUSLIM_CULTURES: Final[dict[str, dict[str, float]]] = {
    "11": {"muslim": 0.95, "javanese": 0.05},
    "12": {"mandailing": 0.35, "muslim": 0.3, "javanese": 0.3, "minang": 0.05},
    "13": {"minang": 0.95, "mandailing": 0.02, "javanese": 0.03},
    "14": {"muslim": 0.5, "minang": 0.2, "javanese": 0.25, "mandailing": 0.05},
    "15": {"muslim": 0.6, "javanese": 0.3, "minang": 0.1},
    "16": {"muslim": 0.7, "javanese": 0.3},
    "17": {"muslim": 0.7, "javanese": 0.2, "minang": 0.1},
    "18": {"javanese": 0.6, "muslim": 0.3, "sundanese": 0.1},
    "19": {"muslim": 0.9, "javanese": 0.1},
    "21": {"muslim": 0.55, "javanese": 0.2, "minang": 0.15, "bugis": 0.1},
    "31": {
        "muslim": 0.35,
        "javanese": 0.35,
        "sundanese": 0.15,
        "minang": 0.07,
        "mandailing": 0.03,
        "bugis": 0.05,
    },
    "32": {"sundanese": 0.75, "javanese": 0.12, "muslim": 0.13},
    "33": {"javanese": 0.97, "muslim": 0.03},
    "34": {"javanese": 0.97, "muslim": 0.03},
    "35": {"javanese": 0.85, "muslim": 0.15},
    "36": {"sundanese": 0.5, "muslim": 0.35, "javanese": 0.15},
    "51": {"javanese": 0.5, "muslim": 0.3, "bugis": 0.1, "sundanese": 0.1},
    "52": {"muslim": 0.9, "bugis": 0.05, "javanese": 0.05},
    "53": {"muslim": 0.6, "bugis": 0.3, "javanese": 0.1},
    "61": {"muslim": 0.75, "javanese": 0.15, "bugis": 0.1},
    "62": {"muslim": 0.6, "javanese": 0.4},
    "63": {"muslim": 0.85, "javanese": 0.15},
    "64": {"muslim": 0.35, "javanese": 0.35, "bugis": 0.3},
    "65": {"bugis": 0.4, "muslim": 0.4, "javanese": 0.2},
    "71": {"muslim": 0.7, "javanese": 0.1, "bugis": 0.2},
    "72": {"muslim": 0.55, "bugis": 0.3, "javanese": 0.15},
    "73": {"bugis": 0.92, "javanese": 0.03, "muslim": 0.05},
    "74": {"buton": 0.35, "muslim": 0.3, "bugis": 0.25, "javanese": 0.1},
    "75": {"muslim": 0.9, "bugis": 0.1},
    "76": {"bugis": 0.6, "muslim": 0.3, "javanese": 0.1},
    "81": {"maluku_muslim": 0.6, "buton": 0.25, "bugis": 0.15},
    "82": {"muslim": 0.6, "maluku_muslim": 0.25, "bugis": 0.15},
}
_PAPUA_MUSLIM: Final = {"javanese": 0.45, "bugis": 0.3, "buton": 0.15, "muslim": 0.1}
_PAPUA_CHRISTIAN: Final = {"papuan": 0.8, "christian": 0.08, "maluku": 0.06, "minahasa": 0.03, "batak": 0.03}
_PAPUA = ("91", "92", "93", "94", "95", "96")

#: Christian naming cultures by province, where the province has its own.
_CHRISTIAN_CULTURES: Final[dict[str, dict[str, float]]] = {
    "12": {"batak": 0.9, "chinese": 0.05, "christian": 0.05},
    "53": {"ntt": 0.95, "christian": 0.05},
    "71": {"minahasa": 0.92, "christian": 0.05, "chinese": 0.03},
    "81": {"maluku": 0.92, "christian": 0.05, "chinese": 0.03},
    "82": {"maluku": 0.6, "minahasa": 0.2, "christian": 0.2},
    "61": {"christian": 0.8, "chinese": 0.2},
    "62": {"christian": 0.9, "batak": 0.05, "chinese": 0.05},
    "65": {"christian": 0.8, "minahasa": 0.1, "batak": 0.1},
    "64": {"christian": 0.5, "batak": 0.2, "minahasa": 0.1, "ntt": 0.1, "chinese": 0.1},
    "72": {"christian": 0.8, "minahasa": 0.15, "chinese": 0.05},
    "73": {"christian": 0.85, "chinese": 0.15},
    "76": {"christian": 0.95, "chinese": 0.05},
    **dict.fromkeys(_PAPUA, _PAPUA_CHRISTIAN),
}
_CHRISTIAN_DEFAULT: Final = {
    "christian": 0.4,
    "batak": 0.25,
    "chinese": 0.18,
    "minahasa": 0.06,
    "ntt": 0.06,
    "maluku": 0.05,
}
_CATHOLIC_DEFAULT: Final = {"christian": 0.6, "chinese": 0.22, "ntt": 0.12, "batak": 0.06}
_CATHOLIC_CULTURES: Final[dict[str, dict[str, float]]] = {
    "12": {"batak": 0.85, "chinese": 0.1, "christian": 0.05},
    "53": {"ntt": 0.97, "christian": 0.03},
    "61": {"christian": 0.85, "chinese": 0.15},
    "81": {"maluku": 0.6, "christian": 0.3, "ntt": 0.1},
    **dict.fromkeys(_PAPUA, _PAPUA_CHRISTIAN),
}


def culture_weights(province: str, religion: str) -> dict[str, float]:
    """Naming culture weights for a family of ``religion`` living in ``province``."""
    if religion == "ISLAM":
        if province in _PAPUA:
            return dict(_PAPUA_MUSLIM)
        return dict(_MUSLIM_CULTURES.get(province, {"muslim": 1.0}))
    if religion == "KRISTEN":
        return dict(_CHRISTIAN_CULTURES.get(province, _CHRISTIAN_DEFAULT))
    if religion == "KATOLIK":
        return dict(_CATHOLIC_CULTURES.get(province, _CATHOLIC_DEFAULT))
    if religion == "HINDU":
        if province in ("33", "34", "35"):
            return {"javanese": 0.8, "balinese": 0.2}
        if province == "62":
            return {"christian": 0.7, "balinese": 0.3}
        return {"balinese": 1.0}
    if religion == "BUDDHA":
        if province in ("33", "34", "35"):
            return {"chinese": 0.75, "javanese": 0.25}
        return {"chinese": 0.95, "javanese": 0.05}
    if religion == "KONGHUCU":
        return {"chinese": 1.0}
    # KEPERCAYAAN: kejawen, Sunda Wiwitan, Parmalim, Marapu, Kaharingan, ...
    local = {
        "32": "sundanese",
        "36": "sundanese",
        "12": "batak",
        "53": "ntt",
        "62": "christian",
        "81": "maluku",
    }
    return {local.get(province, "javanese"): 1.0}


#: Age pyramid, Population Census 2020: share (percent) of each 5-year band 0–4 … 75–79, 80+.
AGE_BANDS: Final = (
    8.1, 8.4, 8.3, 8.1, 8.1, 7.8, 7.7, 7.5, 7.1, 6.4, 5.7, 4.8, 3.8, 2.8, 1.7, 0.9, 0.8,
)  # fmt: skip
#: The oldest age generated (the 80+ band is spread over 80–95, thinning out).
MAX_AGE: Final = 95
#: Share of men at birth-to-old-age, roughly (the census sex ratio is 102).
MALE_SHARE: Final = 0.505

# Marital status by age (completed years) and sex. Ever-married share by age band, then the share
# of the ever-married who are widowed or divorced (and not remarried).
EVER_MARRIED_AGES: Final = (15, 17, 20, 25, 30, 35, 40, 50, 200)
EVER_MARRIED_FEMALE: Final = (0.01, 0.08, 0.45, 0.78, 0.90, 0.94, 0.96, 0.97)
EVER_MARRIED_MALE: Final = (0.0, 0.02, 0.20, 0.60, 0.82, 0.90, 0.95, 0.97)
WIDOWED_AGES: Final = (0, 30, 40, 50, 60, 70, 80, 200)
WIDOWED_FEMALE: Final = (0.005, 0.02, 0.05, 0.13, 0.28, 0.50, 0.70)
WIDOWED_MALE: Final = (0.002, 0.005, 0.015, 0.03, 0.07, 0.15, 0.30)
DIVORCED_FEMALE: Final = 0.04
DIVORCED_MALE: Final = 0.02

#: Blood types among those who know it (O 40 %, A 25 %, B 28 %, AB 7 %); most records say unknown.
BLOOD_TYPE_SHARES: Final = {"O": 0.40, "A": 0.25, "B": 0.28, "AB": 0.07}
BLOOD_TYPE_UNKNOWN: Final = 0.55
#: Of the known blood types, the share written with a rhesus sign (almost always +).
BLOOD_RHESUS_WRITTEN: Final = 0.3
BLOOD_RHESUS_NEGATIVE: Final = 0.01

# Occupations: the labels of the Dukcapil (SIAK) occupation list.
BELUM_BEKERJA: Final = "BELUM/TIDAK BEKERJA"
PELAJAR: Final = "PELAJAR/MAHASISWA"
MENGURUS_RUMAH_TANGGA: Final = "MENGURUS RUMAH TANGGA"
PENSIUNAN: Final = "PENSIUNAN"

#: Weights of working-age occupations by sex (men, women), before the urban/rural adjustment.
#: ``rural``: how much more common the occupation is in a desa than in a kelurahan (>1 rural,
#: <1 urban).
OCCUPATIONS: Final[tuple[tuple[str, float, float, float], ...]] = (
    # label, men, women, rural factor
    ("WIRASWASTA", 22.0, 9.0, 0.8),
    ("KARYAWAN SWASTA", 18.0, 9.0, 0.5),
    ("PETANI/PEKEBUN", 16.0, 6.0, 3.0),
    ("BURUH HARIAN LEPAS", 9.0, 2.5, 1.3),
    ("PEDAGANG", 4.0, 4.0, 0.8),
    ("BURUH TANI/PERKEBUNAN", 3.5, 1.5, 3.0),
    ("NELAYAN/PERIKANAN", 2.0, 0.1, 1.5),
    ("PEGAWAI NEGERI SIPIL (PNS)", 2.5, 2.0, 0.7),
    ("GURU", 1.0, 2.2, 1.0),
    ("SOPIR", 1.8, 0.0, 0.8),
    ("TUKANG BATU", 1.2, 0.0, 1.2),
    ("TUKANG KAYU", 0.8, 0.0, 1.2),
    ("KARYAWAN HONORER", 1.0, 1.0, 1.0),
    ("KARYAWAN BUMN", 0.6, 0.3, 0.5),
    ("TENTARA NASIONAL INDONESIA (TNI)", 0.6, 0.02, 1.0),
    ("KEPOLISIAN RI (POLRI)", 0.5, 0.05, 0.8),
    ("PERANGKAT DESA", 0.4, 0.1, 3.0),
    ("KEPALA DESA", 0.05, 0.01, 3.0),
    ("MEKANIK", 0.5, 0.0, 0.8),
    ("TRANSPORTASI", 0.4, 0.02, 0.7),
    ("PERDAGANGAN", 0.6, 0.5, 0.7),
    ("INDUSTRI", 0.4, 0.3, 0.6),
    ("KONSTRUKSI", 0.3, 0.0, 0.8),
    ("PETERNAK", 0.5, 0.1, 2.5),
    ("PEMBANTU RUMAH TANGGA", 0.05, 0.8, 0.6),
    ("TUKANG JAHIT", 0.1, 0.4, 1.0),
    ("PENATA RAMBUT", 0.05, 0.15, 0.6),
    ("TUKANG CUKUR", 0.1, 0.0, 0.8),
    ("TUKANG LISTRIK", 0.15, 0.0, 0.8),
    ("TUKANG LAS/PANDAI BESI", 0.15, 0.0, 1.0),
    ("PERAWAT", 0.1, 0.5, 0.7),
    ("BIDAN", 0.0, 0.3, 1.0),
    ("DOKTER", 0.05, 0.06, 0.4),
    ("DOSEN", 0.06, 0.05, 0.3),
    ("USTADZ/MUBALIGH", 0.1, 0.02, 1.5),
    ("IMAM MASJID", 0.03, 0.0, 1.5),
    ("PENDETA", 0.03, 0.01, 1.2),
    ("WARTAWAN", 0.03, 0.02, 0.4),
    ("PENGACARA", 0.02, 0.01, 0.3),
    ("AKUNTAN", 0.02, 0.03, 0.3),
    ("APOTEKER", 0.01, 0.02, 0.4),
    ("KARYAWAN BUMD", 0.1, 0.05, 0.6),
    ("SENIMAN", 0.03, 0.02, 0.7),
    ("JURU MASAK", 0.05, 0.05, 0.7),
    ("PELAUT", 0.1, 0.0, 1.0),
    ("LAINNYA", 0.5, 0.3, 1.0),
)

#: Share of people still in education by age (the rest of the young are working or at home).
STUDENT_SHARE_BY_AGE: Final = {
    **dict.fromkeys(range(7, 13), 0.99),
    13: 0.97, 14: 0.95, 15: 0.9, 16: 0.85, 17: 0.78, 18: 0.6, 19: 0.4, 20: 0.3, 21: 0.27,
    22: 0.22, 23: 0.12, 24: 0.06,
}  # fmt: skip
#: Children of 5 and 6 are often already at school (TK/SD) and listed as students.
STUDENT_SHARE_5_6: Final = 0.5
#: Working-age women listed as MENGURUS RUMAH TANGGA (home-makers), by marital status.
HOMEMAKER_MARRIED_WOMEN: Final = 0.55
HOMEMAKER_OTHER_WOMEN: Final = 0.2
#: Not working at all (BELUM/TIDAK BEKERJA) among adults who are not students.
NOT_WORKING_ADULTS: Final = 0.08
#: Share of people of 58 and over listed as PENSIUNAN, and of 65+ listed as not working.
PENSIONERS_58: Final = 0.12
ELDERLY_NOT_WORKING: Final = 0.35

#: Provinces that are (almost) entirely urban, where village weights and farming shrink.
URBAN_PROVINCES: Final = frozenset({"31"})
#: Relative weight of a kelurahan (urban village, code 1xxx) against a desa (2xxx) when placing
#: families, and of a village in a kota (regency code ≥ 71) against one in a kabupaten.
KELURAHAN_WEIGHT: Final = 3.0
KOTA_WEIGHT: Final = 1.5
