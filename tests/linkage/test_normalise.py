"""Name normalisation for Indonesian records."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ektp.linkage.normalise import (
    modern_spelling,
    name_features,
    normalise_name,
    normalise_place,
    phonetic_key,
    token_jaccard,
)


class TestOldSpellings:
    @pytest.mark.parametrize(
        ("old", "new"),
        [
            ("DJOKO", "JOKO"),
            ("SOEHARTO", "SUHARTO"),
            ("TJAHJO", "CAHYO"),
            ("JOESOEF", "YUSUF"),
            ("NJOMAN", "NYOMAN"),
            ("SJAMSOEL", "SYAMSUL"),
            ("SOEKARNO", "SUKARNO"),
        ],
    )
    def test_old_spelling_becomes_modern(self, old: str, new: str) -> None:
        assert normalise_name(old) == new

    def test_modern_j_is_kept_when_the_name_has_no_old_marker(self) -> None:
        assert normalise_name("JOKO WIDODO") == "JOKO WIDODO"
        assert normalise_name("WIJAYA") == "WIJAYA"

    def test_old_j_becomes_y_across_the_whole_old_spelled_name(self) -> None:
        assert normalise_name("DJAJA SOEDJONO") == "JAYA SUJONO"

    def test_ch_is_the_old_kh(self) -> None:
        assert modern_spelling("ACHMAD") == "AKHMAD"
        assert normalise_name("ACHMAD") == normalise_name("AKHMAD")


class TestAbbreviationsAndTitles:
    @pytest.mark.parametrize(
        "written", ["M. ALI", "MOH. ALI", "MOCH ALI", "MUH. ALI", "MHD ALI", "MOHAMAD ALI"]
    )
    def test_muhammad_forms(self, written: str) -> None:
        assert normalise_name(written) == "MUHAMMAD ALI"

    def test_abd_is_abdul_and_leading_st_is_siti(self) -> None:
        assert normalise_name("ABD. RAHMAN") == "ABDUL RAHMAN"
        assert normalise_name("ST. AMINAH") == "SITI AMINAH"

    @pytest.mark.parametrize(
        "written",
        ["H. BUDI SANTOSO", "HJ BUDI SANTOSO", "IR. H. BUDI SANTOSO", "DR. BUDI SANTOSO",
         "BUDI SANTOSO, S.PD.", "BUDI SANTOSO S.H.", "Budi Santoso, S.Pd., M.Si."],
    )  # fmt: skip
    def test_titles_and_degrees_are_dropped(self, written: str) -> None:
        assert normalise_name(written) == "BUDI SANTOSO"

    def test_punctuation_and_case(self) -> None:
        assert normalise_name("  moh.  ma'ruf ") == "MUHAMMAD MARUF"
        assert normalise_name("") == ""
        assert normalise_name(None) == ""

    def test_a_title_alone_is_kept_as_the_name(self) -> None:
        assert normalise_name("H") == "H"


class TestFeatures:
    def test_single_name_meets_two_word_version_on_first_word(self) -> None:
        single, full = name_features("SUPARMAN"), name_features("SUPARMAN HADI")
        assert single.first == full.first == "SUPARMAN"
        assert single.last == "SUPARMAN"
        assert set(single.tokens) <= set(full.tokens)
        assert token_jaccard(single.normalised, full.normalised) == 0.5

    def test_phonetic_key_folds_spelling_variants(self) -> None:
        assert phonetic_key("MUHAMMAD") == phonetic_key("MOHAMAD") == phonetic_key("MUKHAMMAD")
        assert phonetic_key("FITRI") == phonetic_key("PITRI")
        assert phonetic_key("YANTI") == phonetic_key("JANTI")
        assert phonetic_key("BUDI") != phonetic_key("SITI")

    def test_place_normalisation(self) -> None:
        assert normalise_place("Kab. Tjiandjoer") == "CIANJUR"
        assert normalise_place("KOTA BANDUNG") == "BANDUNG"


_names = st.text(alphabet="ABCDEHIJKMNOSTUY .,'-abdjo", min_size=0, max_size=30)


class TestIdempotence:
    @given(_names)
    def test_normalise_name_is_idempotent(self, name: str) -> None:
        once = normalise_name(name)
        assert normalise_name(once) == once

    @given(_names)
    def test_phonetic_key_is_idempotent_on_normalised_names(self, name: str) -> None:
        key = phonetic_key(normalise_name(name))
        assert phonetic_key(key) == key or all(len(word) <= 1 for word in key.split())

    @given(_names)
    def test_normalised_names_are_letters_and_single_spaces(self, name: str) -> None:
        once = normalise_name(name)
        assert all(ch.isupper() or ch == " " for ch in once)
        assert "  " not in once
        assert once == once.strip()
