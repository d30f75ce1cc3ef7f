"""Bulk insert of a synthetic population into the test database (SQLite, and PostgreSQL when
configured): rows land consistently, the services find them, numbers stay unique."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ektp.auth.permissions import SYSTEM
from ektp.kit.errors import InvalidState, ValidationFailed
from ektp.kit.pagination import PageParams
from ektp.models.audit import AuditEntry
from ektp.models.population import Family, FamilyMember, KkNumberHistory, Resident
from ektp.population import service
from ektp.population.nik import parse_nik
from ektp.simulate.load import (
    copy_text_column,
    foreign_keys_dropped,
    foreign_keys_of,
    insert_population,
    normalise_provinces,
    region_pool,
    secondary_indexes,
    settle_after_load,
)
from ektp.simulate.population import PopulationChunk
from tests.factories.population import make_resident


def count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


class TestInsert:
    def test_writes_residents_families_members_and_kk_editions(self, session: Session) -> None:
        before = count(session, Resident)
        report = insert_population(session, size=500, seed=1, province="32")
        assert report.residents == 500
        assert count(session, Resident) == before + 500
        assert report.members == 500
        residents = session.scalars(
            select(Resident).where(Resident.id.between(report.first_resident_id, report.last_resident_id))
        ).all()
        assert len(residents) == 500
        assert {resident.province_code for resident in residents} == {"32"}
        family_ids = {resident.family_id for resident in residents}
        assert len(family_ids) == report.families
        heads = session.scalars(select(Family.head_resident_id).where(Family.id.in_(family_ids))).all()
        assert None not in heads
        assert {resident.id for resident in residents} >= set(heads)
        members = session.scalar(
            select(func.count()).select_from(FamilyMember).where(FamilyMember.family_id.in_(family_ids))
        )
        assert members == 500
        editions = session.scalar(
            select(func.count()).select_from(KkNumberHistory).where(KkNumberHistory.family_id.in_(family_ids))
        )
        assert editions == report.kk_editions
        assert 0.6 < report.wajib_ktp / 500 < 0.85
        assert sum(report.by_regency.values()) == 500

    def test_stored_niks_parse_against_stored_birth_dates(self, session: Session) -> None:
        report = insert_population(session, size=300, seed=2, province=["31", "32"])
        residents = session.scalars(select(Resident).where(Resident.id >= report.first_resident_id)).all()
        for resident in residents:
            result = parse_nik(resident.nik, birth_date=resident.birth_date, sex=resident.sex)  # type: ignore[arg-type]
            assert result.ok, (resident.nik, result.errors)
        assert {resident.province_code for resident in residents} == {"31", "32"}

    def test_a_second_load_continues_ids_and_serials(self, session: Session) -> None:
        first = insert_population(session, size=400, seed=3, province="31")
        second = insert_population(session, size=400, seed=3, province="31")
        assert second.first_resident_id == first.last_resident_id + 1
        niks = session.scalars(select(Resident.nik).where(Resident.id >= first.first_resident_id)).all()
        assert len(niks) == len(set(niks)) == 800

    def test_services_find_what_was_loaded(self, session: Session) -> None:
        report = insert_population(session, size=300, seed=4, province="32")
        sample = session.scalars(select(Resident).where(Resident.id == report.first_resident_id + 17)).one()
        found = service.get_by_nik(session, nik=sample.nik, actor=SYSTEM)
        assert found.id == sample.id
        prefix = " ".join(sample.name_search.split()[:1])
        page = service.search_residents(session, actor=SYSTEM, name=prefix, page=PageParams(size=200))
        assert any(item.nik == sample.nik for item in page.items) or page.has_next

    def test_records_made_afterwards_get_new_ids(self, session: Session) -> None:
        report = insert_population(session, size=200, seed=5, province="32")
        resident = make_resident(session, name="Setelah Simulasi")
        assert resident.id > report.last_resident_id

    def test_one_audit_row_summarises_the_load(self, session: Session) -> None:
        report = insert_population(session, size=100, seed=6, province="32", actor=SYSTEM)
        entry = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "population.simulate")
            .order_by(AuditEntry.id.desc())
        ).first()
        assert entry is not None
        assert f'"residents": {report.residents}' in str(entry.after).replace("'", '"')

    def test_bulk_mode_puts_indexes_and_foreign_keys_back(self, session: Session, backend: str) -> None:
        connection = session.connection()
        indexes = secondary_indexes(connection)
        keys = foreign_keys_of(connection)
        report = insert_population(session, size=300, seed=7, province="32", bulk=True)
        assert secondary_indexes(connection) == indexes
        assert foreign_keys_of(connection) == keys
        assert indexes, "the population tables have secondary indexes"
        if backend == "postgresql":
            assert keys, "PostgreSQL reports the foreign keys"
        heads = session.scalars(
            select(Family.head_resident_id)
            .join(Resident, Resident.family_id == Family.id)
            .where(Resident.id >= report.first_resident_id)
        ).all()
        assert None not in heads

    def test_sqlite_cache_size_is_restored(self, session: Session, backend: str) -> None:
        if backend != "sqlite":
            pytest.skip("SQLite only")
        connection = session.connection()
        before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
        insert_population(session, size=50, seed=8, province="32")
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == before

    def test_foreign_keys_hold(self, session: Session, backend: str) -> None:
        insert_population(session, size=300, seed=9, province="31")
        session.flush()
        if backend == "sqlite":
            assert session.connection().exec_driver_sql("PRAGMA foreign_key_check").all() == []
        orphans = session.execute(
            text(
                "SELECT count(*) FROM residents r LEFT JOIN families f ON f.id = r.family_id "
                "WHERE r.family_id IS NOT NULL AND f.id IS NULL"
            )
        ).scalar()
        assert orphans == 0


class TestBadInput:
    def test_province_without_villages_is_refused(self, session: Session) -> None:
        with pytest.raises(ValidationFailed) as error:
            insert_population(session, size=10, seed=1, province="35")
        assert (error.value.problems[0].field, error.value.problems[0].rule) == ("province", "no_villages")

    def test_malformed_province_is_refused(self) -> None:
        with pytest.raises(ValidationFailed) as error:
            normalise_provinces(["3x"])
        assert (error.value.problems[0].field, error.value.problems[0].rule) == ("province", "format")

    def test_size_must_be_positive(self, session: Session) -> None:
        with pytest.raises(ValidationFailed) as error:
            insert_population(session, size=0, seed=1, province="32")
        assert error.value.problems[0].field == "size"

    def test_nothing_is_written_when_the_load_fails(self, session: Session) -> None:
        before = count(session, Resident)
        with pytest.raises(ValidationFailed):
            insert_population(session, size=10, seed=1, province=["32", "35"])
        assert count(session, Resident) == before


class TestRegionPool:
    def test_pool_holds_only_stored_villages(self, session: Session) -> None:
        pool = region_pool(session.connection(), ["31"])
        assert pool.provinces == ("31",)
        assert all(code.startswith("31.") for code in pool.village_codes.tolist())
        assert pool.birth_places[3273] == "BANDUNG"

    def test_reference_date_bounds_every_date(self, session: Session) -> None:
        as_of = dt.date(2020, 6, 30)
        report = insert_population(session, size=200, seed=10, province="32", reference_date=as_of)
        latest = session.scalar(
            select(func.max(Resident.recorded_on)).where(Resident.id >= report.first_resident_id)
        )
        assert latest is not None
        assert latest <= as_of


def insert_dangling_member(session: Session) -> None:
    """A membership pointing at no family and no resident, written while the keys are dropped."""
    with session.begin_nested():
        connection = session.connection()
        with foreign_keys_dropped(connection, enabled=True):
            connection.exec_driver_sql(
                "INSERT INTO family_members (id, family_id, resident_id, relation, joined_on) "
                "VALUES (999999, 999999, 999999, 'ANAK', '2020-01-01')"
            )


class TestConstraintsStillHold:
    """The fast paths skip per-row checks (SQLite CHECKs; PostgreSQL foreign keys in bulk mode)
    and verify them in bulk instead: a bad row must still fail the whole load."""

    def test_a_row_breaking_a_check_fails_the_load(
        self, session: Session, monkeypatch: pytest.MonkeyPatch, backend: str
    ) -> None:
        from ektp.simulate import load

        real = load.generate_population

        def corrupted(*args: Any, **kwargs: Any) -> Iterator[PopulationChunk]:
            for chunk in real(*args, **kwargs):
                chunk.residents["religion"] = chunk.residents["religion"].astype(object)
                chunk.residents["religion"][3] = "JEDI"
                yield chunk

        monkeypatch.setattr(load, "generate_population", corrupted)
        before = count(session, Resident)
        with pytest.raises((InvalidState, DBAPIError)) as error, session.begin_nested():
            insert_population(session, size=200, seed=11, province="32")
        assert "religion" in str(error.value)
        assert count(session, Resident) == before
        if backend == "sqlite":
            ignored = session.connection().exec_driver_sql("PRAGMA ignore_check_constraints").scalar()
            assert ignored == 0

    def test_a_dangling_key_fails_a_bulk_load(self, session: Session, backend: str) -> None:
        if backend != "postgresql":
            pytest.skip("foreign keys are dropped during bulk loads on PostgreSQL only")
        with pytest.raises(DBAPIError) as error:
            insert_dangling_member(session)
        assert "foreign key" in str(error.value).lower()
        assert foreign_keys_of(session.connection())


class TestCopyText:
    def test_special_characters_are_escaped_and_nulls_marked(self) -> None:
        column = ["JL. MAWAR", None, "A\tB", "two\nlines", "back\\slash", "\\N"]
        assert copy_text_column(column) == [
            "JL. MAWAR",
            "\\N",
            "A\\tB",
            "two\\nlines",
            "back\\\\slash",
            "\\\\N",
        ]

    def test_dates_and_numbers(self) -> None:
        dates = np.array(["2020-01-31", "NaT"], dtype="datetime64[D]")
        assert copy_text_column(dates) == ["2020-01-31", r"\N"]
        assert copy_text_column(np.array([1, 22], dtype=np.int64)) == ["1", "22"]


class TestSettle:
    def test_settling_after_a_load_runs_outside_a_transaction(self, db_engine: Engine) -> None:
        settle_after_load(db_engine)
        with db_engine.connect() as connection:
            assert connection.scalar(select(func.count()).select_from(Resident)) is not None
