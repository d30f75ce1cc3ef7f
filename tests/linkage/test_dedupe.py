"""Batch dedupe: planted duplicates are found; pairwise scores; malformed input."""

from __future__ import annotations

import pytest

from ektp.kit.errors import ValidationFailed
from ektp.linkage.corrupt import make_dataset
from ektp.linkage.dedupe import dedupe_records, pairwise_scores
from ektp.simulate.population import RegionPool
from tests.linkage.conftest import person

_SUSILO = {
    "nik": "3204050703800001", "name": "MUHAMMAD JOKO SUSILO", "sex": "L", "birth_date": "1980-03-07", "birth_place": "BANDUNG",
    "mother_name": "SITI AMINAH", "province_code": "32", "regency_code": "32.04", "district_code": "32.04.05",
    "village_code": "32.04.05.2001",
}  # fmt: skip


def _planted() -> list[dict]:
    return [
        person(1, **_SUSILO),
        # Moved to Jawa Timur, recorded again with a new NIK, old spelling and abbreviation.
        person(2, **{**_SUSILO, "nik": "3578010703809001", "name": "MOCH. DJOKO SOESILO", "province_code": "35",
                     "regency_code": "35.78", "district_code": "35.78.01", "village_code": "35.78.01.1001"}),
        # Day and month swapped, single name, same village.
        person(3, **{**_SUSILO, "nik": "", "name": "SUSILO", "birth_date": "1980-07-03"}),
        # A different person: same village, different name, sex and date.
        person(4, **{**_SUSILO, "nik": "3204054512900002", "name": "DEWI LESTARI", "sex": "P",
                     "birth_date": "1990-12-05", "mother_name": "ENDANG"}),
        person(5, name="RUDI HARTONO", sex="L", birth_date="1975-01-20", birth_place="SURABAYA",
               province_code="35", regency_code="35.78", district_code="35.78.01", village_code="35.78.01.1001"),
    ]  # fmt: skip


class TestDedupeRecords:
    def test_planted_duplicates_found(self) -> None:
        result = dedupe_records(_planted())
        assert result.clusters[1] == result.clusters[2] == result.clusters[3] == 1
        assert result.clusters[4] == 4
        assert result.clusters[5] == 5
        assert result.duplicate_groups() == [[1, 2, 3]]

    def test_generated_data_scores_well(self, region_pool: RegionPool) -> None:
        dataset = make_dataset(1500, seed=21, pool=region_pool)
        result = dedupe_records(dataset.records)
        scores = pairwise_scores(
            result.clusters, {r["record_id"]: r["true_person_id"] for r in dataset.records}
        )
        assert scores.f1 >= 0.95, scores
        assert result.pairs > result.links > 0

    def test_row_numbers_when_no_record_id(self) -> None:
        rows = [{key: value for key, value in record.items() if key != "record_id"} for record in _planted()]
        result = dedupe_records(rows)
        assert sorted(result.clusters) == [1, 2, 3, 4, 5]

    def test_empty_fields_are_fine(self) -> None:
        result = dedupe_records([person(1, name="ALI"), person(2, name="ALI")])
        assert set(result.clusters) == {1, 2}

    def test_bad_date_names_row_and_rule(self) -> None:
        rows = _planted()
        rows[2]["birth_date"] = "1980-13-45"
        with pytest.raises(ValidationFailed) as caught:
            dedupe_records(rows)
        problem = caught.value.problems[0]
        assert (problem.field, problem.rule) == ("birth_date", "date_range")
        assert "row 3" in problem.message

    def test_duplicate_record_ids_refused(self) -> None:
        with pytest.raises(ValidationFailed, match="record_id 1 occurs more than once"):
            dedupe_records([person(1, name="A B"), person(1, name="C D")])

    def test_threshold_range(self) -> None:
        with pytest.raises(ValidationFailed, match="threshold"):
            dedupe_records(_planted(), threshold=1.5)

    def test_unknown_backend(self) -> None:
        with pytest.raises(ValidationFailed, match="backend"):
            dedupe_records(_planted(), backend="oracle")


class TestPairwiseScores:
    def test_perfect_and_split(self) -> None:
        truth = {1: "a", 2: "a", 3: "b"}
        assert pairwise_scores({1: 1, 2: 1, 3: 3}, truth).f1 == 1.0
        split = pairwise_scores({1: 1, 2: 2, 3: 3}, truth)
        assert (split.precision, split.recall) == (1.0, 0.0)
        lumped = pairwise_scores({1: 1, 2: 1, 3: 1}, truth)
        assert lumped.precision == pytest.approx(1 / 3)
