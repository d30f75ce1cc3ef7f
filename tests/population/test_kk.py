"""KK (family card) number parsing and generation (pure)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ektp.kit.errors import ValidationFailed
from ektp.population.kk import generate_kk, parse_kk, validate_kk

TODAY = dt.date(2026, 11, 22)


class TestParseKk:
    def test_valid_number_gives_district_issue_date_and_serial(self):
        result = parse_kk("3204051001230007", today=TODAY)
        assert result.ok
        facts = result.facts
        assert facts is not None
        assert facts.district_code == "32.04.05"
        assert facts.issued_on == dt.date(2023, 1, 10)
        assert facts.serial == 7

    def test_century_resolves_to_the_latest_past_date(self):
        facts = parse_kk("3204051001980001", today=TODAY).facts
        assert facts is not None
        assert facts.issued_on == dt.date(1998, 1, 10)

    @pytest.mark.parametrize(
        ("raw", "rule"),
        [
            ("32040510012300", "length"),
            ("320405100123000X", "digits"),
            ("0004051001230001", "province_code_zero"),
            ("3200051001230001", "regency_code_zero"),
            ("3204001001230001", "district_code_zero"),
            ("3204054101230001", "day_range"),
            ("3204051013230001", "month_range"),
            ("3204053002230001", "impossible_date"),
            ("3204051001230000", "serial_zero"),
        ],
    )
    def test_rule_is_named(self, raw, rule):
        result = parse_kk(raw, today=TODAY)
        assert rule in {p.rule for p in result.errors}
        assert all(p.field == "kk_number" for p in result.errors)

    def test_issue_date_mismatch(self):
        result = parse_kk("3204051001230001", issued_on=dt.date(2023, 1, 11), today=TODAY)
        assert [p.rule for p in result.errors] == ["issue_date_mismatch"]

    def test_future_issue_date_is_refused(self):
        result = parse_kk("3204050112260001", issued_on=dt.date(2026, 12, 1), today=TODAY)
        assert [p.rule for p in result.errors] == ["issue_date_future"]

    def test_unknown_region_is_a_warning(self):
        result = parse_kk("9999991001230001", today=TODAY, region_status=lambda code: "unknown")
        assert result.ok
        assert [w.rule for w in result.warnings] == ["region_unknown"]

    def test_validate_raises(self):
        with pytest.raises(ValidationFailed) as caught:
            validate_kk("3204051001230000", today=TODAY)
        assert caught.value.problems[0].rule == "serial_zero"


class TestKkProperties:
    @given(
        district=st.tuples(st.integers(1, 99), st.integers(1, 99), st.integers(1, 99)).map(
            lambda t: f"{t[0]:02d}.{t[1]:02d}.{t[2]:02d}"
        ),
        issued_on=st.dates(dt.date(1971, 1, 1), TODAY),
        serial=st.integers(1, 9999),
    )
    @settings(max_examples=200)
    def test_generated_number_parses_back(self, district, issued_on, serial):
        number = generate_kk(district_code=district, issued_on=issued_on, serial=serial)
        result = parse_kk(number, issued_on=issued_on, today=TODAY)
        assert result.errors == []
        assert result.facts is not None
        assert (result.facts.district_code, result.facts.issued_on, result.facts.serial) == (
            district,
            issued_on,
            serial,
        )
        # Without the stored date the century is still found for any date after 1926.
        assert parse_kk(number, today=TODAY).facts.issued_on == issued_on  # type: ignore[union-attr]

    @given(st.text(max_size=40))
    @settings(max_examples=200)
    def test_arbitrary_text_never_raises(self, raw):
        result = parse_kk(raw, today=TODAY)
        assert all(p.field == "kk_number" for p in result.errors)
