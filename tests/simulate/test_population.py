"""The pure population generator: determinism, NIK/KK consistency, family structure, and the
shape of the population (religion, age, names) — no database."""

from __future__ import annotations

import collections
import datetime as dt
import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ektp.kit.errors import ValidationFailed
from ektp.population.kk import parse_kk
from ektp.population.names import check_name, search_key
from ektp.population.nik import generate_nik, parse_nik
from ektp.population.service import is_wajib_ktp
from ektp.simulate.load import wajib_ktp_count
from ektp.simulate.names import ABBREVIATED, CULTURES, old_spelling
from ektp.simulate.population import (
    OCCUPATION_LABELS,
    REFERENCE_DATE,
    IdStart,
    PopulationChunk,
    RegionPool,
    SerialCounter,
    birth_place_label,
    generate_population,
)

PROVINCES = ("31", "32", "51", "53", "71")


@pytest.fixture(scope="module")
def pool() -> RegionPool:
    return RegionPool.from_source(PROVINCES)


@pytest.fixture(scope="module")
def national_pool() -> RegionPool:
    return RegionPool.from_source()


@pytest.fixture(scope="module")
def chunks(pool: RegionPool) -> list[PopulationChunk]:
    """3,000 residents in three chunks, so cross-chunk rules (serials, ids) are exercised."""
    return list(
        generate_population(pool, size=3_000, seed=11, provinces=("31", "32", "51"), chunk_size=1_000)
    )


def rows(chunks: list[PopulationChunk], table: str) -> list[dict[str, Any]]:
    return [row for chunk in chunks for row in chunk.rows(table)]


def by_family(residents: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    families: dict[int, list[dict[str, Any]]] = collections.defaultdict(list)
    for resident in residents:
        families[resident["family_id"]].append(resident)
    return families


class TestDeterminism:
    def test_same_seed_gives_the_same_population(self, pool: RegionPool) -> None:
        first = next(generate_population(pool, size=500, seed=42, provinces=["32"]))
        second = next(generate_population(pool, size=500, seed=42, provinces=["32"]))
        assert first.rows("residents") == second.rows("residents")
        assert first.rows("families") == second.rows("families")
        assert first.rows("kk_history") == second.rows("kk_history")

    def test_another_seed_gives_other_people(self, pool: RegionPool) -> None:
        first = next(generate_population(pool, size=500, seed=42, provinces=["32"]))
        second = next(generate_population(pool, size=500, seed=43, provinces=["32"]))
        assert first.residents["nik"].tolist() != second.residents["nik"].tolist()

    def test_size_is_exact_across_chunks(self, chunks: list[PopulationChunk]) -> None:
        assert [chunk.resident_count for chunk in chunks] == [1_000, 1_000, 1_000]


class TestNik:
    def test_every_nik_matches_birth_date_sex_and_first_district(self, chunks: list[PopulationChunk]) -> None:
        for resident in rows(chunks, "residents"):
            result = parse_nik(resident["nik"], birth_date=resident["birth_date"], sex=resident["sex"])
            assert result.ok, (resident, result.errors)
            assert result.facts is not None
            assert result.facts.district_code == resident["nik_district"]
            assert resident["nik"] == generate_nik(
                district_code=resident["nik_district"],
                birth_date=resident["birth_date"],
                sex=resident["sex"],
                serial=result.facts.serial,
            )

    def test_niks_are_unique_across_chunks(self, chunks: list[PopulationChunk]) -> None:
        niks = [resident["nik"] for resident in rows(chunks, "residents")]
        assert len(set(niks)) == len(niks)

    def test_serials_count_up_within_each_prefix(self, chunks: list[PopulationChunk]) -> None:
        serials: dict[str, list[int]] = collections.defaultdict(list)
        for resident in rows(chunks, "residents"):
            serials[resident["nik"][:12]].append(int(resident["nik"][12:]))
        for used in serials.values():
            assert sorted(used) == list(range(1, len(used) + 1))

    def test_most_niks_were_issued_in_the_family_district(self, chunks: list[PopulationChunk]) -> None:
        residents = rows(chunks, "residents")
        elsewhere = sum(resident["nik_district"] != resident["district_code"] for resident in residents)
        assert 0.02 < elsewhere / len(residents) < 0.15

    def test_numbers_already_stored_are_never_generated_again(self, pool: RegionPool) -> None:
        first = next(generate_population(pool, size=400, seed=5, provinces=["31"]))
        counter = SerialCounter.from_numbers("NIK", first.residents["nik"].tolist())
        again = next(generate_population(pool, size=400, seed=5, provinces=["31"], nik_serials=counter))
        assert not set(first.residents["nik"].tolist()) & set(again.residents["nik"].tolist())


class TestSerialCounter:
    @settings(max_examples=60, deadline=None)
    @given(
        existing=st.lists(st.tuples(st.integers(0, 3), st.integers(1, 50)), max_size=20),
        batches=st.lists(st.lists(st.integers(0, 5), max_size=30), min_size=1, max_size=4),
    )
    def test_serials_are_fresh_and_contiguous_per_prefix(
        self, existing: list[tuple[int, int]], batches: list[list[int]]
    ) -> None:
        base = 320_405_010_190
        numbers = [f"{base + prefix:012d}{serial:04d}" for prefix, serial in existing]
        counter = SerialCounter.from_numbers("NIK", numbers)
        highest: dict[int, int] = collections.defaultdict(int)
        for prefix, serial in existing:
            highest[base + prefix] = max(highest[base + prefix], serial)
        for batch in batches:
            prefixes = np.array([base + offset for offset in batch], dtype=np.int64)
            serials = counter.assign(prefixes)
            for prefix in set(prefixes.tolist()):
                got = sorted(serials[prefixes == prefix].tolist())
                assert got == list(range(highest[prefix] + 1, highest[prefix] + 1 + len(got)))
                highest[prefix] += len(got)

    def test_more_than_9999_in_one_prefix_is_refused(self) -> None:
        counter = SerialCounter.from_numbers("NIK", ["3204051705909990"])
        with pytest.raises(ValidationFailed) as error:
            counter.assign(np.full(10, 320405170590, dtype=np.int64))
        assert error.value.problems[0].field == "serial"
        assert error.value.problems[0].rule == "range"


class TestFamilies:
    def test_each_family_has_one_head_and_its_kk_number(self, chunks: list[PopulationChunk]) -> None:
        residents = rows(chunks, "residents")
        families = {family["id"]: family for family in rows(chunks, "families")}
        ids = {resident["id"]: resident for resident in residents}
        for family_id, members in by_family(residents).items():
            heads = [member for member in members if member["relation"] == "KEPALA_KELUARGA"]
            assert len(heads) == 1
            assert families[family_id]["head_resident_id"] == heads[0]["id"]
            assert ids[heads[0]["id"]]["family_id"] == family_id
        assert set(families) == set(by_family(residents))

    def test_spouses_are_married_to_a_head_of_the_other_sex(self, chunks: list[PopulationChunk]) -> None:
        for members in by_family(rows(chunks, "residents")).values():
            head = next(member for member in members if member["relation"] == "KEPALA_KELUARGA")
            spouses = [member for member in members if member["relation"] == "ISTRI"]
            assert len(spouses) <= 1
            for spouse in spouses:
                assert spouse["sex"] != head["sex"]
                assert spouse["marital_status"] == head["marital_status"] == "KAWIN"

    def test_children_are_at_least_15_years_younger_than_their_parents(
        self, chunks: list[PopulationChunk]
    ) -> None:
        for members in by_family(rows(chunks, "residents")).values():
            parents = [member for member in members if member["relation"] in ("KEPALA_KELUARGA", "ISTRI")]
            for child in (member for member in members if member["relation"] == "ANAK"):
                for parent in parents:
                    assert (child["birth_date"] - parent["birth_date"]).days >= 15 * 365

    def test_grandparents_are_older_than_the_head(self, chunks: list[PopulationChunk]) -> None:
        for members in by_family(rows(chunks, "residents")).values():
            head = next(member for member in members if member["relation"] == "KEPALA_KELUARGA")
            for elder in (member for member in members if member["relation"] in ("ORANG_TUA", "MERTUA")):
                assert elder["birth_date"] < head["birth_date"]
                assert elder["marital_status"] in ("CERAI_MATI", "CERAI_HIDUP")

    def test_family_members_share_the_address(self, chunks: list[PopulationChunk]) -> None:
        families = {family["id"]: family for family in rows(chunks, "families")}
        for resident in rows(chunks, "residents"):
            family = families[resident["family_id"]]
            for column in ("street", "rt", "rw", "village_code"):
                assert resident[column] == family[column]
            assert resident["village_code"].startswith(resident["district_code"] + ".")
            assert resident["district_code"].startswith(resident["regency_code"] + ".")

    def test_mean_family_size_is_about_three_and_a_half(self, chunks: list[PopulationChunk]) -> None:
        residents = sum(chunk.resident_count for chunk in chunks)
        families = sum(chunk.family_count for chunk in chunks)
        assert 3.1 <= residents / families <= 4.0

    def test_no_card_lists_more_than_eight_children(self, national_pool: RegionPool) -> None:
        chunk = next(generate_population(national_pool, size=20_000, seed=12))
        children = collections.Counter(
            family_id
            for family_id, relation in zip(
                chunk.residents["family_id"].tolist(), chunk.residents["relation"].tolist(), strict=True
            )
            if relation == "ANAK"
        )
        assert max(children.values()) <= 8

    def test_membership_rows_match_residents(self, chunks: list[PopulationChunk]) -> None:
        residents = {resident["id"]: resident for resident in rows(chunks, "residents")}
        members = rows(chunks, "members")
        assert sorted(member["resident_id"] for member in members) == sorted(residents)
        for member in members:
            resident = residents[member["resident_id"]]
            assert member["family_id"] == resident["family_id"]
            assert member["relation"] == resident["relation"]
            assert resident["birth_date"] <= member["joined_on"] <= REFERENCE_DATE

    def test_ids_continue_from_the_given_start(self, pool: RegionPool) -> None:
        chunk = next(
            generate_population(pool, size=200, seed=1, provinces=["31"], ids=IdStart(1000, 500, 700, 900))
        )
        assert chunk.residents["id"].min() == 1000
        assert chunk.residents["id"].max() == 1199
        assert chunk.families["id"].min() == 500
        assert chunk.members["id"].min() == 700
        assert chunk.kk_history["id"].min() == 900


class TestKk:
    def test_kk_numbers_encode_district_and_issue_date(self, chunks: list[PopulationChunk]) -> None:
        for family in rows(chunks, "families"):
            result = parse_kk(family["kk_number"], issued_on=family["kk_issued_on"], today=REFERENCE_DATE)
            assert result.ok, (family, result.errors)
            assert result.facts is not None
            assert family["village_code"].startswith(result.facts.district_code + ".")

    def test_history_ends_with_the_current_number_and_has_no_gaps(
        self, chunks: list[PopulationChunk]
    ) -> None:
        families = {family["id"]: family for family in rows(chunks, "families")}
        editions: dict[int, list[dict[str, Any]]] = collections.defaultdict(list)
        for edition in rows(chunks, "kk_history"):
            editions[edition["family_id"]].append(edition)
        assert set(editions) == set(families)
        reasons = collections.Counter()
        for family_id, history in editions.items():
            history.sort(key=lambda edition: edition["valid_from"])
            assert history[0]["reason"] in ("ISSUED", "SPLIT")
            assert history[-1]["valid_to"] is None
            assert history[-1]["kk_number"] == families[family_id]["kk_number"]
            for earlier, later in itertools.pairwise(history):
                assert earlier["valid_to"] == later["valid_from"]
                same_number = later["kk_number"] == earlier["kk_number"]
                assert same_number == (later["reason"] == "MEMBER_CHANGE")
            reasons.update(edition["reason"] for edition in history)
        assert reasons["MOVE"]
        assert reasons["HEAD_CHANGE"]
        assert reasons["MEMBER_CHANGE"]

    def test_all_kk_numbers_are_unique(self, chunks: list[PopulationChunk]) -> None:
        numbers = {(edition["family_id"], edition["kk_number"]) for edition in rows(chunks, "kk_history")}
        assert len({number for _, number in numbers}) == len(numbers)


class TestDistributions:
    def test_religion_shares_are_national(self, national_pool: RegionPool) -> None:
        chunk = next(generate_population(national_pool, size=20_000, seed=3, chunk_size=20_000))
        counts = collections.Counter(chunk.residents["religion"].tolist())
        share = {religion: count / 20_000 for religion, count in counts.items()}
        assert share["ISLAM"] == pytest.approx(0.870, abs=0.02)
        assert share["KRISTEN"] == pytest.approx(0.074, abs=0.015)
        assert share["KATOLIK"] == pytest.approx(0.031, abs=0.01)
        assert share["HINDU"] == pytest.approx(0.017, abs=0.008)
        assert share["BUDDHA"] == pytest.approx(0.007, abs=0.005)
        assert share.get("KONGHUCU", 0) < 0.003
        assert share.get("KEPERCAYAAN", 0) < 0.003

    @pytest.mark.parametrize(
        ("province", "majority"), [("51", "HINDU"), ("53", "KATOLIK"), ("71", "KRISTEN"), ("32", "ISLAM")]
    )
    def test_regional_majorities(self, pool: RegionPool, province: str, majority: str) -> None:
        chunk = next(generate_population(pool, size=2_000, seed=9, provinces=[province]))
        top, _ = collections.Counter(chunk.residents["religion"].tolist()).most_common(1)[0]
        assert top == majority

    def test_regions_are_weighted_by_population(self, pool: RegionPool) -> None:
        chunk = next(generate_population(pool, size=5_000, seed=2, provinces=["31", "32"]))
        west_java = np.count_nonzero(chunk.residents["province_code"] == "32") / 5_000
        assert west_java == pytest.approx(51.3 / (51.3 + 11.0), abs=0.05)

    def test_age_pyramid_is_young_with_median_about_thirty(self, chunks: list[PopulationChunk]) -> None:
        births = np.concatenate([chunk.residents["birth_date"] for chunk in chunks])
        ages = (np.datetime64(REFERENCE_DATE) - births).astype(np.int64) / 365.25
        assert 27 <= np.median(ages) <= 33
        assert np.mean(ages < 15) == pytest.approx(0.25, abs=0.04)
        assert np.mean(ages >= 65) < 0.1
        assert ages.max() <= 96

    def test_sex_is_about_even(self, chunks: list[PopulationChunk]) -> None:
        sexes = np.concatenate([chunk.residents["sex"] for chunk in chunks])
        assert np.mean(sexes == "L") == pytest.approx(0.5, abs=0.03)

    def test_blood_types_are_mostly_unknown_and_o_leads(self, chunks: list[PopulationChunk]) -> None:
        blood = collections.Counter(
            np.concatenate([chunk.residents["blood_type"] for chunk in chunks]).tolist()
        )
        total = sum(blood.values())
        assert 0.45 < blood["UNKNOWN"] / total < 0.65
        letters = collections.Counter()
        for value, count in blood.items():
            if value != "UNKNOWN":
                letters[value.rstrip("+-")] += count
        known = sum(letters.values())
        assert letters["O"] / known == pytest.approx(0.40, abs=0.05)
        assert letters["AB"] / known == pytest.approx(0.07, abs=0.03)

    def test_occupations_follow_age(self, chunks: list[PopulationChunk]) -> None:
        residents = rows(chunks, "residents")
        for resident in residents:
            assert resident["occupation"] in OCCUPATION_LABELS
            age = (REFERENCE_DATE - resident["birth_date"]).days / 365.25
            if age < 5:
                assert resident["occupation"] == "BELUM/TIDAK BEKERJA"
            if resident["occupation"] == "PENSIUNAN":
                assert age >= 58
        pupils = [r for r in residents if 8 <= (REFERENCE_DATE - r["birth_date"]).days / 365.25 < 12]
        assert sum(r["occupation"] == "PELAJAR/MAHASISWA" for r in pupils) / len(pupils) > 0.9

    def test_a_few_foreigners_hold_a_permit(self, pool: RegionPool) -> None:
        chunk = next(generate_population(pool, size=10_000, seed=4, provinces=["31"]))
        foreign = chunk.residents["citizenship"] == "WNA"
        assert 1 <= np.count_nonzero(foreign) <= 20
        assert not np.isnat(chunk.residents["permit_expiry"][foreign]).any()
        assert np.isnat(chunk.residents["permit_expiry"][~foreign]).all()

    def test_marital_status_follows_age(self, chunks: list[PopulationChunk]) -> None:
        for resident in rows(chunks, "residents"):
            age = (REFERENCE_DATE - resident["birth_date"]).days / 365.25
            if age < 15:
                assert resident["marital_status"] == "BELUM_KAWIN"

    def test_wajib_ktp_count_agrees_with_the_service_rule(self, chunks: list[PopulationChunk]) -> None:
        chunk = chunks[0]
        expected = 0
        for resident in chunk.rows("residents"):
            facts = type("Facts", (), {**resident, "death_date": None})
            expected += is_wajib_ktp(facts, REFERENCE_DATE)  # type: ignore[arg-type]
        assert wajib_ktp_count(chunk, REFERENCE_DATE) == expected
        assert 0.65 < expected / chunk.resident_count < 0.8


class TestNames:
    def test_names_are_upper_case_and_searchable(self, chunks: list[PopulationChunk]) -> None:
        for resident in rows(chunks, "residents"):
            name = resident["full_name"]
            assert name == name.upper().strip()
            assert "  " not in name
            assert resident["name_search"] == search_key(name)
            assert len(name) <= 100

    def test_records_from_2022_follow_the_name_rules(self, chunks: list[PopulationChunk]) -> None:
        checked = 0
        for resident in rows(chunks, "residents"):
            if resident["recorded_on"] < dt.date(2022, 1, 1):
                continue
            checked += 1
            problems = check_name(resident["full_name"], recorded_on=resident["recorded_on"])
            # The Balinese article I ("I WAYAN") is a one-letter word but not an abbreviation.
            problems = [
                problem
                for problem in problems
                if not (problem.rule == "abbreviation" and resident["full_name"].startswith("I "))
            ]
            assert not problems, (resident["full_name"], problems)
        assert checked > 50

    def test_legacy_records_hold_single_names_and_abbreviations(self, pool: RegionPool) -> None:
        chunk = next(generate_population(pool, size=20_000, seed=8, provinces=["32"]))
        residents = chunk.rows("residents")
        legacy = [r for r in residents if r["recorded_on"] < dt.date(2022, 1, 1)]
        older = [" " not in r["full_name"] for r in legacy if r["birth_date"].year < 1970]
        younger = [" " not in r["full_name"] for r in legacy if r["birth_date"].year >= 1995]
        assert np.mean(older) > 0.3
        assert np.mean(older) > 5 * np.mean(younger)
        abbreviations = {variant for variants in ABBREVIATED.values() for variant in variants}
        abbreviated = [r for r in residents if set(r["full_name"].split()) & abbreviations]
        assert abbreviated
        assert all(r["recorded_on"] < dt.date(2022, 1, 1) for r in abbreviated)

    def test_old_spellings_belong_to_older_people(self, pool: RegionPool) -> None:
        chunk = next(generate_population(pool, size=20_000, seed=8, provinces=["32", "31"]))
        modern = {
            token
            for culture in CULTURES
            for pools in (culture.male, culture.female)
            for era in (*pools.first, *pools.more)
            for token in era
        }
        respelled = {old_spelling(token) for token in modern} - modern
        old_style = [r for r in chunk.rows("residents") if set(r["full_name"].split()) & respelled]
        assert len(old_style) > 20
        assert np.mean([r["birth_date"].year < 1972 for r in old_style]) > 0.9

    def test_balinese_birth_order_names(self, pool: RegionPool) -> None:
        chunk = next(generate_population(pool, size=3_000, seed=6, provinces=["51"]))
        hindu = [r for r in chunk.rows("residents") if r["religion"] == "HINDU" and r["citizenship"] == "WNI"]
        for resident in hindu:
            if resident["sex"] == "L":
                assert resident["full_name"].startswith(("I ", "IDA BAGUS", "ANAK AGUNG"))
            else:
                assert resident["full_name"].startswith(("NI ", "IDA AYU", "ANAK AGUNG AYU", "I GUSTI AYU"))

    def test_batak_children_carry_their_father_marga(self, pool: RegionPool) -> None:
        sumut = RegionPool.from_source(["12"])
        chunk = next(generate_population(sumut, size=4_000, seed=6, provinces=["12"]))
        batak = set(next(c for c in CULTURES if c.key == "batak").surnames)
        families = by_family(chunk.rows("residents"))
        matched = 0
        for members in families.values():
            head = next(m for m in members if m["relation"] == "KEPALA_KELUARGA")
            head_marga = head["full_name"].split()[-1]
            if head["sex"] != "L" or head_marga not in batak:
                continue
            for child in (m for m in members if m["relation"] == "ANAK"):
                child_marga = child["full_name"].split()[-1]
                if child_marga in batak:
                    assert child_marga == head_marga
                    matched += 1
            for wife in (m for m in members if m["relation"] == "ISTRI"):
                assert wife["full_name"].split()[-1] != head_marga
        assert matched > 20

    def test_old_spelling_rules(self) -> None:
        assert old_spelling("SUKARNO") == "SOEKARNO"
        assert old_spelling("JOKO") == "DJOKO"
        assert old_spelling("CAHYO") == "TJAHJO"
        assert old_spelling("NYOMAN") == "NJOMAN"
        assert old_spelling("ACHMAD") == "ACHMAD"

    def test_birth_places_read_like_a_card(self) -> None:
        assert birth_place_label("Kabupaten Bandung") == "BANDUNG"
        assert birth_place_label("Kota Administrasi Jakarta Selatan") == "JAKARTA"
        assert birth_place_label("Kota Bau-Bau") == "BAU BAU"


class TestBadInput:
    def test_size_must_be_positive(self, pool: RegionPool) -> None:
        with pytest.raises(ValidationFailed) as error:
            next(generate_population(pool, size=0, seed=1))
        assert (error.value.problems[0].field, error.value.problems[0].rule) == ("size", "range")

    def test_unknown_province_is_refused(self, pool: RegionPool) -> None:
        with pytest.raises(ValidationFailed) as error:
            next(generate_population(pool, size=10, seed=1, provinces=["39"]))
        assert (error.value.problems[0].field, error.value.problems[0].rule) == ("province", "unknown")

    def test_province_without_villages_is_refused(self, pool: RegionPool) -> None:
        with pytest.raises(ValidationFailed) as error:
            next(generate_population(pool, size=10, seed=1, provinces=["35"]))
        assert (error.value.problems[0].field, error.value.problems[0].rule) == ("province", "no_villages")

    def test_malformed_province_is_refused(self, pool: RegionPool) -> None:
        with pytest.raises(ValidationFailed) as error:
            next(generate_population(pool, size=10, seed=1, provinces=["3x"]))
        assert (error.value.problems[0].field, error.value.problems[0].rule) == ("province", "format")

    def test_tiny_populations_still_form_families(self, pool: RegionPool) -> None:
        chunk = next(generate_population(pool, size=3, seed=1, provinces=["31"]))
        assert chunk.resident_count == 3
        assert 1 <= chunk.family_count <= 3
        assert set(chunk.residents["family_id"].tolist()) == set(chunk.families["id"].tolist())
