"""The population API: happy paths, and every endpoint refusing the anonymous caller, the wrong
role, the other region and malformed input (naming the field and the rule)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ektp.auth.permissions import Role
from ektp.kit.errors import Conflict
from ektp.models.population import Family, LifeEvent, Resident
from ektp.population import events as events_module
from ektp.population import repository
from tests.factories.auth import auth_headers
from tests.factories.population import (
    DEFAULT_VILLAGE,
    OTHER_REGENCY_VILLAGE,
    make_family,
    make_resident,
)

API = "/api/v1"


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "full_name": "Budi Hartono",
        "birth_place": "Bandung",
        "birth_date": "1990-05-17",
        "sex": "L",
        "religion": "ISLAM",
        "occupation": "Petani",
        "street": "Jl. Raya Cileunyi 5",
        "rt": "001",
        "rw": "002",
        "village_code": DEFAULT_VILLAGE,
    }
    data.update(overrides)
    return data


def problem_pairs(response: Any) -> set[tuple[str, str]]:
    return {(p["field"], p["rule"]) for p in response.json()["problems"]}


@pytest.fixture
def operator(session: Session) -> dict[str, str]:
    """A regional operator of Kabupaten Bandung (32.04)."""
    return auth_headers(session, Role.REGIONAL_OPERATOR)


@pytest.fixture
def other_operator(session: Session) -> dict[str, str]:
    """A regional operator of Kota Bandung (32.73)."""
    return auth_headers(session, Role.REGIONAL_OPERATOR, region_code="32.73")


@pytest.fixture
def viewer(session: Session) -> dict[str, str]:
    return auth_headers(session, Role.VIEWER)


@pytest.fixture
def examiner(session: Session) -> dict[str, str]:
    return auth_headers(session, Role.EXAMINER)


class TestResidentHappyPaths:
    def test_create_get_search_patch(self, client: TestClient, operator: dict[str, str]) -> None:
        created = client.post(f"{API}/residents", json=body(), headers=operator)
        assert created.status_code == 201, created.text
        resident = created.json()["resident"]
        nik = resident["nik"]
        assert nik.startswith("320405170590")
        assert resident["full_name"] == "BUDI HARTONO"
        assert resident["wajib_ktp"] is True
        assert resident["labels"]["sex"] == "LAKI-LAKI"
        assert created.json()["warnings"] == []

        fetched = client.get(f"{API}/residents/{nik}", headers=operator)
        assert fetched.status_code == 200
        assert fetched.json()["nik"] == nik

        found = client.get(f"{API}/residents", params={"name": "budi h"}, headers=operator)
        assert found.status_code == 200
        assert [item["nik"] for item in found.json()["items"]] == [nik]
        assert found.json()["has_next"] is False

        patched = client.patch(
            f"{API}/residents/{nik}",
            json={"occupation": "Guru", "reason": "Surat keterangan kerja", "version": 1},
            headers=operator,
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["occupation"] == "GURU"
        assert patched.json()["version"] == 2

        needs = client.get(f"{API}/residents/{nik}/reissue-needs", headers=operator)
        assert needs.status_code == 200
        assert [(n["reason"], n["status"]) for n in needs.json()] == [("DATA_CHANGE", "OPEN")]
        history = client.get(f"{API}/residents/{nik}/events", headers=operator)
        assert [e["kind"] for e in history.json()] == ["DATA_CHANGE"]
        assert history.json()[0]["details"]["reason"] == "Surat keterangan kerja"

    def test_unknown_region_prefix_comes_back_as_a_warning(
        self, client: TestClient, operator: dict[str, str]
    ) -> None:
        response = client.post(f"{API}/residents", json=body(nik="3299991705900001"), headers=operator)
        assert response.status_code == 201
        assert [(w["field"], w["rule"]) for w in response.json()["warnings"]] == [("nik", "region_unknown")]

    def test_examiner_reads(self, client: TestClient, session: Session, examiner: dict[str, str]) -> None:
        resident = make_resident(session)
        session.commit()  # survive the rollback of a refused request
        assert client.get(f"{API}/residents/{resident.nik}", headers=examiner).status_code == 200


class TestResidentRefusals:
    def test_anonymous_is_401(self, client: TestClient, session: Session) -> None:
        resident = make_resident(session)
        session.commit()  # survive the rollback of a refused request
        assert client.get(f"{API}/residents/{resident.nik}").status_code == 401
        assert client.get(f"{API}/residents").status_code == 401
        assert client.post(f"{API}/residents", json=body()).status_code == 401
        assert client.patch(f"{API}/residents/{resident.nik}", json={"reason": "xxxxxx"}).status_code == 401

    def test_viewer_may_neither_read_nor_write_residents(
        self, client: TestClient, session: Session, viewer: dict[str, str]
    ) -> None:
        resident = make_resident(session)
        session.commit()  # survive the rollback of a refused request
        assert client.post(f"{API}/residents", json=body(), headers=viewer).status_code == 403
        assert client.get(f"{API}/residents/{resident.nik}", headers=viewer).status_code == 403
        patch = client.patch(
            f"{API}/residents/{resident.nik}",
            json={"occupation": "Guru", "reason": "Koreksi"},
            headers=viewer,
        )
        assert patch.status_code == 403

    def test_examiner_may_not_write(self, client: TestClient, examiner: dict[str, str]) -> None:
        assert client.post(f"{API}/residents", json=body(), headers=examiner).status_code == 403

    def test_other_region_is_403(
        self, client: TestClient, session: Session, other_operator: dict[str, str]
    ) -> None:
        resident = make_resident(session)
        session.commit()  # survive the rollback of a refused request
        assert client.get(f"{API}/residents/{resident.nik}", headers=other_operator).status_code == 403
        assert client.post(f"{API}/residents", json=body(), headers=other_operator).status_code == 403
        patch = client.patch(
            f"{API}/residents/{resident.nik}",
            json={"occupation": "Guru", "reason": "Koreksi data"},
            headers=other_operator,
        )
        assert patch.status_code == 403
        search = client.get(f"{API}/residents", params={"region": "32.04"}, headers=other_operator)
        assert search.status_code == 403
        reissue = client.get(f"{API}/residents/{resident.nik}/reissue-needs", headers=other_operator)
        assert reissue.status_code == 403

    @pytest.mark.parametrize(
        ("nik", "rule"),
        [
            ("320405170590000", "length"),
            ("32040517059000AB", "digits"),
            ("3204053205900001", "day_range"),
            ("3204051713900001", "month_range"),
            ("3204053102900001", "impossible_date"),
            ("3204051705900000", "serial_zero"),
            ("0004051705900001", "province_code_zero"),
            ("3204051805900001", "birth_date_mismatch"),
        ],
    )
    def test_malformed_nik_is_422_naming_field_and_rule(
        self, client: TestClient, operator: dict[str, str], nik: str, rule: str
    ) -> None:
        response = client.post(f"{API}/residents", json=body(nik=nik), headers=operator)
        assert response.status_code == 422
        assert ("nik", rule) in problem_pairs(response)

    @pytest.mark.parametrize(
        ("overrides", "field", "rule"),
        [
            ({"birth_date": "1990-02-30"}, "birth_date", "date_from_datetime"),
            ({"birth_date": "2999-01-01"}, "birth_date", "future"),
            ({"sex": "X"}, "sex", "literal_error"),
            ({"religion": "JEDI"}, "religion", "enum"),
            ({"rt": "12345"}, "rt", "string_pattern_mismatch"),
            ({"village_code": "32.04.05.9999"}, "village_code", "exists"),
            ({"village_code": "abc"}, "village_code", "digits_only"),
            ({"full_name": "Sukarno"}, "full_name", "min_words"),
            ({"citizenship": "WNA"}, "permit_expiry", "required_for_wna"),
            ({"unexpected": 1}, "unexpected", "extra_forbidden"),
            ({"birth_date": [1990]}, "birth_date", "date_type"),
        ],
    )
    def test_bad_input_is_422_naming_the_field(
        self, client: TestClient, operator: dict[str, str], overrides: dict[str, Any], field: str, rule: str
    ) -> None:
        response = client.post(f"{API}/residents", json=body(**overrides), headers=operator)
        assert response.status_code == 422, response.text
        pairs = problem_pairs(response)
        assert field in {f for f, _ in pairs}
        assert any(f == field and r.startswith(rule) for f, r in pairs), pairs

    def test_missing_body_field_is_422(self, client: TestClient, operator: dict[str, str]) -> None:
        data = body()
        del data["birth_date"]
        response = client.post(f"{API}/residents", json=data, headers=operator)
        assert response.status_code == 422
        assert ("birth_date", "missing") in problem_pairs(response)

    def test_malformed_nik_in_path_is_422(self, client: TestClient, operator: dict[str, str]) -> None:
        response = client.get(f"{API}/residents/12-34", headers=operator)
        assert response.status_code == 422
        assert {("nik", "digits"), ("nik", "length")} == problem_pairs(response)

    def test_unknown_nik_is_404(self, client: TestClient, operator: dict[str, str]) -> None:
        assert client.get(f"{API}/residents/3204051705900999", headers=operator).status_code == 404
        assert (
            client.post(
                f"{API}/residents/3204051705900999/events/death",
                json={"date": "2026-01-01"},
                headers=operator,
            ).status_code
            == 404
        )

    def test_duplicate_nik_is_409(
        self, client: TestClient, session: Session, operator: dict[str, str]
    ) -> None:
        existing = make_resident(session, birth_date=dt.date(1990, 5, 17))
        session.commit()  # survive the rollback of a refused request
        response = client.post(f"{API}/residents", json=body(nik=existing.nik), headers=operator)
        assert response.status_code == 409
        assert problem_pairs(response) == {("nik", "unique")}

    @pytest.mark.parametrize(
        ("patch", "field", "rule"),
        [
            ({"nik": "3204051705900002"}, "nik", "immutable"),
            ({"birth_date": "1991-01-01"}, "birth_date", "immutable"),
            ({"village_code": OTHER_REGENCY_VILLAGE}, "village_code", "use_life_event"),
            ({"reason": "ok"}, "reason", "min_length"),
            ({"version": 9}, "version", "stale"),
            ({"blood_type": "Z"}, "blood_type", "enum"),
        ],
    )
    def test_bad_patch_names_the_field(
        self,
        client: TestClient,
        session: Session,
        operator: dict[str, str],
        patch: dict[str, Any],
        field: str,
        rule: str,
    ) -> None:
        resident = make_resident(session)
        payload = {"occupation": "Guru", "reason": "Koreksi data"} | patch
        session.commit()  # survive the rollback of a refused request
        response = client.patch(f"{API}/residents/{resident.nik}", json=payload, headers=operator)
        assert response.status_code in (409, 422), response.text
        assert (field, rule) in problem_pairs(response)

    def test_patch_without_reason_is_422(
        self, client: TestClient, session: Session, operator: dict[str, str]
    ) -> None:
        resident = make_resident(session)
        session.commit()  # survive the rollback of a refused request
        response = client.patch(
            f"{API}/residents/{resident.nik}", json={"occupation": "Guru"}, headers=operator
        )
        assert response.status_code == 422
        assert ("reason", "missing") in problem_pairs(response)

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"birth_date": "not-a-date"}, "birth_date"),
            ({"size": "1000"}, "size"),
            ({"page": "0"}, "page"),
            ({"region": "3x"}, "region"),
            ({"name": "x" * 101}, "name"),
        ],
    )
    def test_bad_search_parameters_are_422(
        self, client: TestClient, operator: dict[str, str], params: dict[str, str], field: str
    ) -> None:
        response = client.get(f"{API}/residents", params=params, headers=operator)
        assert response.status_code == 422
        assert field in {f for f, _ in problem_pairs(response)}

    def test_oversize_body_is_413(self, client: TestClient, operator: dict[str, str]) -> None:
        response = client.post(
            f"{API}/residents",
            content=b"{" + b" " * 3_000_000 + b"}",
            headers=operator | {"content-type": "application/json"},
        )
        assert response.status_code == 413


class TestFamilyApi:
    def test_create_and_get(self, client: TestClient, session: Session, operator: dict[str, str]) -> None:
        head = make_resident(session)
        wife = make_resident(session, sex="P", marital_status="KAWIN")
        session.commit()  # survive the rollback of a refused request
        response = client.post(
            f"{API}/families",
            json={"head_nik": head.nik, "members": [{"nik": wife.nik, "relation": "ISTRI"}]},
            headers=operator,
        )
        assert response.status_code == 201, response.text
        kk = response.json()["kk_number"]
        fetched = client.get(f"{API}/families/{kk}", headers=operator)
        assert fetched.status_code == 200
        family = fetched.json()
        assert family["head_nik"] == head.nik
        assert [(m["nik"], m["relation_label"]) for m in family["members"]] == [
            (head.nik, "KEPALA KELUARGA"),
            (wife.nik, "ISTRI"),
        ]
        assert [(h["kk_number"], h["reason"]) for h in family["history"]] == [(kk, "ISSUED")]

    def test_refusals(
        self,
        client: TestClient,
        session: Session,
        operator: dict[str, str],
        other_operator: dict[str, str],
        viewer: dict[str, str],
    ) -> None:
        family = make_family(session)
        head = make_resident(session)
        session.commit()  # survive the rollback of a refused request
        assert client.get(f"{API}/families/{family.kk_number}").status_code == 401
        assert client.get(f"{API}/families/{family.kk_number}", headers=other_operator).status_code == 403
        assert client.post(f"{API}/families", json={"head_nik": head.nik}, headers=viewer).status_code == 403
        assert (
            client.post(f"{API}/families", json={"head_nik": head.nik}, headers=other_operator).status_code
            == 403
        )
        assert client.get(f"{API}/families/3204051001230999", headers=operator).status_code == 404
        malformed = client.get(f"{API}/families/12345", headers=operator)
        assert malformed.status_code == 422
        assert problem_pairs(malformed) == {("kk_number", "length")}
        bad_kk = client.post(
            f"{API}/families", json={"head_nik": head.nik, "kk_number": "3204050113230001"}, headers=operator
        )
        assert bad_kk.status_code == 422
        assert ("kk_number", "month_range") in problem_pairs(bad_kk)
        duplicate = client.post(
            f"{API}/families", json={"head_nik": head.nik, "kk_number": family.kk_number}, headers=operator
        )
        assert duplicate.status_code == 409
        bad_relation = client.post(
            f"{API}/families",
            json={"head_nik": head.nik, "members": [{"nik": head.nik, "relation": "BOSS"}]},
            headers=operator,
        )
        assert bad_relation.status_code == 422
        assert "members.0.relation" in {f for f, _ in problem_pairs(bad_relation)}


class TestLifeEventApi:
    def test_marriage_death_move_and_birth(
        self, client: TestClient, session: Session, operator: dict[str, str]
    ) -> None:
        groom = make_resident(session, birth_date=dt.date(1995, 1, 1))
        bride = make_resident(session, sex="P", birth_date=dt.date(1997, 1, 1))
        make_family(session, head=groom)
        session.commit()  # survive the rollback of a refused request
        married = client.post(
            f"{API}/residents/{groom.nik}/events/marriage",
            json={"spouse_nik": bride.nik, "date": "2026-01-10"},
            headers=operator,
        )
        assert married.status_code == 201, married.text
        outcome = married.json()
        assert [e["kind"] for e in outcome["events"]] == ["MARRIAGE", "MARRIAGE"]
        assert {n["reason"] for n in outcome["reissue_needs"]} == {"DATA_CHANGE"}
        kk = outcome["kk_editions"][-1]["kk_number"]

        born = client.post(
            f"{API}/families/{kk}/births",
            json={
                "full_name": "Putri Ayu Lestari",
                "sex": "P",
                "birth_date": "2026-10-01",
                "birth_place": "Bandung",
                "mother_nik": bride.nik,
            },
            headers=operator,
        )
        assert born.status_code == 201, born.text
        child_nik = born.json()["child_nik"]
        assert child_nik.startswith("320405411026")  # district, day 1 + 40, October 2026

        moved = client.post(
            f"{API}/residents/{groom.nik}/events/move",
            json={
                "to_village_code": "32.04.05.2002",
                "street": "Jl. Baru 1",
                "rt": "2",
                "rw": "3",
                "date": "2026-10-15",
                "whole_family": True,
            },
            headers=operator,
        )
        assert moved.status_code == 201, moved.text
        assert len(moved.json()["residents"]) == 3

        died = client.post(
            f"{API}/residents/{groom.nik}/events/death", json={"date": "2026-11-01"}, headers=operator
        )
        assert died.status_code == 201, died.text
        assert died.json()["kk_editions"][-1]["reason"] == "HEAD_CHANGE"

    def test_divorce(self, client: TestClient, session: Session, operator: dict[str, str]) -> None:
        husband = make_resident(session, marital_status="KAWIN")
        wife = make_resident(session, sex="P", marital_status="KAWIN")
        make_family(session, head=husband, members=[(wife, "ISTRI")])
        session.commit()  # survive the rollback of a refused request
        response = client.post(
            f"{API}/residents/{husband.nik}/events/divorce",
            json={"spouse_nik": wife.nik, "date": "2026-02-02"},
            headers=operator,
        )
        assert response.status_code == 201, response.text
        assert [e["kind"] for e in response.json()["events"]] == ["DIVORCE", "DIVORCE"]

    def test_refusals(
        self,
        client: TestClient,
        session: Session,
        operator: dict[str, str],
        other_operator: dict[str, str],
        examiner: dict[str, str],
    ) -> None:
        resident = make_resident(session)
        death = f"{API}/residents/{resident.nik}/events/death"
        session.commit()  # survive the rollback of a refused request
        assert client.post(death, json={"date": "2026-01-01"}).status_code == 401
        assert client.post(death, json={"date": "2026-01-01"}, headers=examiner).status_code == 403
        assert client.post(death, json={"date": "2026-01-01"}, headers=other_operator).status_code == 403
        bad_date = client.post(death, json={"date": "2026-13-01"}, headers=operator)
        assert bad_date.status_code == 422
        assert "date" in {f for f, _ in problem_pairs(bad_date)}
        future = client.post(death, json={"date": "2999-01-01"}, headers=operator)
        assert future.status_code == 422
        assert problem_pairs(future) == {("date", "future")}
        bad_spouse = client.post(
            f"{API}/residents/{resident.nik}/events/marriage",
            json={"spouse_nik": "123", "date": "2026-01-01"},
            headers=operator,
        )
        assert bad_spouse.status_code == 422
        assert problem_pairs(bad_spouse) == {("spouse_nik", "length")}
        unknown_village = client.post(
            f"{API}/residents/{resident.nik}/events/move",
            json={
                "to_village_code": "32.04.05.9999",
                "street": "Jl. X",
                "rt": "1",
                "rw": "1",
                "date": "2026-01-01",
            },
            headers=operator,
        )
        assert unknown_village.status_code == 422
        assert problem_pairs(unknown_village) == {("to_village_code", "exists")}
        unknown_kind = client.post(
            f"{API}/residents/{resident.nik}/events/adoption", json={"date": "2026-01-01"}, headers=operator
        )
        assert unknown_kind.status_code in (404, 405)

    def test_birth_refusals(
        self, client: TestClient, session: Session, operator: dict[str, str], other_operator: dict[str, str]
    ) -> None:
        mother = make_resident(session, sex="P", marital_status="KAWIN")
        family = make_family(session, head=mother)
        url = f"{API}/families/{family.kk_number}/births"
        child = {"full_name": "Putri Ayu", "sex": "P", "birth_date": "2026-10-01", "birth_place": "Bandung"}
        session.commit()  # survive the rollback of a refused request
        assert (
            client.post(url, json=child | {"mother_nik": mother.nik}, headers=other_operator).status_code
            == 403
        )
        no_parent = client.post(url, json=child, headers=operator)
        assert no_parent.status_code == 422
        assert problem_pairs(no_parent) == {("mother_nik", "required_one_parent")}
        assert (
            client.post(f"{API}/families/3204051001230999/births", json=child, headers=operator).status_code
            == 404
        )


class TestNothingHalfWritten:
    def test_failure_after_the_first_writes_leaves_no_rows(
        self, client: TestClient, session: Session, operator: dict[str, str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The marriage service writes events, statuses, memberships and KK editions before it
        raises the re-issue needs; if that last step fails, the request leaves nothing behind."""
        groom = make_resident(session, birth_date=dt.date(1995, 1, 1))
        bride = make_resident(session, sex="P", birth_date=dt.date(1997, 1, 1))
        family = make_family(session, head=groom)
        session.commit()
        events_before = session.scalar(select(func.count()).select_from(LifeEvent))
        families_before = session.scalar(select(func.count()).select_from(Family))

        def failing(*args: Any, **kwargs: Any) -> None:
            raise Conflict("printing queue unavailable")

        monkeypatch.setattr(events_module, "raise_reissue_need", failing)
        response = client.post(
            f"{API}/residents/{groom.nik}/events/marriage",
            json={"spouse_nik": bride.nik, "date": "2026-01-10"},
            headers=operator,
        )
        assert response.status_code == 409
        session.expire_all()
        assert session.scalar(select(func.count()).select_from(LifeEvent)) == events_before
        assert session.scalar(select(func.count()).select_from(Family)) == families_before
        reloaded = session.get(Resident, bride.id)
        assert reloaded is not None
        assert reloaded.marital_status == "BELUM_KAWIN"
        assert [r.nik for _, r in repository.active_members(session, family.id)] == [groom.nik]
        assert len(repository.kk_history(session, family.id)) == 1

    def test_failed_create_leaves_no_resident(
        self, client: TestClient, session: Session, operator: dict[str, str]
    ) -> None:
        before = session.scalar(select(func.count()).select_from(Resident))
        response = client.post(f"{API}/residents", json=body(full_name="Sukarno"), headers=operator)
        assert response.status_code == 422
        assert session.scalar(select(func.count()).select_from(Resident)) == before
