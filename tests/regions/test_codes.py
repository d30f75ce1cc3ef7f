"""The pure code helpers: normalising, levels, parents, kinds, names."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ektp.kit.errors import ValidationFailed
from ektp.regions.codes import (
    ancestor_at,
    is_city_code,
    nik_prefix_to_district,
    normalise_region_code,
    normalise_region_name,
    parent_of,
    region_kind,
    region_level,
    undotted,
)

DOTTED = re.compile(r"[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?")


def _segment(width: int) -> st.SearchStrategy[str]:
    return st.integers(min_value=1, max_value=10**width - 1).map(lambda n: str(n).zfill(width))


segments = st.integers(min_value=1, max_value=4).flatmap(
    lambda level: st.tuples(*(_segment(width) for width in (2, 2, 2, 4)[:level]))
)


def _problem(exc: pytest.ExceptionInfo[ValidationFailed]) -> tuple[str, str]:
    (problem,) = exc.value.problems
    return problem.field, problem.rule


class TestNormaliseRegionCode:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("32", "32"),
            ("3204", "32.04"),
            ("32.04", "32.04"),
            ("320401", "32.04.01"),
            ("3204012001", "32.04.01.2001"),
            ("32.04.01.2001", "32.04.01.2001"),
            ("  3204 ", "32.04"),
        ],
    )
    def test_accepts_dotted_and_undotted_forms(self, raw: str, expected: str) -> None:
        assert normalise_region_code(raw) == expected

    @pytest.mark.parametrize(
        ("raw", "rule"),
        [
            ("", "required"),
            ("   ", "required"),
            ("32a4", "digits_only"),
            ("32-04", "digits_only"),
            ("３２", "digits_only"),  # full-width digits are not ASCII digits
            ("32.0a", "digits_only"),
            ("3", "length"),
            ("320", "length"),
            ("32040", "length"),
            ("32040120011", "length"),
            ("32.4", "segment_format"),
            ("32.04.", "segment_format"),
            ("32..04", "segment_format"),
            ("32.04.01.20", "segment_format"),
            ("32.04.01.2001.01", "segment_format"),
            ("00", "zero_segment"),
            ("3200", "zero_segment"),
            ("32.04.00", "zero_segment"),
            ("32.04.01.0000", "zero_segment"),
        ],
    )
    def test_rejects_malformed_codes_naming_field_and_rule(self, raw: str, rule: str) -> None:
        with pytest.raises(ValidationFailed) as exc:
            normalise_region_code(raw)
        assert _problem(exc) == ("region_code", rule)

    def test_names_the_callers_field(self) -> None:
        with pytest.raises(ValidationFailed) as exc:
            normalise_region_code("x", field="parent")
        assert _problem(exc)[0] == "parent"

    def test_rejects_non_text(self) -> None:
        with pytest.raises(ValidationFailed) as exc:
            normalise_region_code(3204)  # type: ignore[arg-type]
        assert _problem(exc) == ("region_code", "type")

    @given(segments)
    def test_undotted_and_dotted_forms_agree(self, parts: tuple[str, ...]) -> None:
        dotted = ".".join(parts)
        assert normalise_region_code("".join(parts)) == dotted
        assert normalise_region_code(dotted) == dotted
        assert undotted(dotted) == "".join(parts)
        assert region_level(dotted) == len(parts)

    @given(st.text(max_size=16))
    def test_any_text_is_normalised_or_refused_with_a_field(self, raw: str) -> None:
        problems: list[str] = []
        result = ""
        try:
            result = normalise_region_code(raw)
        except ValidationFailed as exc:
            problems = [p.field for p in exc.problems]
        if problems:
            assert problems == ["region_code"]
        else:
            assert DOTTED.fullmatch(result)
            assert normalise_region_code(result) == result

    @given(
        st.text(alphabet="0123456789", min_size=1, max_size=12).filter(lambda s: len(s) not in (2, 4, 6, 10))
    )
    def test_wrong_digit_counts_break_the_length_rule(self, digits: str) -> None:
        with pytest.raises(ValidationFailed) as exc:
            normalise_region_code(digits)
        assert _problem(exc) == ("region_code", "length")


class TestHierarchy:
    @given(segments)
    def test_parent_is_the_code_one_level_up(self, parts: tuple[str, ...]) -> None:
        code = ".".join(parts)
        parent = parent_of(code)
        if len(parts) == 1:
            assert parent is None
        else:
            assert parent == ".".join(parts[:-1])
            assert region_level(parent) == region_level(code) - 1
            assert code.startswith(parent + ".")

    def test_parent_of_accepts_undotted(self) -> None:
        assert parent_of("3204012001") == "32.04.01"
        assert parent_of("32") is None

    def test_ancestor_at_each_level(self) -> None:
        assert [ancestor_at("3204012001", level) for level in (1, 2, 3, 4)] == [
            "32",
            "32.04",
            "32.04.01",
            "32.04.01.2001",
        ]
        with pytest.raises(ValidationFailed) as exc:
            ancestor_at("32.04", 3)
        assert _problem(exc) == ("level", "range")


class TestKinds:
    @given(st.integers(min_value=1, max_value=99))
    def test_regency_segment_71_and_up_is_a_city(self, regency: int) -> None:
        code = f"32.{regency:02d}"
        assert is_city_code(code) is (regency >= 71)
        assert region_kind(code) == ("kota" if regency >= 71 else "kabupaten")

    def test_city_rule_holds_below_the_regency_level(self) -> None:
        assert is_city_code("32.73.01.1001")
        assert not is_city_code("32.04.01.2001")
        assert not is_city_code("32")

    @pytest.mark.parametrize(
        ("code", "kind"),
        [
            ("32", "provinsi"),
            ("32.04.01", "kecamatan"),
            ("90.01.01", "kecamatan"),
            ("91.03.01", "distrik"),
            ("96.01.01", "distrik"),
            ("32.73.01.1001", "kelurahan"),
            ("32.04.01.2001", "desa"),
            ("91.03.01.3001", "desa_adat"),
        ],
    )
    def test_kind_follows_from_the_code(self, code: str, kind: str) -> None:
        assert region_kind(code) == kind

    def test_village_segment_must_start_with_a_known_kind(self) -> None:
        with pytest.raises(ValidationFailed) as exc:
            region_kind("32.04.01.4001")
        assert _problem(exc) == ("region_code", "village_kind")


class TestNikPrefix:
    def test_six_digits_give_the_district(self) -> None:
        assert nik_prefix_to_district("320401") == "32.04.01"

    @pytest.mark.parametrize("raw", ["32040", "3204011", "32.04.01", "32O401", ""])
    def test_anything_else_is_refused(self, raw: str) -> None:
        with pytest.raises(ValidationFailed) as exc:
            nik_prefix_to_district(raw)
        assert _problem(exc) == ("nik", "prefix_format")

    def test_zero_segment_is_refused(self) -> None:
        with pytest.raises(ValidationFailed) as exc:
            nik_prefix_to_district("320001")
        assert _problem(exc) == ("nik", "zero_segment")

    @given(_segment(2), _segment(2), _segment(2))
    def test_prefix_maps_to_a_district_code(self, province: str, regency: str, district: str) -> None:
        assert nik_prefix_to_district(province + regency + district) == f"{province}.{regency}.{district}"


class TestNormaliseRegionName:
    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("Kota Bandung", "KOTA BANDUNG"),
            ("Regapu’u", "REGAPUU"),
            ("Fak-Fak", "FAK FAK"),
            ("  Pulau  Seribu  ", "PULAU SERIBU"),
            ("Bàndung", "BANDUNG"),
            ("Kab. Bogor", "KAB BOGOR"),
        ],
    )
    def test_examples(self, name: str, expected: str) -> None:
        assert normalise_region_name(name) == expected

    @given(st.text(max_size=40))
    def test_output_is_idempotent_upper_ascii(self, name: str) -> None:
        result = normalise_region_name(name)
        assert re.fullmatch(r"([A-Z0-9]+( [A-Z0-9]+)*)?", result)
        assert normalise_region_name(result) == result
