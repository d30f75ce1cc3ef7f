"""Name rules of 2022 and name normalisation (pure)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ektp.population.names import check_name, normalise_name, search_key

NEW = dt.date(2022, 1, 1)
LEGACY = dt.date(2021, 12, 31)


def rules(name: str, recorded_on: dt.date = NEW) -> set[str]:
    return {p.rule for p in check_name(name, recorded_on=recorded_on)}


class TestRulesOf2022:
    @pytest.mark.parametrize(
        "name",
        ["Budi Santoso", "SITI NURHALIZA PUTRI", "  agus   salim  ", "Gede Adi Putra", "I Wayan Sudarma"],
    )
    def test_good_names_pass(self, name):
        assert rules(name) == set()

    @pytest.mark.parametrize(
        ("name", "rule"),
        [
            ("Sukarno", "min_words"),
            ("Budi Santoso 2", "digits"),
            ("Moh. Hatta", "punctuation"),
            ("Ma'ruf Amin", "punctuation"),
            ("Siti Nur-Aini", "punctuation"),
            ("M Hatta", "abbreviation"),
            ("Moh Hatta", "abbreviation"),
            ("Muh Ali Akbar", "abbreviation"),
            ("Wayan I Made", "abbreviation"),  # only a leading Balinese "I" is a name element
            ("José Rizal", "latin_letters"),
            ("محمد علي", "latin_letters"),
            ("A" * 30 + " " + "B" * 30, "max_length"),
            ("", "required"),
            ("   ", "required"),
        ],
    )
    def test_bad_names_name_the_rule(self, name, rule):
        assert rule in rules(name)

    def test_field_is_full_name_by_default(self):
        assert {p.field for p in check_name("Sukarno", recorded_on=NEW)} == {"full_name"}

    def test_sixty_characters_are_allowed(self):
        assert rules("A" * 29 + " " + "B" * 30) == set()


class TestLegacyRecordsAreExempt:
    @pytest.mark.parametrize("name", ["Sukarno", "Moh. Hatta", "M. Ali", "Ma'ruf", "Soeharto"])
    def test_legacy_names_pass(self, name):
        assert rules(name, LEGACY) == set()

    def test_legacy_names_still_need_a_value_and_fit_storage(self):
        assert rules("", LEGACY) == {"required"}
        assert rules("A" * 101, LEGACY) == {"max_length"}


class TestNormalisation:
    def test_upper_case_single_spaces(self):
        assert normalise_name("  budi\t  santoso ") == "BUDI SANTOSO"

    def test_search_key_keeps_letters_and_spaces(self):
        assert search_key("Moh. Ma'ruf  Amin") == "MOH MARUF AMIN"
        assert search_key("José") == "JOSE"
        assert search_key("M.Ali") == "M ALI"
        assert search_key("Siti Nur-Aini") == "SITI NUR AINI"


class TestNameProperties:
    @given(st.text(max_size=120), st.dates())
    @settings(max_examples=300)
    def test_any_text_gets_problems_not_exceptions(self, name: str, recorded_on: dt.date) -> None:
        for problem in check_name(name, recorded_on=recorded_on):
            assert problem.field == "full_name"
            assert problem.rule
            assert problem.message

    @given(st.text(max_size=120))
    def test_search_key_is_idempotent_and_plain(self, name: str) -> None:
        key = search_key(name)
        assert search_key(key) == key
        assert all("A" <= ch <= "Z" or ch == " " for ch in key)
        assert "  " not in key
        assert key == key.strip()
