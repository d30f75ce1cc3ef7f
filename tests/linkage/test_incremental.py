"""Incremental 1:N against a linked master with stable person-cluster ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from ektp.kit.errors import NotFound, ValidationFailed
from ektp.linkage.incremental import LinkedMaster
from tests.linkage.conftest import person

_BASE = {
    "sex": "L", "birth_place": "BANDUNG", "province_code": "32", "regency_code": "32.04",
    "district_code": "32.04.05", "village_code": "32.04.05.2001",
}  # fmt: skip


def _master_records() -> list[dict]:
    return [
        person(1, **_BASE, nik="3204050703800001", name="JOKO SUSILO", birth_date="1980-03-07", mother_name="SITI"),
        person(2, **_BASE, nik="3204052005750001", name="BAMBANG HARIYANTO", birth_date="1975-05-20"),
        person(3, **{**_BASE, "sex": "P"}, nik="3204055111900001", name="DEWI LESTARI", birth_date="1990-11-11"),
        # The same man as 1, recorded twice (already linked in the master by a batch run).
        person(4, **_BASE, nik="3204050703800001", name="DJOKO SOESILO", birth_date="1980-03-07"),
    ]  # fmt: skip


@pytest.fixture
def master() -> LinkedMaster:
    linked = LinkedMaster(None)
    linked.load(_master_records(), clusters={1: 1, 2: 2, 3: 3, 4: 1})
    return linked


class TestLoad:
    def test_groups_get_stable_ids_in_record_order(self, master: LinkedMaster) -> None:
        assert master.clusters() == {1: 1, 2: 2, 3: 3, 4: 1}

    def test_load_needs_an_empty_master(self, master: LinkedMaster) -> None:
        with pytest.raises(ValidationFailed, match="empty master"):
            master.load(_master_records())


class TestCheckRecord:
    def test_duplicate_after_move_with_new_nik_joins_its_cluster(self, master: LinkedMaster) -> None:
        moved = person(10, nik="3578010703809001", name="MOCH. JOKO SUSILO", sex="L", birth_date="1980-03-07",
                       birth_place="BANDUNG", province_code="35", regency_code="35.78", district_code="35.78.01",
                       village_code="35.78.01.1001")  # fmt: skip
        result = master.check_record(moved)
        assert result.decision == "join"
        assert result.cluster_id == 1
        assert result.best_probability >= 0.9
        assert master.cluster_of(10) == 1

    def test_day_month_swap_joins(self, master: LinkedMaster) -> None:
        result = master.check_record(
            person(11, **_BASE, name="JOKO SUSILO", birth_date="1980-07-03", mother_name="SITI")
        )
        assert result.decision == "join"
        assert result.cluster_id == 1

    def test_new_person_starts_a_new_cluster_with_a_fresh_id(self, master: LinkedMaster) -> None:
        result = master.check_record(person(20, **_BASE, name="AGUS SALIM", birth_date="2001-02-03"))
        assert result.decision == "new"
        assert result.cluster_id == 4
        second = master.check_record(person(21, **_BASE, name="RINA MARLINA", birth_date="1999-09-09"))
        assert second.cluster_id == 5

    def test_ids_stay_stable_as_records_are_added(self, master: LinkedMaster) -> None:
        before = master.clusters()
        master.check_record(person(30, **_BASE, name="JOKO SUSILO", birth_date="1980-07-03"))
        master.check_record(person(31, **_BASE, name="AHMAD DAHLAN", birth_date="1968-01-30"))
        after = master.clusters()
        assert {record_id: after[record_id] for record_id in before} == before

    def test_check_without_add_writes_nothing(self, master: LinkedMaster) -> None:
        result = master.check_record(
            person(40, **_BASE, name="AGUS SALIM", birth_date="2001-02-03"), add=False
        )
        assert result.decision == "new"
        assert master.record_count == 4
        assert (
            master.check_record(person(40, **_BASE, name="AGUS SALIM", birth_date="2001-02-03")).cluster_id
            == result.cluster_id
        )

    def test_record_id_required_and_unique(self, master: LinkedMaster) -> None:
        with pytest.raises(ValidationFailed, match="record_id"):
            master.check_record({"name": "ALI"})
        with pytest.raises(ValidationFailed, match="already in the master"):
            master.check_record(person(1, name="ALI"))


class TestMergeCandidates:
    def _two_clusters_of_one_person(self) -> LinkedMaster:
        linked = LinkedMaster(None)
        records = _master_records()
        linked.load(records, clusters={1: 1, 2: 2, 3: 3, 4: 4})  # 1 and 4 not linked by the batch
        return linked

    def test_record_matching_two_clusters_reports_a_merge_candidate(self) -> None:
        linked = self._two_clusters_of_one_person()
        result = linked.check_record(
            person(50, **_BASE, nik="3204050703800001", name="JOKO SUSILO", birth_date="1980-03-07")
        )
        assert result.decision == "join"
        assert {result.cluster_id, *(c.cluster_b for c in result.merge_candidates)} == {1, 4}
        assert linked.merge_candidates() == result.merge_candidates
        assert linked.cluster_of(1) == 1
        assert linked.cluster_of(4) == 4

    def test_confirmed_merge_keeps_lower_id_and_redirects(self) -> None:
        linked = self._two_clusters_of_one_person()
        linked.check_record(
            person(50, **_BASE, nik="3204050703800001", name="JOKO SUSILO", birth_date="1980-03-07")
        )
        survivor = linked.merge_clusters(4, 1, examiner="examiner-1")
        assert survivor == 1
        assert linked.cluster_of(4) == 1
        assert linked.resolve(4) == 1
        assert linked.resolve(1) == 1
        assert linked.merge_candidates() == []
        with pytest.raises(ValidationFailed, match="already one cluster"):
            linked.merge_clusters(1, 4, examiner="examiner-1")

    def test_merge_needs_examiner_and_known_clusters(self, master: LinkedMaster) -> None:
        with pytest.raises(ValidationFailed, match="examiner"):
            master.merge_clusters(1, 2, examiner=" ")
        with pytest.raises(NotFound):
            master.merge_clusters(1, 99, examiner="examiner-1")


class TestPersistence:
    def test_master_file_keeps_ids_and_sequence(self, tmp_path: Path) -> None:
        path = tmp_path / "master.duckdb"
        with LinkedMaster(path) as linked:
            linked.load(_master_records(), clusters={1: 1, 2: 2, 3: 3, 4: 1})
            linked.check_record(person(20, **_BASE, name="AGUS SALIM", birth_date="2001-02-03"))
        with LinkedMaster(path) as reopened:
            assert reopened.cluster_of(20) == 4
            assert (
                reopened.check_record(
                    person(21, **_BASE, name="RINA MARLINA", birth_date="1999-09-09")
                ).cluster_id
                == 5
            )
