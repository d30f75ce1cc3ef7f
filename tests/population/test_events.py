"""Life events and their consequences: KK editions, card re-issue needs, head reassignment,
addresses and region codes."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ektp.auth.permissions import Principal, Role
from ektp.kit.errors import InvalidState, PermissionDenied, ValidationFailed
from ektp.models.population import Family, LifeEvent, Resident
from ektp.population import events, repository, schemas
from ektp.population.nik import parse_nik
from tests.factories.population import (
    DEFAULT_VILLAGE,
    OTHER_PROVINCE_VILLAGE,
    OTHER_REGENCY_VILLAGE,
    make_family,
    make_resident,
)

TODAY = dt.date(2026, 11, 22)
ON = dt.date(2026, 11, 1)
OPERATOR = Principal(
    user_id=None, username="op.kab-bandung", role=Role.REGIONAL_OPERATOR, region_code="32.04"
)
KOTA_OPERATOR = Principal(
    user_id=None, username="op.kota-bandung", role=Role.REGIONAL_OPERATOR, region_code="32.73"
)
JAKARTA_OPERATOR = Principal(
    user_id=None, username="op.jakarta", role=Role.REGIONAL_OPERATOR, region_code="31"
)
#: Another village in the same district (Kecamatan Cileunyi) as DEFAULT_VILLAGE.
SAME_DISTRICT_VILLAGE = "32.04.05.2002"


def problems(exc: pytest.ExceptionInfo[Any]) -> set[tuple[str, str]]:
    return {(p.field, p.rule) for p in exc.value.problems}


def history(session: Session, family: Family) -> list[tuple[str, str]]:
    return [(h.kk_number, h.reason) for h in repository.kk_history(session, family.id)]


def relations(session: Session, family: Family) -> dict[str, str]:
    return {r.nik: m.relation for m, r in repository.active_members(session, family.id)}


def open_needs(session: Session, resident: Resident) -> list[str]:
    return [n.reason for n in repository.reissue_needs_of(session, resident.id) if n.status == "OPEN"]


def events_of(session: Session, resident: Resident) -> list[str]:
    return [e.kind for e in session.scalars(select(LifeEvent).where(LifeEvent.resident_id == resident.id))]


@pytest.fixture
def couple_families(session: Session) -> dict[str, Any]:
    """A young man heading his own family, and a young woman living in her parents' family."""
    groom = make_resident(session, name="Andi Saputra", birth_date=dt.date(1996, 4, 2))
    groom_family = make_family(session, head=groom)
    father = make_resident(
        session,
        name="Hendra Wijaya",
        birth_date=dt.date(1965, 1, 1),
        marital_status="KAWIN",
        village_code=SAME_DISTRICT_VILLAGE,
    )
    mother = make_resident(
        session,
        name="Rina Wijaya",
        sex="P",
        birth_date=dt.date(1968, 1, 1),
        marital_status="KAWIN",
        village_code=SAME_DISTRICT_VILLAGE,
    )
    bride = make_resident(
        session,
        name="Dewi Wijaya",
        sex="P",
        birth_date=dt.date(1998, 8, 9),
        village_code=SAME_DISTRICT_VILLAGE,
    )
    bride_family = make_family(
        session, head=father, members=[(mother, "ISTRI"), (bride, "ANAK")], village_code=SAME_DISTRICT_VILLAGE
    )
    return {
        "groom": groom,
        "groom_family": groom_family,
        "bride": bride,
        "bride_family": bride_family,
        "father": father,
        "mother": mother,
    }


class TestMarriage:
    def test_bride_joins_the_husbands_family(self, session: Session, couple_families: dict[str, Any]) -> None:
        groom, bride = couple_families["groom"], couple_families["bride"]
        groom_family, bride_family = couple_families["groom_family"], couple_families["bride_family"]
        outcome = events.marriage(session, resident=groom, spouse=bride, on=ON, actor=OPERATOR, today=TODAY)

        assert (groom.marital_status, bride.marital_status) == ("KAWIN", "KAWIN")
        assert events_of(session, groom) == ["MARRIAGE"]
        assert events_of(session, bride) == ["MARRIAGE"]
        assert json.loads(outcome.events[0].details)["spouse_nik"] == bride.nik
        # She joins his card as ISTRI and takes his address; his card is re-printed, same number.
        assert relations(session, groom_family) == {groom.nik: "KEPALA_KELUARGA", bride.nik: "ISTRI"}
        assert bride.village_code == groom.village_code == DEFAULT_VILLAGE
        assert history(session, groom_family) == [
            (groom_family.kk_number, "ISSUED"),
            (groom_family.kk_number, "MEMBER_CHANGE"),
        ]
        # Her parents' card is re-printed without her, same number.
        assert bride.nik not in relations(session, bride_family)
        assert history(session, bride_family)[-1] == (bride_family.kk_number, "MEMBER_CHANGE")
        # Both adults get a DATA_CHANGE card re-issue need.
        assert open_needs(session, groom) == ["DATA_CHANGE"]
        assert open_needs(session, bride) == ["DATA_CHANGE"]
        assert len(outcome.reissue_needs) == 2

    def test_new_family_gets_a_new_number_and_history(
        self, session: Session, couple_families: dict[str, Any]
    ) -> None:
        groom, bride = couple_families["groom"], couple_families["bride"]
        outcome = events.marriage(
            session, resident=bride, spouse=groom, on=ON, actor=OPERATOR, household="NEW_FAMILY", today=TODAY
        )
        family = outcome.family
        assert family is not None
        assert family.id not in (couple_families["groom_family"].id, couple_families["bride_family"].id)
        assert family.kk_number.startswith("320405" + "221126")
        assert history(session, family) == [(family.kk_number, "SPLIT")]
        assert relations(session, family) == {groom.nik: "KEPALA_KELUARGA", bride.nik: "ISTRI"}
        # The groom was alone in his family: that card is closed.
        groom_family = couple_families["groom_family"]
        assert relations(session, groom_family) == {}
        assert repository.kk_history(session, groom_family.id)[-1].valid_to == TODAY

    def test_husband_joins_the_wifes_parents_family_as_menantu(
        self, session: Session, couple_families: dict[str, Any]
    ) -> None:
        groom, bride = couple_families["groom"], couple_families["bride"]
        events.marriage(
            session, resident=groom, spouse=bride, on=ON, actor=OPERATOR, household="JOIN_WIFE", today=TODAY
        )
        assert relations(session, couple_families["bride_family"])[groom.nik] == "MENANTU"
        assert groom.village_code == SAME_DISTRICT_VILLAGE

    @pytest.mark.parametrize(
        ("setup", "field", "rule"),
        [
            ("same_sex", "spouse_nik", "opposite_sex"),
            ("married", "nik", "already_married"),
            ("dead", "spouse_nik", "alive"),
        ],
    )
    def test_refusals_name_field_and_rule(self, session: Session, setup: str, field: str, rule: str) -> None:
        groom = make_resident(session, marital_status="KAWIN" if setup == "married" else "BELUM_KAWIN")
        spouse = make_resident(
            session,
            sex="L" if setup == "same_sex" else "P",
            death_date=dt.date(2026, 1, 1) if setup == "dead" else None,
        )
        with pytest.raises(ValidationFailed) as caught:
            events.marriage(session, resident=groom, spouse=spouse, on=ON, actor=OPERATOR, today=TODAY)
        assert (field, rule) in problems(caught)
        assert events_of(session, groom) == []

    def test_future_date_is_refused(self, session: Session, couple_families: dict[str, Any]) -> None:
        with pytest.raises(ValidationFailed) as caught:
            events.marriage(
                session,
                resident=couple_families["groom"],
                spouse=couple_families["bride"],
                on=dt.date(2027, 1, 1),
                actor=OPERATOR,
                today=TODAY,
            )
        assert problems(caught) == {("date", "future")}

    def test_spouse_in_another_region_is_refused(self, session: Session) -> None:
        groom = make_resident(session)
        bride = make_resident(session, sex="P", village_code=OTHER_REGENCY_VILLAGE)
        with pytest.raises(PermissionDenied):
            events.marriage(session, resident=groom, spouse=bride, on=ON, actor=OPERATOR, today=TODAY)


class TestDivorce:
    def test_wife_leaves_with_a_card_of_her_own(self, session: Session) -> None:
        husband = make_resident(session, marital_status="KAWIN")
        wife = make_resident(session, sex="P", marital_status="KAWIN")
        child = make_resident(session, birth_date=dt.date(2015, 1, 1))
        family = make_family(session, head=husband, members=[(wife, "ISTRI"), (child, "ANAK")])
        outcome = events.divorce(session, resident=husband, spouse=wife, on=ON, actor=OPERATOR, today=TODAY)
        assert (husband.marital_status, wife.marital_status) == ("CERAI_HIDUP", "CERAI_HIDUP")
        assert relations(session, family) == {husband.nik: "KEPALA_KELUARGA", child.nik: "ANAK"}
        assert history(session, family)[-1] == (family.kk_number, "MEMBER_CHANGE")
        new_family = outcome.family
        assert new_family is not None
        assert relations(session, new_family) == {wife.nik: "KEPALA_KELUARGA"}
        assert history(session, new_family) == [(new_family.kk_number, "SPLIT")]
        assert open_needs(session, husband) == ["DATA_CHANGE"]
        assert open_needs(session, wife) == ["DATA_CHANGE"]

    def test_unmarried_resident_cannot_divorce(self, session: Session) -> None:
        single = make_resident(session)
        with pytest.raises(ValidationFailed) as caught:
            events.divorce(session, resident=single, on=ON, actor=OPERATOR, today=TODAY)
        assert problems(caught) == {("nik", "not_married")}


class TestDeath:
    def test_head_passes_to_the_spouse_and_the_number_changes(self, session: Session) -> None:
        husband = make_resident(session, marital_status="KAWIN", birth_date=dt.date(1960, 1, 1))
        wife = make_resident(session, sex="P", marital_status="KAWIN", birth_date=dt.date(1962, 1, 1))
        son = make_resident(session, birth_date=dt.date(1990, 1, 1))
        family = make_family(session, head=husband, members=[(wife, "ISTRI"), (son, "ANAK")])
        old_number = family.kk_number
        outcome = events.death(session, resident=husband, on=ON, actor=OPERATOR, today=TODAY)

        assert (husband.life_status, husband.death_date) == ("DEAD", ON)
        assert family.head_resident_id == wife.id
        assert relations(session, family) == {wife.nik: "KEPALA_KELUARGA", son.nik: "ANAK"}
        assert family.kk_number != old_number
        assert history(session, family) == [(old_number, "ISSUED"), (family.kk_number, "HEAD_CHANGE")]
        assert repository.active_membership(session, husband.id) is None
        # The widow is CERAI_MATI and needs a new card; the deceased needs none.
        assert wife.marital_status == "CERAI_MATI"
        assert open_needs(session, wife) == ["DATA_CHANGE"]
        assert open_needs(session, husband) == []
        assert [e.kind for e in outcome.events] == ["DEATH", "DATA_CHANGE"]

    def test_without_spouse_the_oldest_adult_heads(self, session: Session) -> None:
        widower = make_resident(session, marital_status="CERAI_MATI", birth_date=dt.date(1950, 1, 1))
        elder = make_resident(session, birth_date=dt.date(1980, 1, 1))
        younger = make_resident(session, birth_date=dt.date(1985, 1, 1))
        family = make_family(session, head=widower, members=[(younger, "ANAK"), (elder, "ANAK")])
        events.death(session, resident=widower, on=ON, actor=OPERATOR, today=TODAY)
        assert family.head_resident_id == elder.id

    def test_death_of_a_member_reprints_with_the_same_number(self, session: Session) -> None:
        head = make_resident(session)
        grandmother = make_resident(
            session, sex="P", birth_date=dt.date(1940, 1, 1), marital_status="CERAI_MATI"
        )
        family = make_family(session, head=head, members=[(grandmother, "ORANG_TUA")])
        events.death(session, resident=grandmother, on=ON, actor=OPERATOR, today=TODAY)
        assert history(session, family)[-1] == (family.kk_number, "MEMBER_CHANGE")
        assert family.head_resident_id == head.id

    def test_last_member_closes_the_card(self, session: Session) -> None:
        alone = make_resident(session)
        family = make_family(session, head=alone)
        events.death(session, resident=alone, on=ON, actor=OPERATOR, today=TODAY)
        assert family.head_resident_id is None
        assert repository.current_kk_edition(session, family.id) is None

    def test_open_reissue_needs_of_the_deceased_are_cancelled(self, session: Session) -> None:
        resident = make_resident(session)
        make_family(session, head=resident)
        events.move(
            session,
            resident=resident,
            to_village_code=SAME_DISTRICT_VILLAGE,
            street="Jl. Baru 2",
            rt="003",
            rw="004",
            on=dt.date(2026, 10, 1),
            actor=OPERATOR,
            today=TODAY,
        )
        assert open_needs(session, resident) == ["MOVE"]
        events.death(session, resident=resident, on=ON, actor=OPERATOR, today=TODAY)
        assert [n.status for n in repository.reissue_needs_of(session, resident.id)] == ["CANCELLED"]

    def test_twice_is_refused(self, session: Session) -> None:
        resident = make_resident(session, death_date=dt.date(2020, 1, 1))
        with pytest.raises(InvalidState):
            events.death(session, resident=resident, on=ON, actor=OPERATOR, today=TODAY)

    def test_before_birth_is_refused(self, session: Session) -> None:
        resident = make_resident(session, birth_date=dt.date(2000, 1, 1))
        with pytest.raises(ValidationFailed) as caught:
            events.death(session, resident=resident, on=dt.date(1999, 1, 1), actor=OPERATOR, today=TODAY)
        assert problems(caught) == {("date", "before_birth")}


class TestMove:
    def test_whole_family_to_another_district_gets_a_new_number_and_keeps_niks(
        self, session: Session
    ) -> None:
        head = make_resident(session, marital_status="KAWIN")
        wife = make_resident(session, sex="P", marital_status="KAWIN")
        child = make_resident(session, birth_date=dt.date(2016, 3, 3))
        family = make_family(session, head=head, members=[(wife, "ISTRI"), (child, "ANAK")])
        niks = (head.nik, wife.nik, child.nik)
        old_number = family.kk_number
        outcome = events.move(
            session,
            resident=head,
            to_village_code="3273011001",
            street="Jl. Sukarasa 9",
            rt="5",
            rw="7",
            on=ON,
            whole_family=True,
            actor=OPERATOR,
            today=TODAY,
        )
        assert (head.nik, wife.nik, child.nik) == niks
        for person in (head, wife, child):
            assert (person.village_code, person.district_code, person.regency_code, person.province_code) == (
                "32.73.01.1001",
                "32.73.01",
                "32.73",
                "32",
            )
            assert (person.rt, person.rw) == ("005", "007")
        assert family.village_code == "32.73.01.1001"
        assert family.kk_number.startswith("327301")
        assert history(session, family) == [(old_number, "ISSUED"), (family.kk_number, "MOVE")]
        # Adults need a new card (MOVE); the child does not.
        assert open_needs(session, head) == ["MOVE"]
        assert open_needs(session, wife) == ["MOVE"]
        assert open_needs(session, child) == []
        assert {e.kind for e in outcome.events} == {"MOVE"}
        # The NIK still says where it was issued, never where the person lives.
        facts = parse_nik(head.nik).facts
        assert facts is not None
        assert facts.district_code == "32.04.05"

    def test_within_the_district_keeps_the_number(self, session: Session) -> None:
        head = make_resident(session)
        family = make_family(session, head=head)
        events.move(
            session,
            resident=head,
            to_village_code=SAME_DISTRICT_VILLAGE,
            street="Jl. Baru 2",
            rt="003",
            rw="004",
            on=ON,
            actor=OPERATOR,
            today=TODAY,
        )
        assert history(session, family)[-1] == (family.kk_number, "ADDRESS_CHANGE")
        assert head.village_code == SAME_DISTRICT_VILLAGE

    def test_single_mover_leaves_and_heads_a_new_card_at_the_destination(self, session: Session) -> None:
        father = make_resident(session, birth_date=dt.date(1960, 1, 1))
        son = make_resident(session, birth_date=dt.date(1995, 1, 1))
        family = make_family(session, head=father, members=[(son, "ANAK")])
        outcome = events.move(
            session,
            resident=son,
            to_village_code=OTHER_PROVINCE_VILLAGE,
            street="Jl. Medan Merdeka 1",
            rt="001",
            rw="001",
            on=ON,
            actor=OPERATOR,
            today=TODAY,
        )
        new_family = outcome.family
        assert new_family is not None
        assert new_family.kk_number.startswith("317101")
        assert history(session, new_family) == [(new_family.kk_number, "SPLIT")]
        assert relations(session, family) == {father.nik: "KEPALA_KELUARGA"}
        assert son.province_code == "31"
        assert open_needs(session, son) == ["MOVE"]
        assert open_needs(session, father) == []

    def test_mover_joins_a_family_at_the_destination(self, session: Session) -> None:
        uncle = make_resident(session, village_code=OTHER_REGENCY_VILLAGE, street="Jl. Paman 3")
        host = make_family(session, head=uncle, village_code=OTHER_REGENCY_VILLAGE)
        nephew = make_resident(session, birth_date=dt.date(2001, 1, 1))
        make_family(session, head=make_resident(session), members=[(nephew, "ANAK")])
        events.move(
            session,
            resident=nephew,
            to_village_code=OTHER_REGENCY_VILLAGE,
            street="ignored",
            rt="009",
            rw="009",
            on=ON,
            into_family=host,
            relation="FAMILI_LAIN",  # type: ignore[arg-type]
            actor=OPERATOR,
            today=TODAY,
        )
        assert relations(session, host)[nephew.nik] == "FAMILI_LAIN"
        assert nephew.street == "Jl. Paman 3"
        assert history(session, host)[-1] == (host.kk_number, "MEMBER_CHANGE")

    def test_destination_office_may_record_the_arrival(self, session: Session) -> None:
        resident = make_resident(session)
        make_family(session, head=resident)
        events.move(
            session,
            resident=resident,
            to_village_code=OTHER_PROVINCE_VILLAGE,
            street="Jl. Gambir 1",
            rt="001",
            rw="001",
            on=ON,
            actor=JAKARTA_OPERATOR,
            today=TODAY,
        )
        assert resident.province_code == "31"

    def test_office_covering_neither_end_is_refused(self, session: Session) -> None:
        resident = make_resident(session)
        with pytest.raises(PermissionDenied):
            events.move(
                session,
                resident=resident,
                to_village_code=OTHER_PROVINCE_VILLAGE,
                street="Jl. Gambir 1",
                rt="001",
                rw="001",
                on=ON,
                actor=KOTA_OPERATOR,
                today=TODAY,
            )

    @pytest.mark.parametrize(("code", "rule"), [("32.04.05", "village_level"), ("99.99.99.9999", "exists")])
    def test_destination_must_be_a_current_village(self, session: Session, code: str, rule: str) -> None:
        resident = make_resident(session)
        with pytest.raises(ValidationFailed) as caught:
            events.move(
                session,
                resident=resident,
                to_village_code=code,
                street="Jl. X",
                rt="001",
                rw="001",
                on=ON,
                actor=OPERATOR,
                today=TODAY,
            )
        assert problems(caught) == {("to_village_code", rule)}


class TestBirth:
    @pytest.fixture
    def family(self, session: Session) -> dict[str, Any]:
        father = make_resident(session, marital_status="KAWIN", birth_date=dt.date(1990, 1, 1))
        mother = make_resident(session, sex="P", marital_status="KAWIN", birth_date=dt.date(1992, 1, 1))
        family = make_family(session, head=father, members=[(mother, "ISTRI")])
        return {"father": father, "mother": mother, "family": family}

    def child(self, **overrides: Any) -> schemas.BirthRequest:
        data: dict[str, Any] = {
            "full_name": "Putri Ayu Lestari",
            "sex": "P",
            "birth_date": dt.date(2026, 11, 20),
            "birth_place": "Bandung",
        }
        return schemas.BirthRequest(**(data | overrides))

    def test_child_gets_a_nik_joins_as_anak_and_the_card_is_reprinted(
        self, session: Session, family: dict[str, Any]
    ) -> None:
        fam = family["family"]
        outcome = events.birth(
            session,
            family=fam,
            child=self.child(),
            mother=family["mother"],
            father=family["father"],
            actor=OPERATOR,
            today=TODAY,
        )
        baby = outcome.child
        assert baby is not None
        assert baby.nik.startswith("320405" + "601126")  # district, day 20 + 40, month 11, year 26
        assert baby.nik.endswith("0001")
        assert (baby.marital_status, baby.citizenship, baby.religion) == ("BELUM_KAWIN", "WNI", "ISLAM")
        assert baby.village_code == fam.village_code
        assert relations(session, fam)[baby.nik] == "ANAK"
        assert history(session, fam)[-1] == (fam.kk_number, "MEMBER_CHANGE")
        assert {h.kk_number for h in repository.kk_history(session, fam.id)} == {fam.kk_number}
        assert events_of(session, baby) == ["BIRTH"]
        assert json.loads(outcome.events[0].details)["mother_nik"] == family["mother"].nik
        assert open_needs(session, baby) == []

    def test_twins_get_consecutive_serials(self, session: Session, family: dict[str, Any]) -> None:
        first = events.birth(
            session,
            family=family["family"],
            child=self.child(),
            mother=family["mother"],
            actor=OPERATOR,
            today=TODAY,
        ).child
        second = events.birth(
            session,
            family=family["family"],
            child=self.child(full_name="Putra Ayu Lestari"),
            mother=family["mother"],
            actor=OPERATOR,
            today=TODAY,
        ).child
        assert first is not None
        assert second is not None
        assert first.nik[:12] == second.nik[:12]
        assert int(second.nik[12:]) == int(first.nik[12:]) + 1

    def test_grandchild_is_cucu(self, session: Session) -> None:
        grandfather = make_resident(session, birth_date=dt.date(1950, 1, 1), marital_status="KAWIN")
        son = make_resident(session, birth_date=dt.date(1990, 1, 1), marital_status="KAWIN")
        family = make_family(session, head=grandfather, members=[(son, "ANAK")])
        baby = events.birth(
            session, family=family, child=self.child(), father=son, actor=OPERATOR, today=TODAY
        ).child
        assert baby is not None
        assert relations(session, family)[baby.nik] == "CUCU"

    @pytest.mark.parametrize(
        ("overrides", "parents", "field", "rule"),
        [
            ({}, (), "mother_nik", "required_one_parent"),
            ({"birth_date": dt.date(2026, 12, 1)}, ("mother",), "birth_date", "future"),
            ({"full_name": "Putri"}, ("mother",), "full_name", "min_words"),
            ({}, ("father_as_mother",), "mother_nik", "sex"),
        ],
    )
    def test_refusals_name_field_and_rule(
        self,
        session: Session,
        family: dict[str, Any],
        overrides: dict[str, Any],
        parents: tuple[str, ...],
        field: str,
        rule: str,
    ) -> None:
        mother = (
            family["mother"]
            if "mother" in parents
            else family["father"]
            if "father_as_mother" in parents
            else None
        )
        with pytest.raises(ValidationFailed) as caught:
            events.birth(
                session,
                family=family["family"],
                child=self.child(**overrides),
                mother=mother,
                actor=OPERATOR,
                today=TODAY,
            )
        assert (field, rule) in problems(caught)

    def test_parent_outside_the_family_is_refused(self, session: Session, family: dict[str, Any]) -> None:
        stranger = make_resident(session, sex="P", birth_date=dt.date(1990, 1, 1))
        with pytest.raises(ValidationFailed) as caught:
            events.birth(
                session,
                family=family["family"],
                child=self.child(),
                mother=stranger,
                actor=OPERATOR,
                today=TODAY,
            )
        assert problems(caught) == {("mother_nik", "not_in_family")}

    def test_family_of_another_region_is_refused(self, session: Session) -> None:
        mother = make_resident(session, sex="P", village_code=OTHER_REGENCY_VILLAGE)
        family = make_family(session, head=mother, village_code=OTHER_REGENCY_VILLAGE)
        with pytest.raises(PermissionDenied):
            events.birth(
                session, family=family, child=self.child(), mother=mother, actor=OPERATOR, today=TODAY
            )
