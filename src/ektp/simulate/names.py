"""Curated Indonesian name material for the synthetic population.

Lists of common name *parts*, not of people. Each :class:`Culture` is a naming system: which given
names each generation tends to carry, whether a family name (Batak marga, Minahasa fam, NTT,
Maluku and Papuan clan names, Chinese-Indonesian surnames) follows the given names, and whether it
passes from the father or (Minang suku) from the mother. Lists are ordered roughly from common to
rare; the generator weights them Zipf-like, so the first entries turn up most.

Generations ("eras") follow the birth year, because names changed a lot: a Javanese man born in
1950 is very often just SUPARMAN; his grandson born in 2010 is MUHAMMAD RIZKY PRATAMA.

* ``OLD`` — born before 1970 (also the cohort that may still write the pre-1972 spelling:
  oe for u, dj for j, tj for c, j for y, nj for ny, sj for sy: SOEKARNO, DJOKO, TJAHJO);
* ``MIDDLE`` — born 1970–1994;
* ``YOUNG`` — born 1995 or later.

Pre-2022 records also carry abbreviations (MOH., M., ABD., ST.) and the Batak "BR" (boru/beru);
see :data:`ABBREVIATED` and the generator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class Era(IntEnum):
    OLD = 0
    MIDDLE = 1
    YOUNG = 2


#: Birth years that start the MIDDLE and YOUNG eras.
MIDDLE_FROM_YEAR = 1970
YOUNG_FROM_YEAR = 1995


def _w(text: str) -> tuple[str, ...]:
    """Whitespace-separated tokens; a ``_`` inside a token stands for a space ("DA_COSTA")."""
    return tuple(token.replace("_", " ") for token in text.split())


@dataclass(frozen=True)
class Pools:
    """Name parts for one sex, per era: ``first`` opens the name, ``more`` follows it."""

    first: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]
    more: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]
    #: Probability of 1, 2 and 3 given-name words, per era.
    words: tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]


@dataclass(frozen=True)
class Culture:
    key: str
    male: Pools
    female: Pools
    #: Family / clan names. Empty: the culture has none.
    surnames: tuple[str, ...] = ()
    #: Chance that a person's name carries the family name.
    surname_share: float = 0.0
    #: "father" (patrilineal) or "mother" (Minang suku).
    surname_from: str = "father"
    #: Batak women: chance of "BR" (boru/beru) before the marga on a pre-2022 record.
    boru_share: float = 0.0
    #: Balinese birth-order names (I WAYAN, NI MADE, ...).
    balinese: bool = False
    #: Buton: LA (men) / WA (women) before the given name; ODE for nobility.
    buton: bool = False
    #: Hereditary titles carried in the name (ANDI among Bugis nobility), with the share of
    #: families that carry one: (male form, female form, share).
    title: tuple[str, str, float] | None = None
    #: Whether the pre-1972 spelling can occur. Not for baptismal, Chinese or foreign names: the
    #: old rules respelled Indonesian words (DJOKO), never ANTONIUS or JOHANNES.
    old_spelling: bool = True
    #: Extra notes for a reader.
    notes: str = field(default="", compare=False)


# ------------------------------------------------------------------------------------------------
# Shared pools: modern pan-Indonesian names of the YOUNG era (used by most Muslim cultures).

_YOUNG_MUSLIM_MALE = _w(
    "MUHAMMAD RIZKY FAJAR ADITYA DIMAS BAGAS ARYA RAFI ILHAM FARHAN AKBAR RAKA DAFFA NAUFAL ALIF "
    "REZA RANGGA GILANG FIKRI ZIDAN FATHAN ARKAN RAYHAN HAFIZ AZKA ALVARO GIBRAN KHALID ZAKI RAFA"
)
_YOUNG_MUSLIM_MALE_MORE = _w(
    "PRATAMA SAPUTRA RAMADHAN MAULANA NUGROHO WIBOWO KURNIAWAN FIRMANSYAH SETIAWAN HIDAYAT "
    "ARDIANSYAH PUTRA ALFARIZI ALFATIH SYAHPUTRA FADILAH WICAKSONO SANJAYA HAKIM AKBAR PRASETYO "
    "ADITYA ABDILLAH"
)
_YOUNG_MUSLIM_FEMALE = _w(
    "PUTRI SITI NUR ANISA NAYLA AULIA ZAHRA ALYA KEISHA SALSABILA AISYAH DINDA INTAN NABILA "
    "AZZAHRA CITRA SALWA KHANZA NADIA TIARA SYIFA NAJWA ADINDA RAISYA HANIFA ZAHIRA AZKIA FITRI"
)
_YOUNG_MUSLIM_FEMALE_MORE = _w(
    "RAMADHANI PUTRI LESTARI RAHMAWATI NURHALIZA AZZAHRA SAFITRI MAHARANI PRATIWI ANGGRAENI "
    "WULANDARI KHAIRUNNISA HUMAIRA AMELIA PERMATASARI OKTAVIANI FEBRIANTI NURAINI AULIA KIRANA "
    "RAHMADANI ZAHRANI"
)

# Christian given names, shared by the Christian cultures (NTT, Minahasa, Maluku, Papua, Dayak, Java).
_CHRISTIAN_MALE_OLD = _w(
    "YOHANES YOSEPH PETRUS PAULUS MARKUS YAKOBUS FRANSISKUS ANTONIUS AGUSTINUS KORNELIS DOMINIKUS "
    "BERNADUS YOHANIS DANIEL SIMON MIKAEL NIKOLAUS LAURENSIUS ARNOLDUS HENDRIK MARTHEN ALEKSANDER "
    "GREGORIUS MELKIOR YULIUS LUKAS"
)
_CHRISTIAN_MALE_MIDDLE = _w(
    "YOHANES FRANSISKUS YOSEPH PETRUS ANTONIUS MARKUS DANIEL YAKOB MARTHEN ROBERT HENDRIK FREDERIK "
    "ALFRED FERDINAND YULIUS STEFANUS ADRIANUS BENEDIKTUS OKTAVIANUS SAMUEL DAVID RICHARD ALBERTUS "
    "FELIKS SEBASTIANUS"
)
_CHRISTIAN_MALE_YOUNG = _w(
    "KEVIN JONATHAN DANIEL SAMUEL GABRIEL CHRISTIAN YOSUA NATHAN MIKHAEL RAFAEL FERNANDO ANDREAS "
    "JOSHUA ELIAS TIMOTIUS FRANSISKUS DAVID STEVEN BRYAN JEREMY"
)
_CHRISTIAN_FEMALE_OLD = _w(
    "MARIA MAGDALENA YULIANA AGUSTINA ELISABETH MARTHA DORTEA KATARINA MARGARETHA ROSALIA YOHANA "
    "FRANSINA PAULINA SERAFINA SARA DEBORA RAHEL VERONIKA ANASTASIA KORNELIA"
)
_CHRISTIAN_FEMALE_MIDDLE = _w(
    "MARIA YULIANA AGUSTINA ELISABETH FLORENTINA YOSEFINA BERNADETA MARIANA NOVITA FRANSISKA "
    "MAGDALENA SELFINA YOHANA FERONIKA ANGELINA KRISTINA THERESIA MELANIA REGINA LUSIANA"
)
_CHRISTIAN_FEMALE_YOUNG = _w(
    "GRACE NATALIA CHRISTINA JESSICA ANGELINA MICHELLE CLARA GRACIA CLAUDIA VALENCIA CINDY "
    "FELISITAS VERONIKA MARIA AGNES KEZIA NATASHA YOHANA"
)
_CHRISTIAN_MORE_MALE = _w(
    "SUPRIADI SETIAWAN SANTOSO KURNIAWAN WIJAYA HARYANTO GUNAWAN NUGROHO PRASETYO HENDRAWAN "
    "SUSANTO PURNOMO HARTONO WIBOWO SAPUTRA PRATAMA"
)
_CHRISTIAN_MORE_FEMALE = _w(
    "SETIAWATI WIDYASTUTI LESTARI RAHAYU HANDAYANI KURNIASIH SUSANTI PURNAMASARI WULANDARI "
    "PRATIWI ANGGRAENI DEWI SARI"
)

# ------------------------------------------------------------------------------------------------

JAVANESE = Culture(
    key="javanese",
    male=Pools(
        first=(
            _w(
                "SUPARMAN SLAMET SUGENG SUTRISNO SUMARNO SUKIRMAN SUPRIYADI SUBAGYO SURATMAN WAGIMAN "
                "SUPARNO SUYATNO SUKARDI SUWARNO SUMADI SUHARTO SUKARNO KASMAN PARMIN TUKIMAN SARDI "
                "KARMIN PAIMAN PONIRAN RAKIMAN SAIMAN SARIJO KATIMAN MARIJAN SUKIMAN SUWITO SUDARMAN "
                "HARJO MULYONO SUNARTO SUNARDI SUMARDI JUMADI SUROSO SUYANTO PARDI TUKIJO WARSITO "
                "SUBARDI NGADIMAN BAMBANG JOKO DARSONO GIYONO SUPARDI SUGIYONO WAGIRAN HADI"
            ),
            _w(
                "BAMBANG JOKO BUDI AGUS HERU EKO DWI TRI WAHYU HARI ARIF ANDI ADI DEDI ANTON HENDRO "
                "YUDI TEGUH ARIS RUDI SIGIT BAYU PRIYO SETYO ANANG IWAN DONI AHMAD MUHAMMAD SLAMET "
                "SUGENG PURWANTO SUPRIYANTO"
            ),
            _YOUNG_MUSLIM_MALE,
        ),
        more=(
            _w(
                "SUTRISNO HADI SUWITO PRAWIRO SUSILO WIYONO SUPRAPTO SUDARSONO HARJONO SUMARDI "
                "WALUYO SUYITNO RAHARJO DARMOJO ATMOJO SISWOYO MARTOYO WIRYONO SUKARDI PURNOMO"
            ),
            _w(
                "SANTOSO SETIAWAN PRASETYO HARYANTO WIBOWO SUSILO PURNOMO NUGROHO KURNIAWAN HARTONO "
                "SULISTYO WIDODO SUPRIYANTO SUSANTO RAHARJO UTOMO PRABOWO SAPUTRO HIDAYAT WIJAYA "
                "PRIYANTO SUGIARTO HERMAWAN WAHYUDI SUBROTO SUHARTONO SETIYONO ARIYANTO CAHYONO "
                "KUSUMA PAMUNGKAS LAKSONO MULYADI"
            ),
            _YOUNG_MUSLIM_MALE_MORE,
        ),
        words=((0.62, 0.36, 0.02), (0.22, 0.68, 0.10), (0.02, 0.55, 0.43)),
    ),
    female=Pools(
        first=(
            _w(
                "SRI SITI SUMARNI SUPARMI SUMIYATI WARSINAH PAINEM TUMINAH SUKINAH SURTINI NGATINI "
                "SUWARNI WAHYUNI RUKMINI SUMINAH KASIYEM TARMI LASMI PARTINI SUNARSIH ENDANG TITIK "
                "SUPARTI SUKARSIH JUMINAH SARMI MARSIH PONIYEM SUGIYEM SUPIYAH KARSINAH MURNI SUYATI "
                "TUGIYEM SAMIYEM MUJIATI SUTINAH SUKIYEM TUMINI RUBIYEM SUMIATI NGADINAH"
            ),
            _w(
                "SRI ENDANG DWI TRI RETNO DEWI YULI ENI NURUL WAHYU RINI SUSI LILIK TUTIK HENI ANIK "
                "SITI INDAH RATNA NINING YANTI NOVI IKA FITRI KARTIKA DIAH ENDAH WIWIK"
            ),
            _YOUNG_MUSLIM_FEMALE,
        ),
        more=(
            _w(
                "WAHYUNI RAHAYU SUPARMI LESTARI ASTUTI HARTATI SUMARNI SUNARSIH MULYANI AMINAH "
                "SUPRAPTI WINARSIH MURTINI"
            ),
            _w(
                "RAHAYU WAHYUNI SUSILOWATI LESTARI HANDAYANI ASTUTI WULANDARI PURWANTI SETYOWATI "
                "HARTATI SUPRIHATIN MULYANI NINGSIH RAHMAWATI KURNIASIH HARYATI SULISTYOWATI "
                "WIDYASTUTI PRATIWI SUSANTI RETNOWATI YULIANTI ANGGRAENI PURNAMASARI NURHAYATI "
                "KUSUMAWATI"
            ),
            _YOUNG_MUSLIM_FEMALE_MORE,
        ),
        words=((0.55, 0.43, 0.02), (0.15, 0.75, 0.10), (0.02, 0.55, 0.43)),
    ),
    notes="Single names are common among older Javanese, above all men.",
)

SUNDANESE = Culture(
    key="sundanese",
    male=Pools(
        first=(
            _w(
                "ENDANG DADANG UJANG ASEP OMAN ENTIS UDIN MAMAN OTONG ENCEP DEDE CECEP YAYAT NANANG "
                "ADANG UJU ACENG ENJANG EMAN OJO KOSASIH SUHERMAN SUPRIATNA SUTISNA SUMANTRI ROHMAT "
                "SOLEH JAJANG"
            ),
            _w(
                "ASEP DEDE CECEP YAYAN AGUS DEDI UJANG HENDRA DENI IWAN ANDRI YUDI RUDI ENDANG WAWAN "
                "DIDIN DADAN RIDWAN HERMAN GUGUN YANA ACEP ADE UUS JAJANG"
            ),
            _w(
                "MUHAMMAD RIZKY FAJAR RAFI DIMAS ILHAM GILANG RAKA FIKRI ALIF ZAKI RAFA AZKA YUDA "
                "RIDWAN DAFFA SANDI REZA GALIH"
            ),
        ),
        more=(
            _w(
                "SUNANDAR SUPRIATNA KOSASIH SUTISNA SUMANTRI RUKMANA SOBARI SUHERMAN SAEPUDIN "
                "SUDRAJAT JUNAEDI SURYANA WAHYUDIN"
            ),
            _w(
                "SUNANDAR KURNIAWAN SUPRIATNA HIDAYAT PERMANA NURJAMAN KOSASIH SUTISNA SUMANTRI "
                "RUKMANA SOBARI GUNAWAN SAEPUDIN SOPIAN HERMAWAN RAHMAT SETIAWAN SUPRIADI SUDRAJAT "
                "JUNAEDI MULYANA FIRMANSYAH RAMDANI SURYANA NUGRAHA PRIATNA"
            ),
            _w(
                "PRATAMA RAMADHAN MAULANA NUGRAHA PERMANA FIRMANSYAH HIDAYAT SAPUTRA ARDIANSYAH "
                "SETIAWAN FAUZAN NURJAMAN RAMDANI"
            ),
        ),
        words=((0.55, 0.43, 0.02), (0.2, 0.7, 0.1), (0.02, 0.58, 0.40)),
    ),
    female=Pools(
        first=(
            _w(
                "EUIS IIS CUCU ENOK NENG ENTIN ICIH ENENG IMAS TITIN ENDAH UNAH EEM NENENG YOYOH "
                "ATIKAH CICIH OOM EPON NANI ANAH"
            ),
            _w(
                "NENG IIS EUIS LILIS YANTI RINA NINA YULI ELIS TETI NUNUNG DEDEH WIWIN WINDA IMAS "
                "NENDEN RIKA HENI EVI SITI"
            ),
            _w(
                "PUTRI SALSABILA NAYLA ZAHRA AULIA NENG SITI ALYA NABILA KEISYA RISMA SINTA DEA AYU "
                "FITRIA NURUL SELVI"
            ),
        ),
        more=(
            _w(
                "SUMARNI NURJANAH KURNIASIH ROHAENI JUBAEDAH MULYANI HARTINI RUKMINI SUMIATI KARTINI ROSMIATI"
            ),
            _w(
                "SUMARNI NURJANAH KURNIASIH HANDAYANI RAHMAWATI MARLINA NURHASANAH SOFIAH ROHAENI "
                "JUBAEDAH MULYANI HARTINI LESTARI KOMALASARI FITRIANI NURLAELA KARTINI HERAWATI"
            ),
            _w(
                "RAMADHANI NURHALIZA AZZAHRA LESTARI FAUZIAH NURAENI RAHMAWATI PUTRI MAHARANI "
                "NURAINI AULIA KHOERUNNISA AMELIA"
            ),
        ),
        words=((0.6, 0.38, 0.02), (0.2, 0.72, 0.08), (0.02, 0.58, 0.40)),
    ),
)

MUSLIM = Culture(
    key="muslim",
    male=Pools(
        first=(
            _w(
                "ABDUL AHMAD MUHAMMAD HASAN USMAN UMAR YUSUF IBRAHIM ISMAIL SYAMSUDDIN ZAINUDDIN "
                "NURDIN HAMZAH MANSUR SALEH HUSIN DAUD IDRIS JAMALUDDIN BAHRUN RUSLAN ASNAWI MAHMUD "
                "ZAKARIA ABDULLAH"
            ),
            _w(
                "MUHAMMAD AHMAD ABDUL ALI HASAN YUSUF ZAINAL SYAMSUL SAIFUL RIDWAN ANWAR SALIM HAMID "
                "SYAHRIL FAISAL FIRDAUS ZULKIFLI HAMZAH ARIFIN BURHAN AMIR RASYID AZHAR IRWAN HERMAN "
                "SUDIRMAN SUHAIMI RUSLI JUNAIDI"
            ),
            _YOUNG_MUSLIM_MALE,
        ),
        more=(
            _w("RAHMAN HAKIM ARIFIN SALEH HUSIN ZAINAL ISKANDAR EFENDI YUSUF HAMDANI MUNIR RAMLI BAKAR"),
            _w(
                "RAHMAN HAKIM HIDAYAT RAMLI SYAHPUTRA SAPUTRA ARIFIN FAUZI ISKANDAR EFENDI FIRDAUS "
                "ALAMSYAH KURNIAWAN MAULANA GUNAWAN SYAHRONI HAMDANI FADLI RIZAL NASIR"
            ),
            _YOUNG_MUSLIM_MALE_MORE,
        ),
        words=((0.35, 0.6, 0.05), (0.2, 0.65, 0.15), (0.02, 0.55, 0.43)),
    ),
    female=Pools(
        first=(
            _w(
                "SITI NUR FATIMAH AMINAH KHADIJAH ZAINAB MARYAM HALIMAH RUKIAH ROSMAH ASIAH SALMAH "
                "JUBAIDAH NURHAYATI HASNAH ROHANI ZAHARA MAIMUNAH SAODAH ROSNI NURSIAH ANISAH HABIBAH"
            ),
            _w(
                "SITI NUR NURUL FITRI RAHMA ERNI YULIANA SRI DEWI RINA EVA LINDA FARIDA ZURAIDA "
                "NURHAYATI MASITAH HAYATI RAHMAH"
            ),
            _YOUNG_MUSLIM_FEMALE,
        ),
        more=(
            _w("AMINAH FATIMAH KHADIJAH ZUBAIDAH MARYAM HASANAH HALIMAH RUKIAH NURHAYATI"),
            _w(
                "AMINAH NURHAYATI FATIMAH RAHMAWATI HASANAH KHADIJAH ZUBAIDAH SARI HANDAYANI SAFITRI "
                "YANTI AISYAH HIDAYATI ZAHRA NURJANNAH FITRIANI KHAIRUNNISA ULFA"
            ),
            _YOUNG_MUSLIM_FEMALE_MORE,
        ),
        words=((0.3, 0.65, 0.05), (0.2, 0.68, 0.12), (0.02, 0.55, 0.43)),
    ),
    notes="Arabic-origin Muslim names as carried by Malay, Acehnese, Betawi, Banjar, Sasak, Madurese, "
    "Kaili, Gorontalo and other Muslim communities.",
)

MINANG = Culture(
    key="minang",
    male=Pools(
        first=(
            _w(
                "SYAMSUL ZAINAL BAHAR MUKHTAR JAMALUDIN NAZAR ARIFIN BUSTAMI ASRUL MARAH SUTAN "
                "BAGINDO ZULKIFLI AMRAN ARMAN DASRIL"
            ),
            _w(
                "AFRIZAL ZULKIFLI YUSRIZAL ERIZAL HENDRI RIDWAN SYAFRIZAL ZULFIKAR ASRIL JASRIL "
                "NOFRIZAL DEFRIZAL AIDIL MASRUL ARMAN DASRIL EDWAR FIRDAUS ZAINUL HENDRA ANDRI"
            ),
            _w("RAFIQ FAUZAN AZRIL FATHUR HAFIZ ALIF ZAKY MUHAMMAD RIZKY ARYA FARHAN ILHAM DAFFA"),
        ),
        more=(
            _w("SUTAN BAGINDO ARIFIN EFENDI MUKHTAR NAZAR AMRAN"),
            _w("PUTRA SYAHPUTRA AKBAR HIDAYAT EFENDI SAPUTRA RAHMAT FIRDAUS SYAFRUDDIN"),
            _YOUNG_MUSLIM_MALE_MORE,
        ),
        words=((0.5, 0.48, 0.02), (0.45, 0.5, 0.05), (0.05, 0.6, 0.35)),
    ),
    female=Pools(
        first=(
            _w("ROSMANIAR ROSNIDAR YUSNIDAR ASNIDAR NURHAYATI ROSNAH WARNIDA SYAMSIAR NURSIAH ZAINAB"),
            _w(
                "NOFRIANTI YULIA ERNI YENI DESI NURHAYATI ERNIDAWATI SUSI RITA YUSMANIAR MARLINA "
                "NOVI FITRIA SRI AFRIDA YUSNITA ELVI"
            ),
            _w("ZAHRA AULIA NAYLA RAHMI SALSABILA ANNISA NABILA SYIFA ALYA HANIFAH"),
        ),
        more=(
            _w("HASANAH AMINAH NURHAYATI YANTI"),
            _w("SARI YANTI WATI RAHMI HASANAH NOVITA FITRI ANGGRAINI PUTRI DEWI YULIANTI"),
            _YOUNG_MUSLIM_FEMALE_MORE,
        ),
        words=((0.65, 0.33, 0.02), (0.45, 0.52, 0.03), (0.05, 0.6, 0.35)),
    ),
    surnames=_w("CHANIAGO PILIANG KOTO TANJUNG JAMBAK SIKUMBANG MELAYU GUCI"),
    surname_share=0.15,
    surname_from="mother",
    notes="Minang suku (clan) passes from the mother and is only sometimes written in the name.",
)

BUGIS = Culture(
    key="bugis",
    male=Pools(
        first=(
            _w(
                "MUHAMMAD BAHARUDDIN AMIRUDDIN SYAMSUDDIN HASANUDDIN SAHABUDDIN NURDIN SUDIRMAN "
                "HAERUDDIN ABDUL MUSTARI JUMADI RUSLAN BADDU BOLLO LATIF MAHMUD"
            ),
            _w(
                "MUHAMMAD AMIRUDDIN BAHARUDDIN SYAHRIR ARDIANSYAH MUSTARI HAERUDDIN SUDIRMAN NURDIN "
                "SYAMSUDDIN HASANUDDIN RUSLAN MUHLIS MUSLIMIN IRWAN ASRUL AKBAR ARIFUDDIN SAHRUL "
                "RISAL ILHAM SUPARDI"
            ),
            _w("MUHAMMAD ARYA FADEL ALIF RIZKY FIKRI AKBAR RAFLI ILHAM FAHRI ASWAR RAHMAT NAUFAL ZAKI"),
        ),
        more=(
            _w("LATIF SALEH RAHMAN BADDU BOLLO MAKKA TANG"),
            _w("SYAHRIR RAHMAN HAKIM ARDIANSYAH AKBAR SALEH HAMZAH RAHMAT SAPUTRA HIDAYAT RAMADHAN"),
            _YOUNG_MUSLIM_MALE_MORE,
        ),
        words=((0.55, 0.43, 0.02), (0.45, 0.5, 0.05), (0.05, 0.6, 0.35)),
    ),
    female=Pools(
        first=(
            _w("SITTI HADIJAH SAENAB NURBAYA HASNAH INDO BECCE NURHAEDAH SAHARIA HASNAWATI MARIAMA JUMARIAH"),
            _w(
                "HASNAWATI NURLINA HASMAWATI NURHAEDAH JUMARNI RAHMATIA NURAENI HARIANI HASNAH "
                "NURMIATI SUHARNI MARLINA ASMAWATI SITTI NURHAYATI MUSDALIFAH"
            ),
            _w("NURUL AULIA FADILLAH NAYLA ALYA NUR ZAHRA SITTI AISYAH ANDINI SALSABILA"),
        ),
        more=(
            _w("HADIJAH SAENAB NURBAYA AMINAH"),
            _w("NURHAYATI HASANAH AMINAH RAHMAWATI SARI YANTI WATI"),
            _YOUNG_MUSLIM_FEMALE_MORE,
        ),
        words=((0.6, 0.38, 0.02), (0.55, 0.42, 0.03), (0.05, 0.6, 0.35)),
    ),
    title=("ANDI", "ANDI", 0.08),
    notes="ANDI marks Bugis nobility and passes from the father.",
)

BUTON = Culture(
    key="buton",
    male=Pools(
        first=(
            _w("UDU MUHAMMAD SAIDI ALIMUDDIN HAMIDI SAFARI MUSA ABDUL DAUDU"),
            _w("MUHAMMAD ALIMUDDIN SAFARUDDIN HASRUN JAHARUDDIN SARIFUDDIN RAHMAN SAMSUDIN ARMIN"),
            _w("MUHAMMAD RIZKY ARYA ALIF AKBAR FAHRI RAHMAT ILHAM"),
        ),
        more=(
            _w("SAIDI HAMIDI MUSA RAHMAN"),
            _w("RAHMAN HAKIM SAPUTRA HIDAYAT"),
            _YOUNG_MUSLIM_MALE_MORE,
        ),
        words=((0.8, 0.2, 0.0), (0.6, 0.38, 0.02), (0.1, 0.6, 0.3)),
    ),
    female=Pools(
        first=(
            _w("SITI ASIA NURU HALIMA MARIAMA SALMA WAODE"),
            _w("SITI NURHAYATI HASNIA ASNIA MARLIA RAHMATIA NURMA WARDIA"),
            _w("NURUL AULIA NAYLA SITI ZAHRA ALYA"),
        ),
        more=(
            _w("AMINA HALIMA"),
            _w("NURHAYATI SARI WATI"),
            _YOUNG_MUSLIM_FEMALE_MORE,
        ),
        words=((0.8, 0.2, 0.0), (0.6, 0.38, 0.02), (0.1, 0.6, 0.3)),
    ),
    buton=True,
    title=("ODE", "ODE", 0.15),
    notes="LA (men) and WA (women) open Butonese names; LA ODE / WA ODE mark nobility.",
)

BALINESE = Culture(
    key="balinese",
    male=Pools(
        first=(
            _w(
                "SUDARSANA ARTAWAN SUARDANA MERTAYASA ADNYANA WIRAWAN SUDIARTA KARIASA ASTAWA "
                "SUPARTA SUDIANA ARDANA SUWITRA DARMAWAN SUARTANA WIDIANA SUMERTA SUARDIKA SUKADANA"
            ),
            _w(
                "SUDARSANA ARTAWAN SUARDANA ADNYANA WIRAWAN SUDIARTA ASTAWA SUARTANA WIDIANA "
                "SUARDIKA ARIMBAWA JULIANTARA DARMAYASA SUANTARA PARWATA SUPUTRA WIRATAMA"
            ),
            _w("ADI ARYA WIRA DHARMA PRADNYA SATRIA DWI AGUS KRISNA YOGA BAGUS DIVA"),
        ),
        more=(
            _w("SUDARSANA SUPARTA ASTAWA"),
            _w("PUTRA WIRAWAN ARTAWAN SUARDANA SAPUTRA"),
            _w("PUTRA PRATAMA WIGUNA SAPUTRA WIRAWAN MAHENDRA ARDANA"),
        ),
        words=((0.85, 0.15, 0.0), (0.7, 0.3, 0.0), (0.3, 0.65, 0.05)),
    ),
    female=Pools(
        first=(
            _w("SUARNI SUKARMI ARIASIH SRIASIH SUARTINI SUKERTI SUWENDRI ASTITI PURNAMI SUKARNI RAI MURNI"),
            _w(
                "ARIANI WIDIASTUTI MAHARANI DEWI ARIASIH SUARTINI SUCIANI WIDYANTARI ARYANI SARI "
                "SUWITRI ARDANI"
            ),
            _w("AYU DEWI PUTRI DIAH ANGGRENI PRADNYANI SAVITRI INTAN CITRA KRISNA"),
        ),
        more=(
            _w("SUARNI ARIASIH"),
            _w("DEWI SARI ARIANI LESTARI"),
            _w("SAVITRI PRADNYANI MAHARANI DEWI LESTARI ANGGRENI PRATIWI"),
        ),
        words=((0.85, 0.15, 0.0), (0.7, 0.3, 0.0), (0.3, 0.65, 0.05)),
    ),
    balinese=True,
    notes="Birth-order names: I WAYAN/PUTU/GEDE (1st), MADE/KADEK/NENGAH (2nd), NYOMAN/KOMANG (3rd), "
    "KETUT (4th); NI for women. Triwangsa families carry IDA BAGUS / IDA AYU, I GUSTI, ANAK AGUNG.",
)

#: Balinese birth-order names, men then women; the order cycles after the fourth child.
BALINESE_ORDER_MALE: tuple[tuple[str, ...], ...] = (
    ("I WAYAN", "I PUTU", "I GEDE"),
    ("I MADE", "I KADEK", "I NENGAH"),
    ("I NYOMAN", "I KOMANG"),
    ("I KETUT",),
)
BALINESE_ORDER_FEMALE: tuple[tuple[str, ...], ...] = (
    ("NI WAYAN", "NI PUTU", "NI LUH"),
    ("NI MADE", "NI KADEK", "NI NENGAH"),
    ("NI NYOMAN", "NI KOMANG"),
    ("NI KETUT",),
)
#: Balinese triwangsa (caste) name openers that pass from the father: (male, female, share).
BALINESE_TITLES: tuple[tuple[str, str, float], ...] = (
    ("IDA BAGUS", "IDA AYU", 0.03),
    ("I GUSTI NGURAH", "I GUSTI AYU", 0.04),
    ("ANAK AGUNG", "ANAK AGUNG AYU", 0.02),
)

BATAK = Culture(
    key="batak",
    male=Pools(
        first=(
            _w(
                "JOHANNES PARLINDUNGAN BONAR MANGASI SAHAT TUMPAL POLTAK LAMHOT TIGOR HOTMAN BINSAR "
                "MARUDUT MARINGAN JAMES DANIEL SAMUEL HENDRIK ROBERT"
            ),
            _w(
                "JOHANNES MARTHIN ROBERT DAVID LAMHOT TIGOR PARLINDUNGAN BONAR HOTMAN MANGASI "
                "PANGIHUTAN SAHAT TUMPAL BINSAR POLTAK JANSEN RICARDO FERDINAND HENDRIK JONNY DANIEL "
                "SAMUEL ALBERT BERNARD ROY ANDREAS TORANG"
            ),
            _w(
                "JOSUA KEVIN DANIEL SAMUEL EZRA JONATHAN GABRIEL YOSUA FERNANDO RAFAEL CHRISTIAN "
                "NATHAN HIZKIA"
            ),
        ),
        more=(
            _w("PARLINDUNGAN MANGASI SAHAT"),
            _w("PARULIAN PARLINDUNGAN MARULI HASUDUNGAN"),
            _w("PUTRA CHRISTIAN PRATAMA FERNANDO"),
        ),
        words=((0.75, 0.25, 0.0), (0.6, 0.38, 0.02), (0.35, 0.6, 0.05)),
    ),
    female=Pools(
        first=(
            _w("MARIA ROSMAULI LASMA HOTMA RUGUN TIUR NURMALA DUMARIA SONDANG ROSDIANA ROMAULI TIAMSA"),
            _w(
                "MARIA ROSMAULI LASMA HOTMA BUTET RUGUN TIUR NURMALA DUMARIA SONDANG ROSDIANA LINDA "
                "ERNAWATI ROMAULI MELDA LENNY ELISABETH"
            ),
            _w("GRACE CHRISTINA NATALIA JESSICA NOVITA YOLANDA CINDY AGNES VERONIKA ANGELINA"),
        ),
        more=(
            _w("ROSMAULI"),
            _w("ROSMAULI DAMAYANTI HOTMAIDA"),
            _w("NATALIA CHRISTINA ANGELINA"),
        ),
        words=((0.8, 0.2, 0.0), (0.65, 0.35, 0.0), (0.4, 0.57, 0.03)),
    ),
    surnames=_w(
        "SIMANJUNTAK SIREGAR HUTAPEA SITUMORANG PANJAITAN SIAHAAN SIHOMBING SINAGA MANURUNG "
        "SIMATUPANG PARDEDE NAINGGOLAN SITOMPUL TAMBUNAN PANGARIBUAN HUTAGALUNG HUTABARAT SIAGIAN "
        "SIBURIAN SIMAMORA SITORUS MARPAUNG SIBARANI SILALAHI SIMBOLON SIRAIT NAPITUPULU GULTOM "
        "LUMBANTOBING SIJABAT SEMBIRING GINTING TARIGAN SITEPU PERANGINANGIN SEBAYANG PURBA SARAGIH "
        "DAMANIK GIRSANG SIPAYUNG"
    ),
    surname_share=0.96,
    boru_share=0.3,
    old_spelling=False,
    notes="Toba, Karo and Simalungun Batak: the marga passes from the father; spouses never share one.",
)

MANDAILING = Culture(
    key="mandailing",
    male=MUSLIM.male,
    female=MUSLIM.female,
    surnames=_w(
        "NASUTION LUBIS HARAHAP SIREGAR HASIBUAN RANGKUTI DALIMUNTHE DAULAY POHAN BATUBARA PULUNGAN "
        "PARINDURI MATONDANG RITONGA TANJUNG"
    ),
    surname_share=0.9,
    notes="Muslim Batak (Mandailing, Angkola): Muslim given names and a marga.",
)

MINAHASA = Culture(
    key="minahasa",
    male=Pools(
        first=(
            _w("JOHANIS JAN HENDRIK FRANS ALFRED ARNOLD BERNARD YAN HANS WILLEM DANIEL"),
            _w(
                "FRANKY REFLI NOLDY MEYDI JEFRY RONNY DENNY STENLY FERRY ROBBY JOHANIS HENDRIK "
                "RICKY MARLON VECKY JOPPY"
            ),
            _w("KEVIN JUAN JORDAN BRYAN CHRISTIAN ANDRE JEREMY GABRIEL REYNALDO FERNANDO VALENTINO"),
        ),
        more=(_w("JOHANIS HENDRIK"), _w("FRANKY ROBERT"), _w("CHRISTIAN ANDREAS")),
        words=((0.8, 0.2, 0.0), (0.75, 0.25, 0.0), (0.55, 0.45, 0.0)),
    ),
    female=Pools(
        first=(
            _w("MARIA JOHANA WILHELMINA ADRIANA LIENTJE NELLY MARIANA CORNELIA"),
            _w("MEIVY NOVA JULIANA DEISY SINTIA STEVANI VIVI OLVIE MARLIN YULIN JEIN FENNY TELLY RINY"),
            _w("CINDY NATALIA GRACIA CLAUDIA VALERIE ANGELICA MICHELLE JESSICA PRICILIA"),
        ),
        more=(_w("MARIA"), _w("MARIA NATALIA"), _w("GRACIA NATALIA")),
        words=((0.8, 0.2, 0.0), (0.75, 0.25, 0.0), (0.55, 0.45, 0.0)),
    ),
    surnames=_w(
        "WOWOR RUNTUWENE SUMAMPOW LUMINTANG TUMBELAKA MANDAGI PANGEMANAN RUMENGAN WALANDOUW KALALO "
        "SONDAKH TUMIWA POLII KAUNANG LENGKONG PONTOH LUMENTUT MAMAHIT RONDONUWU SUMOLANG TAMBUWUN "
        "TULUNG WULLUR WUISAN KOLOAY SUMENDAP PALIT WENAS ROTINSULU MOKALU"
    ),
    surname_share=1.0,
    old_spelling=False,
)

NTT = Culture(
    key="ntt",
    male=Pools(
        first=(_CHRISTIAN_MALE_OLD, _CHRISTIAN_MALE_MIDDLE, _CHRISTIAN_MALE_YOUNG),
        more=(
            _w("YOSEPH PETRUS PAULUS MARKUS"),
            _w("YOSEPH MARIO PETRUS ARNOLD"),
            _w("PUTRA MARIO CHRISTIAN"),
        ),
        words=((0.6, 0.4, 0.0), (0.6, 0.4, 0.0), (0.5, 0.5, 0.0)),
    ),
    female=Pools(
        first=(_CHRISTIAN_FEMALE_OLD, _CHRISTIAN_FEMALE_MIDDLE, _CHRISTIAN_FEMALE_YOUNG),
        more=(_w("MARIA MAGDALENA"), _w("MARIA NOVITA"), _w("MARIA PUTRI")),
        words=((0.6, 0.4, 0.0), (0.6, 0.4, 0.0), (0.5, 0.5, 0.0)),
    ),
    surnames=_w(
        "NDUN MANAFE LAKA BANUNAEK TAEBENU MESAH PELLOKILA FANGGIDAE PARERA FERNANDEZ LEWAR KOTEN "
        "TUKAN NGGADAS MBULU SERAN BEREK TAEK NENOBAIS SELAN KOLO ATAUPAH DA_COSTA DE_ROZARI DA_SILVA "
        "GOMES NAHAK BRIA KLAU TEFA"
    ),
    surname_share=0.85,
    old_spelling=False,
)

MALUKU = Culture(
    key="maluku",
    male=NTT.male,
    female=NTT.female,
    surnames=_w(
        "PATTINAMA LATUHERU SAHETAPY TUHUMURY PATTIASINA RAHAKBAUW LEWERISSA SOUMOKIL TUANAKOTTA "
        "LOPULALAN LEKATOMPESSY SIWABESSY PATTIPEILOHY MATULESSY LATUMAHINA PELUPESSY HEHANUSSA"
    ),
    surname_share=0.95,
    old_spelling=False,
)

MALUKU_MUSLIM = Culture(
    key="maluku_muslim",
    male=MUSLIM.male,
    female=MUSLIM.female,
    surnames=_w("TUASIKAL OHORELLA MARASABESSY LATUCONSINA WAILISSA TUANAYA SANGADJI LESTALUHU PELU"),
    surname_share=0.9,
)

PAPUAN = Culture(
    key="papuan",
    male=Pools(
        first=(
            _w(
                "YOHANIS YAKOB MARTHEN NIKOLAS OKTOVIANUS YULIUS PILIPUS MARKUS YOSIAS LUKAS ELIESER "
                "YONATAN TITUS AMOS YEREMIAS NATALIS FRANS"
            ),
            _w(
                "YOHANIS YAKOB MARTHEN NIKOLAS OKTOVIANUS YULIUS PILIPUS MARKUS YOSIAS LUKAS "
                "YONATAN TITUS AMOS NATALIS DEMIANUS ALBERTUS"
            ),
            _CHRISTIAN_MALE_YOUNG,
        ),
        more=(_w("YAKOB MARKUS"), _w("YAKOB YOHANIS"), _w("CHRISTIAN PUTRA")),
        words=((0.75, 0.25, 0.0), (0.65, 0.35, 0.0), (0.55, 0.45, 0.0)),
    ),
    female=Pools(
        first=(
            _w(
                "MARTHA YOHANA MARIA FRANSINA NELLY SELFINA YULIANA DORKAS ELSINA ANACE KORNELIA "
                "OKTOVINA PAULINA MAGDALENA SARA DEBORA RAHEL"
            ),
            _w(
                "MARTHA YOHANA MARIA FRANSINA NELLY SELFINA YULIANA DORKAS ELSINA ANACE OKTOVINA "
                "NOVELA PAULINA FERONIKA BETSI"
            ),
            _CHRISTIAN_FEMALE_YOUNG,
        ),
        more=(_w("MARIA"), _w("MARIA NOVELA"), _w("MARIA NATALIA")),
        words=((0.75, 0.25, 0.0), (0.65, 0.35, 0.0), (0.55, 0.45, 0.0)),
    ),
    surnames=_w(
        "WENDA KOGOYA WANIMBO TABUNI YIKWA MAGAI RUMBIAK MANSOBEN KAFIAR RUMBEWAS WAMBRAUW MANDOWEN "
        "YOMAN MURIB ENUMBI DEGEI PIGAI GOBAI TEBAY NAWIPA KEIYA WONDA WAKER TELENGGEN RUMAROPEN "
        "WOMSIWOR AWOM KAISIEPO MAMBRASAR MOFU SAWAKI YIGIBALOM"
    ),
    surname_share=0.92,
    old_spelling=False,
)

CHRISTIAN = Culture(
    key="christian",
    male=Pools(
        first=(_CHRISTIAN_MALE_OLD, _CHRISTIAN_MALE_MIDDLE, _CHRISTIAN_MALE_YOUNG),
        more=(_CHRISTIAN_MORE_MALE, _CHRISTIAN_MORE_MALE, _YOUNG_MUSLIM_MALE_MORE[:8] + _CHRISTIAN_MORE_MALE),
        words=((0.25, 0.65, 0.10), (0.15, 0.7, 0.15), (0.1, 0.65, 0.25)),
    ),
    female=Pools(
        first=(_CHRISTIAN_FEMALE_OLD, _CHRISTIAN_FEMALE_MIDDLE, _CHRISTIAN_FEMALE_YOUNG),
        more=(_CHRISTIAN_MORE_FEMALE, _CHRISTIAN_MORE_FEMALE, _CHRISTIAN_MORE_FEMALE),
        words=((0.25, 0.65, 0.10), (0.15, 0.7, 0.15), (0.1, 0.65, 0.25)),
    ),
    old_spelling=False,
    notes="Christians of Java, Kalimantan (Dayak) and elsewhere: a baptismal name and an Indonesian one "
    "(YOHANES BUDI SANTOSO, MARIA SRI LESTARI).",
)

CHINESE = Culture(
    key="chinese",
    male=Pools(
        first=(
            _w("HARTONO SUGIARTO BUDI HENDRA GUNAWAN SANTOSO RUDY EDDY TJIPTO HALIM JOHAN WIJAYA"),
            _w(
                "HENDRA BUDI JOHAN RUDY HARTONO SUGIARTO ANDREAS ROBERT HENDRIK TOMMY EDDY DANIEL "
                "RICHARD MICHAEL WILLIAM STEVEN HENRY FERRY SUSANTO"
            ),
            _w(
                "KEVIN WILLIAM STEVEN VINCENT JONATHAN FELIX ALVIN JASON NICHOLAS CALVIN RYAN "
                "MATTHEW DARREN JOSHUA BRANDON"
            ),
        ),
        more=(_w("SANTOSO WIJAYA"), _w("SANTOSO SUSANTO"), _w("ANDERSON CHRISTIAN")),
        words=((0.7, 0.3, 0.0), (0.55, 0.45, 0.0), (0.45, 0.55, 0.0)),
    ),
    female=Pools(
        first=(
            _w("LINDA LIANA SUSANTI YENNY LANNY WENNY LILY MELIANA NANI ERNAWATI"),
            _w(
                "LIANA VERONICA LINDA SUSANTI YENNY LILY MELINDA SHERLY LANNY WENNY MELIANA "
                "CHRISTINE FELICIA IVANA"
            ),
            _w(
                "JESSICA MICHELLE CLARISSA ANGELINE VIVIAN FELICIA CHRISTINE NATASHA CATHERINE "
                "STEPHANIE VALENCIA CHERYL"
            ),
        ),
        more=(_w("SUSANTI"), _w("SUSANTI CHRISTINE"), _w("ANGELINE CHRISTINE")),
        words=((0.7, 0.3, 0.0), (0.55, 0.45, 0.0), (0.45, 0.55, 0.0)),
    ),
    surnames=_w(
        "WIJAYA GUNAWAN SALIM KURNIAWAN HALIM SANTOSO TANUWIJAYA HARTONO SUSANTO TANOTO LIMANTO "
        "SUGIARTO SETIAWAN HALIMAN TANJAYA LIMANTARA WINATA HADINATA GUNADI JAYADI TANUDJAJA"
    ),
    surname_share=0.55,
    old_spelling=False,
    notes="Most Chinese-Indonesians took Indonesian-sounding names after 1966; older records may still "
    "hold a Hokkien name in the old spelling (TAN KIM LIANG, LIE SIOE NIO).",
)

#: Hokkien clan names and syllables for the oldest Chinese-Indonesian records (old spelling).
CHINESE_CLANS = _w("TAN LIM LIE ONG GO OEI THE KWEE LIEM TJOA HAN KHO")
CHINESE_SYLLABLES = _w(
    "KIM LIANG SIOE LIONG TJOEN HOK BOEN HWA SIONG BENG KIE HIN GIOK SWAN MEI NIO LAN TJIN HONG "
    "TIONG SENG HWIE GWAN KHOEN"
)

FOREIGN = Culture(
    key="foreign",
    male=Pools(
        first=(
            _w(
                "JOHN DAVID MICHAEL JAMES ROBERT PETER THOMAS HIROSHI KENJI WEI JIAN RAJESH AHMED PIERRE HANS"
            ),
            _w(
                "JOHN DAVID MICHAEL JAMES ROBERT PETER THOMAS HIROSHI KENJI WEI JIAN RAJESH AHMED PIERRE HANS"
            ),
            _w("DANIEL LUCAS NOAH OLIVER MINJUN HARUTO RAHUL OMAR LUKAS"),
        ),
        more=(_w("ALEXANDER"), _w("ALEXANDER"), _w("ALEXANDER")),
        words=((0.9, 0.1, 0.0), (0.9, 0.1, 0.0), (0.9, 0.1, 0.0)),
    ),
    female=Pools(
        first=(
            _w("SARAH ANNA EMMA MARIA YUKI SOOYEON MEILING PRIYA FATIMA LAURA ELENA"),
            _w("SARAH ANNA EMMA MARIA YUKI SOOYEON MEILING PRIYA FATIMA LAURA ELENA"),
            _w("SOPHIE OLIVIA MIA HANA JIWOO AANYA LEILA CHLOE"),
        ),
        more=(_w("ELIZABETH"), _w("ELIZABETH"), _w("ELIZABETH")),
        words=((0.9, 0.1, 0.0), (0.9, 0.1, 0.0), (0.9, 0.1, 0.0)),
    ),
    surnames=_w(
        "SMITH JOHNSON BROWN WILSON TAYLOR MULLER SCHMIDT DUBOIS TANAKA SATO SUZUKI KIM LEE PARK "
        "WANG CHEN ZHANG NGUYEN KUMAR SHARMA HASHIMI RODRIGUEZ ANDERSEN"
    ),
    surname_share=1.0,
    old_spelling=False,
    notes="Foreign residents holding a permanent-stay permit (WNA with KITAP).",
)

CULTURES: tuple[Culture, ...] = (
    JAVANESE,
    SUNDANESE,
    MUSLIM,
    MINANG,
    BUGIS,
    BUTON,
    BALINESE,
    BATAK,
    MANDAILING,
    MINAHASA,
    NTT,
    MALUKU,
    MALUKU_MUSLIM,
    PAPUAN,
    CHRISTIAN,
    CHINESE,
    FOREIGN,
)
CULTURE_INDEX: dict[str, int] = {culture.key: index for index, culture in enumerate(CULTURES)}

#: Abbreviations written on pre-2022 records for a full name part (one is picked at random).
ABBREVIATED: dict[str, tuple[str, ...]] = {
    "MUHAMMAD": ("MOH.", "M.", "MUH.", "MOCH.", "MHD."),
    "MOEHAMMAD": ("MOH.", "M.", "MOCH."),
    "ABDUL": ("ABD.",),
    "ABDOEL": ("ABD.",),
    "SITI": ("ST.",),
    "SITTI": ("ST.",),
}


#: Name parts that open a name but hardly ever stand alone (MUHAMMAD ALI, SITI AMINAH, SRI RAHAYU).
_OPENERS = ("MUHAMMAD", "AHMAD", "ABDUL", "SITI", "SITTI", "NUR", "NURUL", "DWI", "TRI", "PUTRI")


def old_spelling(token: str) -> str:
    """The pre-1972 (van Ophuijsen / Soewandi) spelling of a modern name part:
    u→oe, j→dj, y→j, c→tj (not in "ch"), ny→nj, sy→sj. SUKARNO → SOEKARNO, JOKO → DJOKO,
    CAHYO → TJAHJO, NYOMAN → NJOMAN, SYAMSUL → SJAMSOEL."""
    out: list[str] = []
    length = len(token)
    for index, char in enumerate(token):
        following = token[index + 1] if index + 1 < length else ""
        if char == "U":
            out.append("OE")
        elif char == "J":
            out.append("DJ")
        elif char == "Y":
            out.append("J")
        elif char == "C" and following != "H":
            out.append("TJ")
        else:
            out.append(char)
    return "".join(out)


#: Name parts that open a name but hardly ever stand alone (MUHAMMAD ALI, SITI AMINAH, DWI ASTUTI),
#: in both spellings.
OPENERS: frozenset[str] = frozenset(_OPENERS) | frozenset(old_spelling(token) for token in _OPENERS)

#: Streets, kampung and dusun names for addresses.
STREETS: tuple[str, ...] = _w(
    "MERDEKA SUDIRMAN DIPONEGORO GATOT_SUBROTO AHMAD_YANI PAHLAWAN KARTINI MAWAR MELATI ANGGREK "
    "KENANGA CEMPAKA FLAMBOYAN MANGGA NANGKA PEMUDA VETERAN GAJAH_MADA HASANUDDIN IMAM_BONJOL "
    "HAYAM_WURUK TERATAI DAHLIA SUKUN RAMBUTAN DURIAN KELAPA BERINGIN CENDRAWASIH MERPATI "
    "RAJAWALI PELITA SETIA_BUDI BHAYANGKARA PERINTIS_KEMERDEKAAN RAYA_TENGAH PASAR_BARU "
    "SISINGAMANGARAJA SILIWANGI PANGERAN_ANTASARI SULTAN_AGUNG TEUKU_UMAR CUT_NYAK_DIEN "
    "SAM_RATULANGI PATTIMURA DEWI_SARTIKA WR_SUPRATMAN HOS_COKROAMINOTO KI_HAJAR_DEWANTARA"
)
HAMLETS: tuple[str, ...] = _w(
    "KRAJAN SUKAMAJU SUKAMULYA MEKARSARI SIDOMULYO KARANGANYAR TEGALSARI SUMBERSARI PURWOREJO "
    "SUKADAMAI SUKARAME CIBADAK CIKUPA MEKARJAYA SUKASARI KARANGREJO SIDOREJO SUMBERREJO "
    "TANJUNGSARI MARGAMULYA BANJARSARI WONOREJO"
)
HOUSING: tuple[str, ...] = _w(
    "GRIYA_ASRI TAMAN_SARI BUMI_INDAH PERMATA_HIJAU GRAHA_PERMAI VILLA_MUTIARA PURI_INDAH "
    "CITRA_RAYA TAMAN_KENCANA BUKIT_INDAH"
)
