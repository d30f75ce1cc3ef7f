"""Resident and family services: create, get, search, update with a reason, families (KK)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, make_transient

from ektp.auth.permissions import SYSTEM, Principal, Role
from ektp.kit.errors import Conflict, InvalidState, NotFound, PermissionDenied, ValidationFailed
from ektp.kit.pagination import PageParams
from ektp.models.audit import AuditEntry
from ektp.models.population import Family, FamilyMember, KkNumberHistory, LifeEvent, ReissueNeed, Resident
from ektp.population import families, repository, schemas, service
from ektp.population.nik import parse_nik
from tests.factories.population import (
    DEFAULT_VILLAGE,
    OTHER_PROVINCE_VILLAGE,
    OTHER_REGENCY_VILLAGE,
    make_family,
    make_resident,
)

TODAY = dt.date(2026, 11, 22)
OPERATOR = Principal(
    user_id=None, username="op.kab-bandung", role=Role.REGIONAL_OPERATOR, region_code="32.04"
)
OTHER_OPERATOR = Principal(
    user_id=None, username="op.kota-bandung", role=Role.REGIONAL_OPERATOR, region_code="32.73"
)
EXAMINER = Principal(user_id=None, username="examiner", role=Role.EXAMINER, region_code="32.04")


def payload(**overrides: Any) -> schemas.ResidentCreate:
    data: dict[str, Any] = {
        "full_name": "Budi Hartono",
        "birth_place": "Bandung",
        "birth_date": dt.date(1990, 5, 17),
        "sex": "L",
        "religion": "ISLAM",
        "occupation": "Petani",
        "street": "Jl. Raya Cileunyi 5",
        "rt": "1",
        "rw": "02",
        "village_code": DEFAULT_VILLAGE,
    }
    data.update(overrides)
    return schemas.ResidentCreate(**data)


def problems(exc: pytest.ExceptionInfo[Any]) -> set[tuple[str, str]]:
    return {(p.field, p.rule) for p in exc.value.problems}


def audit_rows(session: Session, entity_id: str) -> list[AuditEntry]:
    return list(
        session.scalars(select(AuditEntry).where(AuditEntry.entity_id == entity_id).order_by(AuditEntry.id))
    )


@contextmanager
def count_queries(session: Session) -> Iterator[list[str]]:
    statements: list[str] = []
    bind = session.get_bind()

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(bind, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(bind, "before_cursor_execute", before)


class TestCreateResident:
    def test_issues_a_nik_consistent_with_district_birth_date_and_sex(self, session: Session) -> None:
        created = service.create_resident(session, data=payload(sex="P"), actor=OPERATOR, today=TODAY)
        resident = created.resident
        assert created.warnings == []
        facts = parse_nik(resident.nik, birth_date=resident.birth_date, sex="P").facts
        assert facts is not None
        assert facts.district_code == "32.04.05"
        assert facts.birth_day == 17
        assert facts.sex == "P"
        assert (resident.province_code, resident.regency_code, resident.district_code) == (
            "32",
            "32.04",
            "32.04.05",
        )
        assert (resident.rt, resident.rw) == ("001", "002")
        assert resident.full_name == "BUDI HARTONO"
        assert resident.name_search == "BUDI HARTONO"
        assert resident.occupation == "PETANI"
        assert resident.recorded_on == TODAY

    def test_next_serial_follows_the_highest_used(self, session: Session) -> None:
        first = service.create_resident(session, data=payload(), actor=OPERATOR, today=TODAY).resident
        second = service.create_resident(
            session, data=payload(full_name="Budi Santosa"), actor=OPERATOR, today=TODAY
        )
        assert first.nik[:12] == second.resident.nik[:12]
        assert int(second.resident.nik[12:]) == int(first.nik[12:]) + 1

    def test_is_audited_with_actor_and_after_values(self, session: Session) -> None:
        resident = service.create_resident(session, data=payload(), actor=OPERATOR, today=TODAY).resident
        [entry] = audit_rows(session, resident.nik)
        assert entry.action == "resident.create"
        assert entry.actor_username == OPERATOR.username
        assert entry.before_json is None
        assert json.loads(entry.after_json or "{}")["full_name"] == "BUDI HARTONO"

    def test_given_nik_must_match_birth_date_and_sex(self, session: Session) -> None:
        with pytest.raises(ValidationFailed) as caught:
            service.create_resident(
                session, data=payload(nik="3204055705900001"), actor=OPERATOR, today=TODAY
            )
        assert ("nik", "sex_mismatch") in problems(caught)
        with pytest.raises(ValidationFailed) as caught:
            service.create_resident(
                session, data=payload(nik="3204051805900001"), actor=OPERATOR, today=TODAY
            )
        assert problems(caught) == {("nik", "birth_date_mismatch")}

    def test_malformed_nik_names_field_and_rule(self, session: Session) -> None:
        with pytest.raises(ValidationFailed) as caught:
            service.create_resident(
                session, data=payload(nik="32040517059000X1"), actor=OPERATOR, today=TODAY
            )
        assert problems(caught) == {("nik", "digits")}

    def test_unknown_nik_region_is_saved_with_a_warning(self, session: Session) -> None:
        created = service.create_resident(
            session, data=payload(nik="3299991705900001"), actor=OPERATOR, today=TODAY
        )
        assert [(w.field, w.rule) for w in created.warnings] == [("nik", "region_unknown")]
        assert created.resident.nik == "3299991705900001"
        # Domicile is the address, never the NIK prefix.
        assert created.resident.district_code == "32.04.05"

    def test_every_problem_is_reported_at_once(self, session: Session) -> None:
        with pytest.raises(ValidationFailed) as caught:
            service.create_resident(
                session,
                data=payload(full_name="Sukarno", birth_date=dt.date(2027, 1, 1), citizenship="WNA"),
                actor=OPERATOR,
                today=TODAY,
            )
        assert problems(caught) == {
            ("full_name", "min_words"),
            ("birth_date", "future"),
            ("permit_expiry", "required_for_wna"),
        }
        assert session.scalar(select(Resident.id).where(Resident.full_name == "SUKARNO")) is None

    def test_foreigner_with_permit_is_accepted(self, session: Session) -> None:
        resident = service.create_resident(
            session,
            data=payload(citizenship="WNA", permit_expiry=dt.date(2030, 1, 1), full_name="John Smith"),
            actor=OPERATOR,
            today=TODAY,
        ).resident
        assert resident.citizenship == "WNA"

    def test_citizen_has_no_permit(self, session: Session) -> None:
        with pytest.raises(ValidationFailed) as caught:
            service.create_resident(
                session, data=payload(permit_expiry=dt.date(2030, 1, 1)), actor=OPERATOR, today=TODAY
            )
        assert problems(caught) == {("permit_expiry", "only_for_wna")}

    def test_duplicate_nik_is_a_conflict_naming_nik(self, session: Session) -> None:
        existing = make_resident(session)
        with pytest.raises(Conflict) as caught:
            service.create_resident(
                session,
                data=payload(nik=existing.nik, birth_date=existing.birth_date),
                actor=OPERATOR,
                today=TODAY,
            )
        assert problems(caught) == {("nik", "unique")}

    @pytest.mark.parametrize(
        ("code", "rule"),
        [
            ("32.04.05", "village_level"),
            ("32.04.05.9999", "exists"),
            ("32-04-05-2001", "digits_only"),
            ("", "required"),
        ],
    )
    def test_village_must_be_an_existing_village(self, session: Session, code: str, rule: str) -> None:
        with pytest.raises(ValidationFailed) as caught:
            service.create_resident(session, data=payload(village_code=code), actor=OPERATOR, today=TODAY)
        assert ("village_code", rule) in problems(caught)

    def test_village_outside_the_operators_region_is_refused(self, session: Session) -> None:
        with pytest.raises(PermissionDenied):
            service.create_resident(
                session, data=payload(village_code=OTHER_REGENCY_VILLAGE), actor=OPERATOR, today=TODAY
            )

    def test_role_without_write_permission_is_refused(self, session: Session) -> None:
        with pytest.raises(PermissionDenied):
            service.create_resident(session, data=payload(), actor=EXAMINER, today=TODAY)

    def test_legacy_import_keeps_old_name_forms(self, session: Session) -> None:
        resident = service.create_resident(
            session,
            data=payload(full_name="Moh. Hatta", recorded_on=dt.date(2015, 3, 1)),
            actor=SYSTEM,
            today=TODAY,
        ).resident
        assert resident.full_name == "MOH. HATTA"
        assert resident.name_search == "MOH HATTA"

    def test_new_record_follows_the_2022_name_rules(self, session: Session) -> None:
        with pytest.raises(ValidationFailed) as caught:
            service.create_resident(session, data=payload(full_name="Moh. Hatta"), actor=SYSTEM, today=TODAY)
        assert {("full_name", "punctuation"), ("full_name", "abbreviation")} <= problems(caught)

    def test_only_central_users_back_date_records(self, session: Session) -> None:
        with pytest.raises(PermissionDenied) as caught:
            service.create_resident(
                session, data=payload(recorded_on=dt.date(2015, 3, 1)), actor=OPERATOR, today=TODAY
            )
        assert problems(caught) == {("recorded_on", "central_only")}


class TestGetByNik:
    def test_finds_the_resident(self, session: Session) -> None:
        resident = make_resident(session)
        assert service.get_by_nik(session, nik=f" {resident.nik} ", actor=OPERATOR) is resident

    def test_malformed_nik_is_422_with_rule(self, session: Session) -> None:
        with pytest.raises(ValidationFailed) as caught:
            service.get_by_nik(session, nik="12345", actor=OPERATOR)
        assert problems(caught) == {("nik", "length")}

    def test_unknown_nik_is_not_found(self, session: Session) -> None:
        with pytest.raises(NotFound):
            service.get_by_nik(session, nik="3204051705900999", actor=OPERATOR)

    def test_other_region_is_refused(self, session: Session) -> None:
        resident = make_resident(session, village_code=OTHER_REGENCY_VILLAGE)
        with pytest.raises(PermissionDenied):
            service.get_by_nik(session, nik=resident.nik, actor=OPERATOR)
        assert service.get_by_nik(session, nik=resident.nik, actor=OTHER_OPERATOR) is resident


class TestSearchResidents:
    @pytest.fixture
    def people(self, session: Session) -> dict[str, Resident]:
        return {
            "ali": make_resident(session, name="Moh. Ali Akbar", recorded_on=dt.date(2010, 1, 1)),
            "alia": make_resident(session, name="Mohamad Alia", birth_date=dt.date(1985, 1, 2)),
            "ani": make_resident(session, name="Ani Lestari", sex="P"),
            "kota": make_resident(
                session, name="Moh Rizal", village_code=OTHER_REGENCY_VILLAGE, recorded_on=dt.date(2010, 1, 1)
            ),
            "jakarta": make_resident(session, name="Mohamad Jaya", village_code=OTHER_PROVINCE_VILLAGE),
        }

    def search(self, session: Session, actor: Principal = SYSTEM, **kwargs: Any) -> list[str]:
        page = service.search_residents(session, actor=actor, page=PageParams(page=1, size=50), **kwargs)
        return [item.full_name for item in page.items]

    def test_name_prefix_ignores_case_and_punctuation(
        self, session: Session, people: dict[str, Resident]
    ) -> None:
        assert self.search(session, name="moh. a") == ["MOH. ALI AKBAR"]
        # Ordered by the search key ("MOH ALI AKBAR" < "MOH RIZAL"), then id.
        assert self.search(session, name="moh") == [
            "MOH. ALI AKBAR",
            "MOH RIZAL",
            "MOHAMAD ALIA",
            "MOHAMAD JAYA",
        ]

    def test_always_limited_to_the_actors_region(self, session: Session, people: dict[str, Resident]) -> None:
        assert self.search(session, actor=OPERATOR, name="moh") == ["MOH. ALI AKBAR", "MOHAMAD ALIA"]

    @pytest.mark.parametrize(
        ("region", "expected"),
        [
            ("32", ["MOH. ALI AKBAR", "MOH RIZAL", "MOHAMAD ALIA"]),
            ("32.73", ["MOH RIZAL"]),
            ("3273", ["MOH RIZAL"]),
            ("32.04.05", ["MOH. ALI AKBAR", "MOHAMAD ALIA"]),
            ("31.71.01.1001", ["MOHAMAD JAYA"]),
        ],
    )
    def test_region_filter_at_any_level(
        self, session: Session, people: dict[str, Resident], region: str, expected: list[str]
    ) -> None:
        assert self.search(session, name="moh", region_code=region) == expected

    def test_region_outside_the_actors_scope_is_refused(
        self, session: Session, people: dict[str, Resident]
    ) -> None:
        with pytest.raises(PermissionDenied):
            self.search(session, actor=OPERATOR, region_code="32.73")
        # A wider region is narrowed to the actor's own.
        assert self.search(session, actor=OPERATOR, name="moh", region_code="32") == [
            "MOH. ALI AKBAR",
            "MOHAMAD ALIA",
        ]

    def test_birth_date_filter(self, session: Session, people: dict[str, Resident]) -> None:
        assert self.search(session, birth_date=dt.date(1985, 1, 2)) == ["MOHAMAD ALIA"]

    def test_pages_are_stable_and_know_whether_more_follow(self, session: Session) -> None:
        for _ in range(5):
            make_resident(session, name="Sama Nama")
        seen: list[int] = []
        for number in (1, 2, 3):
            page = service.search_residents(
                session, actor=SYSTEM, name="sama", page=PageParams(page=number, size=2)
            )
            seen.extend(int(item.nik[12:]) for item in page.items)
            assert page.has_next is (number < 3)
        assert len(seen) == 5
        assert len(set(seen)) == 5

    def test_one_query_and_no_count(self, session: Session, people: dict[str, Resident]) -> None:
        session.flush()
        with count_queries(session) as statements:
            self.search(session, actor=OPERATOR, name="moh")
        assert len(statements) == 1
        assert "count(" not in statements[0].lower()

    def test_name_without_letters_is_refused(self, session: Session) -> None:
        with pytest.raises(ValidationFailed) as caught:
            self.search(session, name="...")
        assert problems(caught) == {("name", "letters")}


class TestUpdateResident:
    def test_records_reason_event_audit_and_reissue_need(self, session: Session) -> None:
        resident = make_resident(session, birth_date=dt.date(1990, 1, 1))
        service.update_resident(
            session,
            resident=resident,
            changes=schemas.ResidentUpdate(occupation="Guru", religion="KRISTEN"),
            reason="Surat keterangan kerja",
            actor=OPERATOR,
            today=TODAY,
        )
        assert (resident.occupation, resident.religion) == ("GURU", "KRISTEN")
        [change] = session.scalars(select(LifeEvent).where(LifeEvent.resident_id == resident.id)).all()
        assert change.kind == "DATA_CHANGE"
        details = json.loads(change.details)
        assert details["reason"] == "Surat keterangan kerja"
        assert details["changes"]["occupation"] == ["KARYAWAN SWASTA", "GURU"]
        [entry] = audit_rows(session, resident.nik)
        assert entry.action == "resident.update"
        assert json.loads(entry.after_json or "{}")["reason"] == "Surat keterangan kerja"
        assert json.loads(entry.before_json or "{}")["occupation"] == "KARYAWAN SWASTA"
        [need] = repository.reissue_needs_of(session, resident.id)
        assert (need.reason, need.status, need.raised_by_event_id) == ("DATA_CHANGE", "OPEN", change.id)

    def test_child_gets_no_reissue_need(self, session: Session) -> None:
        child = make_resident(session, birth_date=dt.date(2015, 1, 1))
        service.update_resident(
            session,
            resident=child,
            changes=schemas.ResidentUpdate(blood_type="O+"),
            reason="Hasil tes golongan darah",
            actor=OPERATOR,
            today=TODAY,
        )
        assert repository.reissue_needs_of(session, child.id) == []

    def test_second_change_reuses_the_open_need(self, session: Session) -> None:
        resident = make_resident(session)
        for occupation in ("Guru", "Dosen"):
            service.update_resident(
                session,
                resident=resident,
                changes=schemas.ResidentUpdate(occupation=occupation),
                reason="Perubahan pekerjaan",
                actor=OPERATOR,
                today=TODAY,
            )
        assert len(repository.reissue_needs_of(session, resident.id)) == 1

    @pytest.mark.parametrize(
        ("changes", "field", "rule"),
        [
            ({"nik": "3204051705900002"}, "nik", "immutable"),
            ({"birth_date": dt.date(1991, 1, 1)}, "birth_date", "immutable"),
            ({"sex": "P"}, "sex", "immutable"),
            ({"village_code": OTHER_REGENCY_VILLAGE}, "village_code", "use_life_event"),
            ({"life_status": "DEAD"}, "life_status", "use_life_event"),
            ({"full_name": "Sukarno"}, "full_name", "min_words"),
            ({"occupation": None}, "occupation", "required"),
            ({"citizenship": "WNA"}, "permit_expiry", "required_for_wna"),
        ],
    )
    def test_refused_changes_name_field_and_rule(
        self, session: Session, changes: dict[str, Any], field: str, rule: str
    ) -> None:
        resident = make_resident(session)
        with pytest.raises(ValidationFailed) as caught:
            service.update_resident(
                session,
                resident=resident,
                changes=schemas.ResidentUpdate(**changes),
                reason="Koreksi data",
                actor=OPERATOR,
                today=TODAY,
            )
        assert (field, rule) in problems(caught)
        assert resident.version == 1

    def test_reason_is_required(self, session: Session) -> None:
        resident = make_resident(session)
        with pytest.raises(ValidationFailed) as caught:
            service.update_resident(
                session,
                resident=resident,
                changes=schemas.ResidentUpdate(occupation="Guru"),
                reason="  ok ",
                actor=OPERATOR,
                today=TODAY,
            )
        assert problems(caught) == {("reason", "min_length")}

    def test_same_values_write_nothing(self, session: Session) -> None:
        resident = make_resident(session, occupation="PETANI")
        service.update_resident(
            session,
            resident=resident,
            changes=schemas.ResidentUpdate(occupation="petani", nik=resident.nik),
            reason="Tidak ada perubahan",
            actor=OPERATOR,
            today=TODAY,
        )
        assert resident.version == 1
        assert audit_rows(session, resident.nik) == []

    def test_stale_version_is_a_conflict(self, session: Session) -> None:
        resident = make_resident(session)
        with pytest.raises(Conflict) as caught:
            service.update_resident(
                session,
                resident=resident,
                changes=schemas.ResidentUpdate(occupation="Guru"),
                reason="Perubahan pekerjaan",
                actor=OPERATOR,
                expected_version=7,
                today=TODAY,
            )
        assert problems(caught) == {("version", "stale")}

    def test_version_increments(self, session: Session) -> None:
        resident = make_resident(session)
        service.update_resident(
            session,
            resident=resident,
            changes=schemas.ResidentUpdate(occupation="Guru"),
            reason="Perubahan pekerjaan",
            actor=OPERATOR,
            expected_version=1,
            today=TODAY,
        )
        assert resident.version == 2

    def test_new_name_on_a_legacy_record_follows_the_2022_rules(self, session: Session) -> None:
        resident = make_resident(session, name="Moh. Hatta", recorded_on=dt.date(2010, 1, 1))
        with pytest.raises(ValidationFailed):
            service.update_resident(
                session,
                resident=resident,
                changes=schemas.ResidentUpdate(full_name="M. Hatta"),
                reason="Koreksi nama",
                actor=OPERATOR,
                today=TODAY,
            )
        service.update_resident(
            session,
            resident=resident,
            changes=schemas.ResidentUpdate(full_name="Mohammad Hatta"),
            reason="Koreksi nama",
            actor=OPERATOR,
            today=TODAY,
        )
        assert (resident.full_name, resident.name_search) == ("MOHAMMAD HATTA", "MOHAMMAD HATTA")

    def test_other_region_is_refused(self, session: Session) -> None:
        resident = make_resident(session, village_code=OTHER_REGENCY_VILLAGE)
        with pytest.raises(PermissionDenied):
            service.update_resident(
                session,
                resident=resident,
                changes=schemas.ResidentUpdate(occupation="Guru"),
                reason="Perubahan pekerjaan",
                actor=OPERATOR,
                today=TODAY,
            )


class TestFamilies:
    def test_create_issues_a_kk_from_district_and_date(self, session: Session) -> None:
        head = make_resident(session)
        wife = make_resident(session, sex="P", name="Siti Aminah", marital_status="KAWIN")
        family = families.create_family(
            session,
            data=schemas.FamilyCreate(head_nik=head.nik, members=[{"nik": wife.nik, "relation": "ISTRI"}]),
            actor=OPERATOR,
            today=TODAY,
        )
        assert family.kk_number.startswith("320405" + "221126")
        assert family.head_resident_id == head.id
        view = families.family_view(session, family=family)
        assert [(m.nik, m.relation) for m in view.members] == [
            (head.nik, "KEPALA_KELUARGA"),
            (wife.nik, "ISTRI"),
        ]
        assert [(h.kk_number, h.reason, h.valid_to) for h in view.history] == [
            (family.kk_number, "ISSUED", None)
        ]
        assert head.family_id == family.id == wife.family_id

    def test_member_of_another_family_leaves_it(self, session: Session) -> None:
        father = make_resident(session, birth_date=dt.date(1960, 1, 1))
        son = make_resident(session, birth_date=dt.date(1995, 1, 1))
        parents = make_family(session, head=father, members=[(son, "ANAK")])
        own = families.create_family(
            session, data=schemas.FamilyCreate(head_nik=son.nik), actor=OPERATOR, today=TODAY
        )
        assert repository.kk_history(session, own.id)[0].reason == "SPLIT"
        old_history = repository.kk_history(session, parents.id)
        assert [(h.reason, h.kk_number) for h in old_history] == [
            ("ISSUED", parents.kk_number),
            ("MEMBER_CHANGE", parents.kk_number),
        ]
        assert old_history[0].valid_to == TODAY

    def test_given_kk_number_is_validated(self, session: Session) -> None:
        head = make_resident(session)
        with pytest.raises(ValidationFailed) as caught:
            families.create_family(
                session,
                data=schemas.FamilyCreate(head_nik=head.nik, kk_number="3204051001230000"),
                actor=OPERATOR,
                today=TODAY,
            )
        assert problems(caught) == {("kk_number", "serial_zero")}
        family = families.create_family(
            session,
            data=schemas.FamilyCreate(head_nik=head.nik, kk_number="3204051001230009"),
            actor=OPERATOR,
            today=TODAY,
        )
        assert repository.kk_history(session, family.id)[0].valid_from == dt.date(2023, 1, 10)

    def test_kk_number_in_use_is_a_conflict(self, session: Session) -> None:
        existing = make_family(session)
        head = make_resident(session)
        with pytest.raises(Conflict) as caught:
            families.create_family(
                session,
                data=schemas.FamilyCreate(head_nik=head.nik, kk_number=existing.kk_number),
                actor=OPERATOR,
                today=TODAY,
            )
        assert problems(caught) == {("kk_number", "unique")}

    def test_head_of_a_family_with_members_cannot_found_another(self, session: Session) -> None:
        head = make_resident(session)
        make_family(session, head=head, members=[(make_resident(session), "ANAK")])
        with pytest.raises(InvalidState):
            families.create_family(
                session, data=schemas.FamilyCreate(head_nik=head.nik), actor=OPERATOR, today=TODAY
            )

    def test_add_member_reprints_with_the_same_number(self, session: Session) -> None:
        family = make_family(session)
        newcomer = make_resident(session)
        families.add_member(
            session, family=family, resident=newcomer, relation="FAMILI_LAIN", actor=OPERATOR, today=TODAY
        )
        assert [h.reason for h in repository.kk_history(session, family.id)] == ["ISSUED", "MEMBER_CHANGE"]
        assert {h.kk_number for h in repository.kk_history(session, family.id)} == {family.kk_number}

    def test_set_head_changes_the_number(self, session: Session) -> None:
        head = make_resident(session)
        wife = make_resident(session, sex="P", marital_status="KAWIN")
        family = make_family(session, head=head, members=[(wife, "ISTRI")])
        old_number = family.kk_number
        families.set_head(session, family=family, resident=wife, actor=OPERATOR, today=TODAY)
        assert family.kk_number != old_number
        assert family.head_resident_id == wife.id
        relations = {r.nik: m.relation for m, r in repository.active_members(session, family.id)}
        assert relations == {wife.nik: "KEPALA_KELUARGA", head.nik: "SUAMI"}
        assert [(h.kk_number, h.reason) for h in repository.kk_history(session, family.id)] == [
            (old_number, "ISSUED"),
            (family.kk_number, "HEAD_CHANGE"),
        ]

    def test_lookup_by_a_former_number_says_the_current_one(self, session: Session) -> None:
        head = make_resident(session)
        wife = make_resident(session, sex="P", marital_status="KAWIN")
        family = make_family(session, head=head, members=[(wife, "ISTRI")])
        old_number = family.kk_number
        families.set_head(session, family=family, resident=wife, actor=OPERATOR, today=TODAY)
        with pytest.raises(NotFound) as caught:
            families.get_family(session, kk_number=old_number, actor=OPERATOR)
        assert family.kk_number in caught.value.message

    def test_family_of_another_region_is_refused(self, session: Session) -> None:
        family = make_family(session, village_code=OTHER_REGENCY_VILLAGE)
        with pytest.raises(PermissionDenied):
            families.get_family(session, kk_number=family.kk_number, actor=OPERATOR)

    def test_membership_rows_stay_unique_per_active_resident(self, session: Session) -> None:
        family = make_family(session)
        rows = session.scalars(select(FamilyMember).where(FamilyMember.family_id == family.id)).all()
        assert len(rows) == 1
        assert session.scalars(select(KkNumberHistory).where(KkNumberHistory.family_id == family.id)).one()
        assert session.scalars(select(ReissueNeed)).all() == []


class TestLostRaces:
    """The check-then-insert of a NIK or KK number can lose a race on PostgreSQL; the insert runs
    in a savepoint so that the loser gets a clean 409 and its transaction stays usable."""

    def test_nik_taken_at_insert_time_is_a_conflict(self, session: Session) -> None:
        existing = make_resident(session)
        clone = make_resident(session, name="Budi Kedua")
        session.expunge(clone)
        make_transient(clone)
        clone.id = None  # type: ignore[assignment]
        clone.nik = existing.nik
        with pytest.raises(Conflict) as caught:
            service.insert_resident(session, clone)
        assert problems(caught) == {("nik", "unique")}
        assert session.get(Resident, existing.id) is existing

    def test_kk_number_taken_at_insert_time_is_a_conflict(self, session: Session) -> None:
        existing = make_family(session)
        clash = Family(
            kk_number=existing.kk_number, street="JL", rt="001", rw="001", village_code=DEFAULT_VILLAGE
        )
        with pytest.raises(Conflict) as caught:
            families.insert_family(session, clash)
        assert problems(caught) == {("kk_number", "unique")}
        assert repository.get_family_by_kk(session, existing.kk_number) is existing
