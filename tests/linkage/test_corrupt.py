"""The corruption generator and its ground truth."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import pytest

from ektp.kit.errors import ValidationFailed
from ektp.linkage.corrupt import CORRUPTION_WEIGHTS, corrupt_record, keyboard_typo, make_dataset
from ektp.simulate.population import RegionPool


class TestMakeDataset:
    def test_counts_and_truth(self, region_pool: RegionPool) -> None:
        dataset = make_dataset(800, seed=3, pool=region_pool)
        assert len(dataset.records) == 1000
        assert dataset.person_count == 800
        ids = [record["record_id"] for record in dataset.records]
        assert sorted(ids) == list(range(1, 1001))
        sizes = Counter(record["true_person_id"] for record in dataset.records)
        assert max(sizes.values()) <= 3
        assert dataset.true_pairs() == sum(n * (n - 1) // 2 for n in sizes.values())

    def test_every_duplicate_differs_from_its_original_and_says_how(self, region_pool: RegionPool) -> None:
        dataset = make_dataset(600, seed=4, pool=region_pool)
        by_person: dict[int, list[dict]] = {}
        for record in dataset.records:
            by_person.setdefault(record["true_person_id"], []).append(record)
        for records in by_person.values():
            clean = [r for r in records if not r["corruptions"]]
            assert len(clean) == 1
            for duplicate in (r for r in records if r["corruptions"]):
                fields = ("nik", "name", "birth_date", "birth_place", "mother_name", "village_code")
                assert any(duplicate[f] != clean[0][f] for f in fields), duplicate["corruptions"]

    def test_same_seed_same_data(self, region_pool: RegionPool) -> None:
        first = make_dataset(200, seed=9, pool=region_pool).records
        second = make_dataset(200, seed=9, pool=region_pool).records
        assert first == second

    def test_bad_share_is_refused(self, region_pool: RegionPool) -> None:
        with pytest.raises(ValidationFailed, match="duplicate_share"):
            make_dataset(10, duplicate_share=1.5, pool=region_pool)


class TestCorruptions:
    @pytest.fixture
    def clean(self) -> dict:
        return {
            "record_id": 1, "true_person_id": 1, "nik": "3204050703800001", "name": "MUHAMMAD JOKO SUSILO",
            "sex": "L", "birth_date": "1980-03-07", "birth_place": "BANDUNG", "mother_name": "SITI AMINAH",
            "province_code": "32", "regency_code": "32.04", "district_code": "32.04.05",
            "village_code": "32.04.05.2001", "address": "JL. MAWAR NO. 1", "corruptions": "",
        }  # fmt: skip

    def test_moved_gets_new_region_and_new_nik(self, clean: dict, region_pool: RegionPool) -> None:
        used = {clean["nik"]}
        moved = corrupt_record(
            clean, np.random.default_rng(1), pool=region_pool, used_niks=used, kinds=["moved"]
        )
        assert moved["corruptions"] == "moved"
        assert moved["village_code"] != clean["village_code"]
        assert moved["nik"] != clean["nik"]
        assert len(moved["nik"]) == 16
        assert moved["nik"][:6] == moved["district_code"].replace(".", "")
        assert moved["name"] == clean["name"]

    def test_day_month_swap(self, clean: dict, region_pool: RegionPool) -> None:
        swapped = corrupt_record(
            clean, np.random.default_rng(1), pool=region_pool, used_niks=set(), kinds=["day_month_swap"]
        )
        assert swapped["birth_date"] == "1980-07-03"

    def test_old_spelling_and_abbreviation(self, clean: dict, region_pool: RegionPool) -> None:
        rng = np.random.default_rng(2)
        old = corrupt_record(clean, rng, pool=region_pool, used_niks=set(), kinds=["old_spelling"])
        assert "OE" in old["name"]
        assert "DJ" in old["name"]
        short = corrupt_record(clean, rng, pool=region_pool, used_niks=set(), kinds=["abbreviation"])
        assert not short["name"].startswith("MUHAMMAD ")

    def test_every_kind_is_known(self, clean: dict, region_pool: RegionPool) -> None:
        with pytest.raises(ValidationFailed, match="unknown corruption"):
            corrupt_record(clean, np.random.default_rng(1), pool=region_pool, used_niks=set(), kinds=["nope"])
        for kind in CORRUPTION_WEIGHTS:
            corrupt_record(clean, np.random.default_rng(3), pool=region_pool, used_niks=set(), kinds=[kind])

    def test_keyboard_typo_changes_one_place(self) -> None:
        rng = np.random.default_rng(5)
        for _ in range(50):
            typo = keyboard_typo("SUSILO", rng)
            assert typo != "SUSILO"  # no two equal adjacent letters, so every slip shows
            assert abs(len(typo) - 6) <= 1

    def test_dates_stay_valid(self, region_pool: RegionPool) -> None:
        for record in make_dataset(300, seed=6, pool=region_pool).records:
            if record["birth_date"]:
                dt.date.fromisoformat(record["birth_date"])
