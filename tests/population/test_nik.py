"""NIK parsing, validation and generation (pure: no database)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ektp.kit.errors import ValidationFailed
from ektp.population.nik import generate_nik, parse_nik, validate_nik


def rules(result) -> set[str]:
    return {p.rule for p in result.errors}


class TestParseValidNik:
    def test_male_nik_gives_region_sex_birth_and_serial(self):
        result = parse_nik("3204051705900001")
        assert result.ok
        facts = result.facts
        assert facts is not None
        assert (facts.province_code, facts.regency_code, facts.district_code) == ("32", "32.04", "32.04.05")
        assert facts.regency_kind == "kabupaten"
        assert facts.sex == "L"
        assert (facts.birth_day, facts.birth_month, facts.birth_yy) == (17, 5, 90)
        assert facts.serial == 1
        # Without a stored birth date the century is unknown: both candidates are listed.
        assert facts.birth_date is None
        assert facts.birth_date_candidates == (dt.date(1990, 5, 17), dt.date(2090, 5, 17))

    def test_female_day_has_forty_added(self):
        facts = parse_nik("3273015705900002").facts
        assert facts is not None
        assert facts.sex == "P"
        assert facts.birth_day == 17
        assert facts.regency_kind == "kota"

    def test_century_comes_from_the_stored_birth_date(self):
        result = parse_nik("3204051705050001", birth_date=dt.date(2005, 5, 17))
        assert result.ok
        assert result.facts is not None
        assert result.facts.birth_date == dt.date(2005, 5, 17)

    def test_surrounding_whitespace_is_ignored(self):
        result = parse_nik("  3204051705900001\n")
        assert result.ok
        assert result.facts is not None
        assert result.facts.nik == "3204051705900001"

    def test_29_february_00_is_possible_because_2000_was_a_leap_year(self):
        assert parse_nik("3204052902000001").ok

    def test_29_february_in_a_leap_year_with_stored_date(self):
        assert parse_nik("3204056902840001", birth_date=dt.date(1984, 2, 29)).ok


class TestParseInvalidNik:
    @pytest.mark.parametrize(
        ("raw", "rule"),
        [
            ("320405170590001", "length"),
            ("32040517059000011", "length"),
            ("", "length"),
            ("3204051705900A01", "digits"),
            ("3204 051705900001", "digits"),
            ("3204.05.170590.0001", "digits"),
            ("٣٢٠٤٠٥١٧٠٥٩٠٠٠٠١", "digits"),
            ("0004051705900001", "province_code_zero"),
            ("3200051705900001", "regency_code_zero"),
            ("3204001705900001", "district_code_zero"),
            ("3204053205900001", "day_range"),
            ("3204050005900001", "day_range"),
            ("3204054005900001", "day_range"),
            ("3204057205900001", "day_range"),
            ("3204051713900001", "month_range"),
            ("3204051700900001", "month_range"),
            ("3204053102900001", "impossible_date"),
            ("3204057104900001", "impossible_date"),
            ("3204052902010001", "impossible_date"),
            ("3204051705900000", "serial_zero"),
        ],
    )
    def test_rule_is_named(self, raw, rule):
        result = parse_nik(raw)
        assert not result.ok
        assert rule in rules(result)
        assert all(p.field == "nik" for p in result.errors)

    def test_birth_date_mismatch(self):
        result = parse_nik("3204051705900001", birth_date=dt.date(1990, 5, 18))
        assert rules(result) == {"birth_date_mismatch"}

    def test_birth_date_of_another_century_still_matches_ddmmyy(self):
        # The NIK only holds YY; 1890 and 1990 both end in 90.
        assert parse_nik("3204051705900001", birth_date=dt.date(1990, 5, 17)).ok

    def test_sex_mismatch(self):
        result = parse_nik("3204051705900001", sex="P")
        assert rules(result) == {"sex_mismatch"}

    def test_29_february_of_a_common_year_mismatches_any_stored_date(self):
        result = parse_nik("3204052902850001", birth_date=dt.date(1985, 3, 1))
        assert "impossible_date" in rules(result)

    def test_several_problems_are_all_reported(self):
        result = parse_nik("0000003213900000")
        assert {
            "province_code_zero",
            "regency_code_zero",
            "district_code_zero",
            "day_range",
            "month_range",
            "serial_zero",
        } <= rules(result)

    def test_validate_raises_with_every_problem(self):
        with pytest.raises(ValidationFailed) as caught:
            validate_nik("3204053213900000")
        assert {p.rule for p in caught.value.problems} == {"day_range", "month_range", "serial_zero"}
        assert all(p.field == "nik" for p in caught.value.problems)


class TestRegionWarnings:
    def test_unknown_region_is_a_warning_not_an_error(self):
        result = parse_nik("9999991705900001", region_status=lambda code: "unknown")
        assert result.ok
        assert [w.rule for w in result.warnings] == ["region_unknown"]

    def test_retired_region_is_a_warning(self):
        seen = []

        def status(code: str) -> str:
            seen.append(code)
            return "historical"

        result = parse_nik("9101011705900001", region_status=status)
        assert result.ok
        assert seen == ["91.01.01"]
        assert [w.rule for w in result.warnings] == ["region_historical"]
        assert result.warnings[0].field == "nik"

    def test_current_region_gives_no_warning(self):
        assert parse_nik("3204051705900001", region_status=lambda code: "current").warnings == []


class TestGenerateNik:
    def test_female_gets_day_offset(self):
        nik = generate_nik(district_code="32.04.05", birth_date=dt.date(2001, 1, 9), sex="P", serial=12)
        assert nik == "3204054901010012"

    def test_undotted_district_is_accepted(self):
        assert generate_nik(
            district_code="320405", birth_date=dt.date(2001, 1, 9), sex="L", serial=1
        ).startswith("320405090101")

    @pytest.mark.parametrize(
        ("kwargs", "field", "rule"),
        [
            ({"serial": 0}, "serial", "range"),
            ({"serial": 10000}, "serial", "range"),
            ({"district_code": "32.04"}, "district_code", "format"),
            ({"district_code": "32.4.05"}, "district_code", "format"),
            ({"district_code": "32.00.05"}, "district_code", "code_zero"),
            ({"sex": "X"}, "sex", "code"),
        ],
    )
    def test_bad_arguments_are_refused(self, kwargs, field, rule):
        args = {
            "district_code": "32.04.05",
            "birth_date": dt.date(2001, 1, 9),
            "sex": "L",
            "serial": 1,
        } | kwargs
        with pytest.raises(ValidationFailed) as caught:
            generate_nik(**args)
        assert (caught.value.problems[0].field, caught.value.problems[0].rule) == (field, rule)


district_codes = st.tuples(st.integers(1, 99), st.integers(1, 99), st.integers(1, 99)).map(
    lambda t: f"{t[0]:02d}.{t[1]:02d}.{t[2]:02d}"
)


class TestNikProperties:
    @given(
        district=district_codes,
        birth_date=st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31)),
        sex=st.sampled_from(["L", "P"]),
        serial=st.integers(1, 9999),
    )
    @settings(max_examples=300)
    def test_generated_nik_parses_back_to_the_same_facts(self, district, birth_date, sex, serial):
        nik = generate_nik(district_code=district, birth_date=birth_date, sex=sex, serial=serial)
        result = parse_nik(nik, birth_date=birth_date, sex=sex)
        assert result.errors == []
        facts = result.facts
        assert facts is not None
        assert facts.district_code == district
        assert facts.sex == sex
        assert facts.birth_date == birth_date
        assert birth_date in facts.birth_date_candidates
        assert facts.serial == serial

    @given(st.text(max_size=40))
    @settings(max_examples=300)
    def test_arbitrary_text_never_raises(self, raw):
        result = parse_nik(raw)
        assert result.ok == (not result.errors)
        assert all(p.field == "nik" and p.rule and p.message for p in result.errors)

    @given(st.text(alphabet="0123456789", min_size=16, max_size=16), st.dates())
    @settings(max_examples=300)
    def test_arbitrary_digits_with_any_birth_date_never_raise(self, raw, birth_date):
        result = parse_nik(raw, birth_date=birth_date, region_status=lambda code: "unknown")
        assert result.facts is not None
        if result.ok:
            assert result.facts.birth_date == birth_date
