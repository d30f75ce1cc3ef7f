"""Region services on the test database (all upper levels, villages of provinces 31 and 32)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from ektp.kit.errors import NotFound, ValidationFailed
from ektp.models.regions import Region
from ektp.regions.codes import normalise_region_name
from ektp.regions.service import (
    get_region,
    list_children,
    load_regions,
    region_counts,
    region_lookup,
    region_status,
    resolve_region,
    search_regions,
)
from ektp.regions.source import read_source
from tests.conftest import TEST_VILLAGE_PROVINCES


def _problem(exc: pytest.ExceptionInfo[ValidationFailed] | pytest.ExceptionInfo[NotFound]) -> tuple[str, str]:
    (problem,) = exc.value.problems
    return problem.field, problem.rule


def _first_village(session: Session, district: str, kind: str) -> Region:
    region = session.scalars(
        select(Region)
        .where(Region.parent_code == district, Region.kind == kind)
        .order_by(Region.code)
        .limit(1)
    ).first()
    assert region is not None
    return region


class TestLoadedTable:
    def test_counts_per_level_match_the_2025_list(self, session: Session) -> None:
        source = read_source()
        villages = sum(1 for code in source.villages if code[:2] in TEST_VILLAGE_PROVINCES)
        assert region_counts(session) == {1: 38, 2: 514, 3: 7285, 4: villages}
        # The 26 regency codes retired in the 2022 Papua split are kept, flagged historical.
        assert region_counts(session, include_historical=True)[2] == 514 + 26

    @pytest.mark.parametrize(
        ("code", "kind", "name"),
        [
            ("32", "provinsi", "Jawa Barat"),
            ("32.04", "kabupaten", "Kabupaten Bandung"),
            ("32.73", "kota", "Kota Bandung"),
            ("31.01", "kabupaten", "Kabupaten Administrasi Kepulauan Seribu"),
            ("31.71", "kota", "Kota Administrasi Jakarta Pusat"),
            ("32.04.05", "kecamatan", None),
            ("91.03.01", "distrik", None),
        ],
    )
    def test_kinds(self, session: Session, code: str, kind: str, name: str | None) -> None:
        region = get_region(session, code)
        assert region.kind == kind
        assert region.level == code.count(".") + 1
        if name is not None:
            assert region.name == name

    def test_villages_are_kelurahan_or_desa_by_their_code(self, session: Session) -> None:
        kelurahan = _first_village(session, "32.73.01", "kelurahan")
        desa = _first_village(session, "32.04.05", "desa")
        assert kelurahan.code.split(".")[3].startswith("1")
        assert desa.code.split(".")[3].startswith("2")
        assert desa.postal_code is not None
        assert len(desa.postal_code) == 5
        wrong = session.scalar(
            select(func.count())
            .select_from(Region)
            .where(Region.level == 4, Region.kind == "kelurahan", Region.code.not_like("%.%.%.1%"))
        )
        assert wrong == 0

    def test_rows_record_their_source_and_search_name(self, session: Session) -> None:
        region = get_region(session, "32.73")
        assert region.source == read_source().label
        assert region.name_search == "KOTA BANDUNG"
        assert region.parent_code == "32"
        assert region.valid_to is None

    def test_new_papua_provinces_are_valid_from_their_law(self, session: Session) -> None:
        assert get_region(session, "93").valid_from == dt.date(2022, 7, 25)
        assert get_region(session, "96.71").valid_from == dt.date(2022, 12, 8)
        assert get_region(session, "32").valid_from is None


class TestGetRegion:
    def test_accepts_undotted_codes(self, session: Session) -> None:
        assert get_region(session, "3204").code == "32.04"

    def test_unknown_code_is_not_found_with_a_clear_message(self, session: Session) -> None:
        with pytest.raises(NotFound, match=r"No region has code 32\.99") as exc:
            get_region(session, "3299")
        assert _problem(exc) == ("region_code", "exists")

    def test_malformed_code_is_refused(self, session: Session) -> None:
        with pytest.raises(ValidationFailed) as exc:
            get_region(session, "32-04")
        assert _problem(exc) == ("region_code", "digits_only")


class TestResolveRegion:
    def test_merauke_91_01_is_historical_with_successor_93_01(self, session: Session) -> None:
        resolution = resolve_region(session, "91.01")
        assert resolution.is_historical
        assert not resolution.inferred
        assert resolution.region.name == "Kabupaten Merauke"
        assert resolution.region.valid_to == dt.date(2022, 7, 25)
        assert resolution.region.source == "UU 14/2022"
        assert resolution.successor is not None
        assert resolution.successor.code == "93.01"
        assert not resolution.successor.is_historical

    def test_kota_sorong_moved_to_papua_barat_daya(self, session: Session) -> None:
        resolution = resolve_region(session, "9271")
        assert resolution.successor is not None
        assert (resolution.successor.code, resolution.successor.kind) == ("96.71", "kota")
        assert resolution.region.valid_to == dt.date(2022, 12, 8)

    def test_district_under_a_retired_regency_resolves_by_prefix_mapping(self, session: Session) -> None:
        resolution = resolve_region(session, "91.01.01")
        assert resolution.is_historical
        assert resolution.inferred
        assert resolution.successor is not None
        assert resolution.successor.code == "93.01.01"
        assert resolution.region.name == resolution.successor.name
        assert resolution.region.kind == "distrik"
        assert resolution.region.parent_code == "91.01"
        assert resolution.region.valid_to == dt.date(2022, 7, 25)
        assert "91.01 → 93.01" in resolution.region.source
        assert resolution.region not in session  # built for the answer, never stored

    def test_mapped_code_without_a_successor_is_unknown(self, session: Session) -> None:
        assert session.get(Region, "93.01.98") is None
        with pytest.raises(NotFound):
            resolve_region(session, "91.01.98")

    def test_current_code_has_no_successor(self, session: Session) -> None:
        resolution = resolve_region(session, "32.04.05")
        assert (resolution.is_historical, resolution.successor, resolution.inferred) == (False, None, False)

    def test_follows_the_successor_chain_to_the_code_in_force(self, session: Session) -> None:
        session.execute(
            update(Region)
            .where(Region.code == "93.01")
            .values(valid_to=dt.date(2030, 1, 1), successor_code="93.02")
        )
        resolution = resolve_region(session, "91.01")
        assert resolution.successor is not None
        assert resolution.successor.code == "93.02"

    def test_a_successor_cycle_does_not_loop(self, session: Session) -> None:
        session.execute(
            update(Region)
            .where(Region.code == "93.01")
            .values(valid_to=dt.date(2030, 1, 1), successor_code="91.01")
        )
        resolution = resolve_region(session, "91.01")
        assert resolution.successor is not None
        assert resolution.successor.code == "93.01"


class TestRegionStatus:
    @pytest.mark.parametrize(
        ("code", "status"),
        [
            ("32.04", "current"),
            ("320405", "current"),
            ("91.01", "historical"),
            ("91.01.01", "historical"),
            ("92.71", "historical"),
            ("32.99", "unknown"),
            ("99", "unknown"),
        ],
    )
    def test_status(self, session: Session, code: str, status: str) -> None:
        assert region_status(session, code) == status

    def test_malformed_code_raises(self, session: Session) -> None:
        with pytest.raises(ValidationFailed):
            region_status(session, "32x")


class TestRegionLookup:
    def test_answers_like_region_status_from_memory(self, session: Session) -> None:
        lookup = region_lookup(session)
        village = _first_village(session, "32.04.05", "desa").code
        codes = ["32", "32.04", "32.04.05", "320405", "91.01", "91.01.01", "91.01.98", "32.99.99", village]
        for code in codes:
            assert lookup(code) == region_status(session, code), code

    def test_district_codes_need_no_query_after_loading(self, session: Session) -> None:
        from sqlalchemy import event

        lookup = region_lookup(session)
        statements: list[str] = []

        def count(*args: object) -> None:
            statements.append(str(args[2]))

        bind = session.connection()
        event.listen(bind, "before_cursor_execute", count)
        try:
            assert lookup("320405") == "current"
            assert lookup("910101") == "historical"
            assert lookup("999999") == "unknown"
        finally:
            event.remove(bind, "before_cursor_execute", count)
        assert statements == []

    @pytest.mark.parametrize("code", ["", "32x", "000000", "3204052001999"])
    def test_malformed_codes_are_unknown(self, session: Session, code: str) -> None:
        assert region_lookup(session)(code) == "unknown"


class TestListChildren:
    def test_no_code_gives_the_38_provinces(self, session: Session) -> None:
        provinces = list_children(session, None)
        assert len(provinces) == 38
        assert [p.code for p in provinces] == sorted(p.code for p in provinces)
        assert all(p.level == 1 for p in provinces)

    def test_retired_regencies_appear_only_when_asked(self, session: Session) -> None:
        current = {r.code for r in list_children(session, "91")}
        everything = {r.code for r in list_children(session, "91", include_historical=True)}
        assert "91.01" not in current
        assert "91.03" in current
        assert everything - current == {
            "91.01", "91.02", "91.04", "91.07", "91.08", "91.09", "91.12", "91.13", "91.14", "91.16",
            "91.17", "91.18", "91.21", "91.22", "91.23", "91.24", "91.25", "91.26", "91.27", "91.28",
        }  # fmt: skip

    def test_villages_of_a_district(self, session: Session) -> None:
        villages = list_children(session, "3204.05".replace(".", ""))
        assert villages
        assert all(v.parent_code == "32.04.05" and v.level == 4 for v in villages)
        assert list_children(session, villages[0].code) == []

    def test_unknown_parent_is_not_found(self, session: Session) -> None:
        with pytest.raises(NotFound):
            list_children(session, "32.99")


class TestSearchRegions:
    def test_exact_name_comes_before_prefix_and_contains(self, session: Session) -> None:
        results = search_regions(session, "merauke")
        # "Kabupaten" is not part of the name: the regency and the distrik are both exact hits,
        # the larger region first.
        assert [r.code for r in results[:2]] == ["93.01", "93.01.01"]
        assert all("MERAUKE" in r.name_search for r in results)
        assert "91.01" not in {r.code for r in results}  # historical codes only on request
        assert "91.01" in {r.code for r in search_regions(session, "merauke", include_historical=True)}

    def test_ranking_orders_exact_prefix_word_contains(self, session: Session) -> None:
        results = search_regions(session, "bandung", limit=100)
        ranks = []
        for region in results:
            name = region.name_search.removeprefix("KABUPATEN ").removeprefix("KOTA ")
            ranks.append(
                0
                if name == "BANDUNG"
                else 1
                if name.startswith("BANDUNG")
                else 2
                if " BANDUNG" in name
                else 3
            )
        assert ranks == sorted(ranks)
        assert set(ranks) == {0, 1, 2, 3}
        assert [r.code for r in results[:2]] == ["32.04", "32.73"]
        assert "32.17" in {r.code for r in results[:6]}  # Kabupaten Bandung Barat: a prefix hit

    def test_case_accents_and_punctuation_are_ignored(self, session: Session) -> None:
        plain = [r.code for r in search_regions(session, "kota bandung")]
        assert plain[0] == "32.73"
        assert [r.code for r in search_regions(session, "  KÔTA-bandung ")] == plain

    def test_level_and_parent_filters(self, session: Session) -> None:
        districts = search_regions(session, "bandung", level=3)
        assert districts
        assert all(r.level == 3 for r in districts)
        inside = search_regions(session, "su", parent="3204", limit=50)
        assert inside
        assert all(r.code.startswith("32.04.") for r in inside)

    def test_limit(self, session: Session) -> None:
        assert len(search_regions(session, "an", limit=3)) == 3

    @pytest.mark.parametrize(
        ("kwargs", "field", "rule"),
        [
            ({"query": "a"}, "q", "min_length"),
            ({"query": "!!"}, "q", "min_length"),
            ({"query": "bandung", "level": 5}, "level", "range"),
            ({"query": "bandung", "limit": 0}, "limit", "range"),
            ({"query": "bandung", "parent": "32x"}, "parent", "digits_only"),
        ],
    )
    def test_bad_input_names_the_field(
        self, session: Session, kwargs: dict[str, object], field: str, rule: str
    ) -> None:
        with pytest.raises(ValidationFailed) as exc:
            search_regions(session, **kwargs)  # type: ignore[arg-type]
        assert _problem(exc) == (field, rule)

    def test_unknown_parent_is_not_found(self, session: Session) -> None:
        with pytest.raises(NotFound) as exc:
            search_regions(session, "bandung", parent="32.99")
        assert _problem(exc) == ("parent", "exists")


class TestReload:
    def test_reloading_the_same_list_changes_nothing(self, session: Session) -> None:
        calls: list[tuple[int, int]] = []
        report = load_regions(
            session, village_provinces=TEST_VILLAGE_PROVINCES, progress=lambda d, t: calls.append((d, t))
        )
        assert (report.inserted, report.updated, report.retired) == (0, 0, 0)
        assert report.unchanged == region_counts(session, include_historical=True)[1] + sum(
            region_counts(session, include_historical=True)[level] for level in (2, 3, 4)
        )
        assert calls == [(0, 0)]

    def test_changes_are_applied_and_vanished_codes_retired(self, session: Session) -> None:
        label = read_source().label
        session.execute(update(Region).where(Region.code == "32.73").values(name="Kota Bandung Lama"))
        session.execute(update(Region).where(Region.code == "32.04").values(valid_to=dt.date(2020, 1, 1)))
        # Codes that are not in the list: a village in a loaded province, one outside the loaded
        # provinces (its villages are out of scope and must be left alone), and a district.
        session.execute(
            insert(Region),
            [
                {"code": code, "name": name, "name_search": normalise_region_name(name), "level": level,
                 "kind": kind, "parent_code": parent, "source": label}
                for code, name, level, kind, parent in [
                    ("32.04.05.2999", "Desa Hilang", 4, "desa", "32.04.05"),
                    ("33.01.01.2999", "Desa Lain", 4, "desa", "33.01.01"),
                    ("32.04.99", "Kecamatan Hilang", 3, "kecamatan", "32.04"),
                ]
            ],
        )  # fmt: skip
        calls: list[tuple[int, int]] = []
        today = dt.date(2026, 11, 22)
        report = load_regions(
            session,
            village_provinces=["32", "31"],
            progress=lambda d, t: calls.append((d, t)),
            today=today,
        )

        assert (report.levels[2].updated, report.levels[3].retired, report.levels[4].retired) == (2, 1, 1)
        assert (report.inserted, report.updated, report.retired) == (0, 2, 2)
        assert calls[0] == (0, 4)
        assert calls[-1] == (4, 4)
        assert get_region(session, "32.73").name == "Kota Bandung"
        assert get_region(session, "32.04").valid_to is None
        assert get_region(session, "32.04.05.2999").valid_to == today
        assert get_region(session, "32.04.99").valid_to == today
        assert get_region(session, "33.01.01.2999").valid_to is None
        assert region_status(session, "32.04.99") == "historical"

        again = load_regions(session, village_provinces=TEST_VILLAGE_PROVINCES, today=today)
        assert (again.inserted, again.updated, again.retired) == (0, 0, 0)

    def test_village_provinces_are_validated(self, session: Session) -> None:
        for provinces, rule in [(["3x"], "digits_only"), (["32.04"], "province_level"), (["99"], "exists")]:
            with pytest.raises(ValidationFailed) as exc:
                load_regions(session, village_provinces=provinces)
            assert _problem(exc) == ("village_provinces", rule)


class TestQueryCounts:
    @staticmethod
    def _count(session: Session, action: Callable[[], object]) -> int:
        from sqlalchemy import event

        statements: list[str] = []

        def record(*args: object) -> None:
            statements.append(str(args[2]))

        bind = session.connection()
        event.listen(bind, "before_cursor_execute", record)
        try:
            action()
        finally:
            event.remove(bind, "before_cursor_execute", record)
        return len(statements)

    def test_list_and_search_use_a_fixed_number_of_queries(self, session: Session) -> None:
        session.expire_all()
        assert self._count(session, lambda: list_children(session, None)) == 1
        assert self._count(session, lambda: list_children(session, "32.04")) == 2
        assert self._count(session, lambda: search_regions(session, "bandung", limit=50)) == 1
        assert self._count(session, lambda: search_regions(session, "su", parent="32.04", limit=50)) == 2

    def test_resolving_a_historical_code_takes_two_queries(self, session: Session) -> None:
        session.expire_all()
        assert self._count(session, lambda: resolve_region(session, "91.01")) == 2
