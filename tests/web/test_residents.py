"""Resident screens through the TestClient: search, view, register and life events, each in the
user's region only, with refused forms showing their problems next to the fields."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ektp.auth.permissions import Role
from ektp.models.population import LifeEvent, ReissueNeed, Resident
from tests.factories.population import (
    OTHER_PROVINCE_VILLAGE,
    OTHER_REGENCY_VILLAGE,
    make_family,
    make_resident,
)
from tests.web.conftest import HTML, LoginAs, field_errors, form_value, heading


def _nik_links(html: str) -> list[str]:
    return re.findall(r'<td class="nik"><a href="/residents/(\d{16})">', html)


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


class TestSearch:
    def test_finds_by_name_prefix_with_formatted_dates(
        self, client: TestClient, session: Session, login_as: LoginAs
    ) -> None:
        wanted = make_resident(session, name="SITI NURHALIZA", birth_date=dt.date(1990, 12, 31), sex="P")
        make_resident(session, name="AGUS SALIM")
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        response = client.get("/residents", params={"name": "siti nurh", "search": "1"}, headers=HTML)
        assert response.status_code == 200
        assert _nik_links(response.text) == [wanted.nik]
        assert "31 Desember 1990" in response.text
        assert "CILEUNYI KULON" in response.text.upper()
        client.cookies.set("ektp_lang", "en")
        english = client.get("/residents", params={"name": "siti nurh", "search": "1"}, headers=HTML)
        assert "December 31, 1990" in english.text
        assert "Female" in english.text

    def test_shows_only_the_operators_region(
        self, client: TestClient, session: Session, login_as: LoginAs
    ) -> None:
        mine = make_resident(session, name="DEWI KARTIKA")
        theirs = make_resident(session, name="DEWI KARTINI", village_code=OTHER_REGENCY_VILLAGE)
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        found = _nik_links(client.get("/residents", params={"name": "dewi kart"}, headers=HTML).text)
        assert mine.nik in found
        assert theirs.nik not in found

    def test_filters_by_birth_date_and_region(
        self, client: TestClient, session: Session, login_as: LoginAs
    ) -> None:
        early = make_resident(session, name="BAMBANG PAMUNGKAS", birth_date=dt.date(1970, 1, 2))
        make_resident(session, name="BAMBANG PAMUNGKAS", birth_date=dt.date(1971, 1, 2))
        elsewhere = make_resident(session, name="BAMBANG PAMUNGKAS", village_code=OTHER_PROVINCE_VILLAGE)
        login_as(Role.CENTRAL_ADMIN)
        by_date = client.get(
            "/residents", params={"name": "bambang", "birth_date": "1970-01-02"}, headers=HTML
        )
        assert _nik_links(by_date.text) == [early.nik]
        by_region = client.get("/residents", params={"name": "bambang", "province": "31"}, headers=HTML)
        assert _nik_links(by_region.text) == [elsewhere.nik]

    def test_pages_through_results(self, client: TestClient, session: Session, login_as: LoginAs) -> None:
        for _ in range(23):
            make_resident(session, name="RATNA SARI DEWI")
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        first = client.get("/residents", params={"name": "ratna sari"}, headers=HTML)
        assert len(_nik_links(first.text)) == 20
        assert 'rel="next"' in first.text
        second = client.get("/residents", params={"name": "ratna sari", "page": "2"}, headers=HTML)
        assert len(_nik_links(second.text)) == 3
        assert not set(_nik_links(first.text)) & set(_nik_links(second.text))

    def test_bad_birth_date_is_named_next_to_the_field(self, client: TestClient, login_as: LoginAs) -> None:
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        response = client.get("/residents", params={"birth_date": "31-12-1990", "search": "1"}, headers=HTML)
        assert response.status_code == 422
        assert field_errors(response.text) == {
            "birth_date": ["Masukkan tanggal yang benar (tahun-bulan-tanggal)."]
        }

    def test_name_without_letters_is_refused_by_the_service(
        self, client: TestClient, login_as: LoginAs
    ) -> None:
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        response = client.get("/residents", params={"name": "1234"}, headers=HTML)
        assert response.status_code == 422
        assert "name" in field_errors(response.text)

    def test_region_choices_start_below_the_operators_region(
        self, client: TestClient, login_as: LoginAs
    ) -> None:
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        page = client.get("/residents", headers=HTML).text
        assert 'data-fixed="regency"' in page
        assert 'name="district"' in page
        assert 'name="province"' not in page
        districts = client.get("/residents", params={"district": "32.04.05"}, headers=HTML).text
        assert 'name="village_code"' in districts
        assert 'value="32.04.05.2001"' in districts

    def test_a_role_without_resident_access_gets_the_403_page(
        self, client: TestClient, login_as: LoginAs
    ) -> None:
        login_as(Role.VIEWER, "32")
        response = client.get("/residents", headers=HTML)
        assert response.status_code == 403
        assert heading(response.text) == "Akses ditolak"
        assert 'href="/residents"' not in response.text, "the nav does not offer what the role may not open"

    def test_not_logged_in_is_sent_to_login(self, client: TestClient) -> None:
        response = client.get("/residents?name=x", headers=HTML, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=%2Fresidents%3Fname%3Dx"


class TestView:
    def test_shows_biodata_family_and_history(
        self, client: TestClient, session: Session, login_as: LoginAs
    ) -> None:
        head = make_resident(
            session, name="AHMAD FAUZI", birth_date=dt.date(1980, 3, 4), marital_status="KAWIN"
        )
        wife = make_resident(session, name="RINA MARLINA", sex="P", marital_status="KAWIN")
        family = make_family(session, head=head, members=[(wife, "ISTRI")])
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        page = client.get(f"/residents/{head.nik}", headers=HTML).text
        assert "4 Maret 1980" in page
        assert family.kk_number in page
        assert "Kepala keluarga" in page
        assert f'href="/residents/{wife.nik}"' in page
        assert "Terbit pertama" in page
        assert "Laki-laki" in page
        assert "Catat perkawinan" in page

    def test_other_regions_resident_is_refused_in_the_users_language(
        self, client: TestClient, session: Session, login_as: LoginAs
    ) -> None:
        theirs = make_resident(session, village_code=OTHER_REGENCY_VILLAGE)
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        response = client.get(f"/residents/{theirs.nik}", headers=HTML)
        assert response.status_code == 403
        assert heading(response.text) == "Akses ditolak"
        assert theirs.full_name not in response.text
        client.cookies.set("ektp_lang", "en")
        english = client.get(f"/residents/{theirs.nik}", headers=HTML)
        assert english.status_code == 403
        assert heading(english.text) == "Access refused"

    def test_unknown_nik_is_404(self, client: TestClient, login_as: LoginAs) -> None:
        login_as(Role.CENTRAL_ADMIN)
        response = client.get("/residents/3204051705900999", headers=HTML)
        assert response.status_code == 404
        assert heading(response.text) == "Tidak ditemukan"

    def test_malformed_nik_is_422_naming_the_rule(self, client: TestClient, login_as: LoginAs) -> None:
        login_as(Role.CENTRAL_ADMIN)
        response = client.get("/residents/12ab", headers=HTML)
        assert response.status_code == 422
        assert "nik" in response.text

    def test_reader_without_event_permission_sees_no_event_buttons(
        self, client: TestClient, session: Session, login_as: LoginAs
    ) -> None:
        resident = make_resident(session)
        login_as(Role.EXAMINER, "32.04")
        page = client.get(f"/residents/{resident.nik}", headers=HTML)
        assert page.status_code == 200
        assert "/events/" not in page.text


def _create_values(**overrides: str) -> dict[str, str]:
    values = {
        "nik": "",
        "full_name": "Putri Ayu Lestari",
        "birth_place": "Bandung",
        "birth_date": "2001-07-15",
        "sex": "P",
        "religion": "ISLAM",
        "marital_status": "BELUM_KAWIN",
        "blood_type": "O",
        "occupation": "Pelajar/Mahasiswa",
        "citizenship": "WNI",
        "permit_expiry": "",
        "street": "Jl. Cibiru No. 7",
        "rt": "3",
        "rw": "12",
        "district": "32.04.05",
        "village_code": "32.04.05.2001",
    }
    values.update(overrides)
    return values


class TestRegister:
    def test_form_needs_the_session_csrf_token(
        self, client: TestClient, session: Session, login_as: LoginAs
    ) -> None:
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        before = _count(session, Resident)
        response = client.post("/residents/new", data=_create_values(csrf_token="nope"), headers=HTML)
        assert response.status_code == 403
        assert _count(session, Resident) == before

    def test_registers_and_shows_the_new_resident(
        self, client: TestClient, session: Session, login_as: LoginAs
    ) -> None:
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        token = form_value(client.get("/residents/new", headers=HTML).text, "csrf_token")
        response = client.post(
            "/residents/new", data=_create_values(csrf_token=token), headers=HTML, follow_redirects=False
        )
        assert response.status_code == 303
        location = response.headers["location"]
        assert re.fullmatch(r"/residents/320405550701\d{4}\?notice=created", location)
        page = client.get(location, headers=HTML).text
        assert "PUTRI AYU LESTARI" in page
        assert "Penduduk telah didaftarkan." in page
        assert "15 Juli 2001" in page

    def test_refused_fields_are_shown_next_to_them(
        self, client: TestClient, session: Session, login_as: LoginAs
    ) -> None:
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        token = form_value(client.get("/residents/new", headers=HTML).text, "csrf_token")
        before = _count(session, Resident)
        response = client.post(
            "/residents/new",
            data=_create_values(csrf_token=token, full_name="Putri", birth_date="2999-01-01", rt="12345"),
            headers=HTML,
        )
        assert response.status_code == 422
        errors = field_errors(response.text)
        assert "rt" in errors
        assert _count(session, Resident) == before
        assert form_value(response.text, "full_name") == "Putri", "the values entered are kept"
        response = client.post(
            "/residents/new",
            data=_create_values(csrf_token=token, full_name="Putri", birth_date="2999-01-01"),
            headers=HTML,
        )
        errors = field_errors(response.text)
        assert errors["full_name"] == ["Tulis paling sedikit dua kata."]
        assert errors["birth_date"] == ["Tanggal tidak boleh di masa depan."]

    def test_nik_that_disagrees_with_the_birth_date_is_named(
        self, client: TestClient, session: Session, login_as: LoginAs
    ) -> None:
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        token = form_value(client.get("/residents/new", headers=HTML).text, "csrf_token")
        response = client.post(
            "/residents/new", data=_create_values(csrf_token=token, nik="3204055507020001"), headers=HTML
        )
        assert response.status_code == 422
        assert field_errors(response.text)["nik"] == ["NIK tidak sesuai dengan tanggal lahir."]

    def test_missing_village_is_named(self, client: TestClient, login_as: LoginAs) -> None:
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        token = form_value(client.get("/residents/new", headers=HTML).text, "csrf_token")
        response = client.post(
            "/residents/new",
            data=_create_values(csrf_token=token, village_code="", district=""),
            headers=HTML,
        )
        assert response.status_code == 422
        assert field_errors(response.text)["village_code"] == ["Pilih desa/kelurahan."]

    def test_refresh_fills_the_next_region_level_without_saving(
        self, client: TestClient, session: Session, login_as: LoginAs
    ) -> None:
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        token = form_value(client.get("/residents/new", headers=HTML).text, "csrf_token")
        before = _count(session, Resident)
        response = client.post(
            "/residents/new",
            data=_create_values(csrf_token=token, village_code="", refresh="1"),
            headers=HTML,
        )
        assert response.status_code == 200
        assert 'name="village_code"' in response.text
        assert field_errors(response.text) == {}
        assert _count(session, Resident) == before

    def test_reader_may_not_register(self, client: TestClient, login_as: LoginAs) -> None:
        login_as(Role.AUDITOR)
        assert client.get("/residents/new", headers=HTML).status_code == 403


class TestLifeEvents:
    def _token(self, client: TestClient, url: str) -> str:
        return form_value(client.get(url, headers=HTML).text, "csrf_token")

    def test_marriage_is_recorded_with_its_consequences(
        self, client: TestClient, session: Session, login_as: LoginAs
    ) -> None:
        groom = make_resident(session, name="JOKO SUSILO", birth_date=dt.date(1990, 1, 1))
        bride = make_resident(session, name="MAYA SARI", sex="P", birth_date=dt.date(1992, 2, 2))
        make_family(session, head=groom)
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        url = f"/residents/{groom.nik}/events/marriage"
        token = self._token(client, url)
        response = client.post(
            url,
            data={
                "csrf_token": token,
                "spouse_nik": bride.nik,
                "date": "2024-06-01",
                "household": "JOIN_HUSBAND",
            },
            headers=HTML,
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        page = client.get(response.headers["location"], headers=HTML).text
        assert "Peristiwa kependudukan telah dicatat." in page
        assert "Perkawinan" in page
        assert "1 Juni 2024" in page
        assert "Istri" in page
        assert (
            session.scalar(select(func.count()).select_from(LifeEvent).where(LifeEvent.kind == "MARRIAGE"))
            == 2
        )

    def test_refused_event_names_the_field_and_writes_nothing(
        self, client: TestClient, session: Session, login_as: LoginAs
    ) -> None:
        man = make_resident(session)
        other_man = make_resident(session)
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        url = f"/residents/{man.nik}/events/marriage"
        token = self._token(client, url)
        before = _count(session, LifeEvent)
        response = client.post(
            url, data={"csrf_token": token, "spouse_nik": other_man.nik, "date": "2024-06-01"}, headers=HTML
        )
        assert response.status_code == 422
        assert field_errors(response.text)["spouse_nik"] == [
            "Perkawinan dicatat antara seorang laki-laki dan seorang perempuan."
        ]
        assert _count(session, LifeEvent) == before
        unknown = client.post(
            url,
            data={"csrf_token": token, "spouse_nik": "3204054101900999", "date": "2024-06-01"},
            headers=HTML,
        )
        assert unknown.status_code == 422
        assert "spouse_nik" in field_errors(unknown.text)

    def test_death_closes_the_record_and_hides_the_event_buttons(
        self, client: TestClient, session: Session, login_as: LoginAs
    ) -> None:
        resident = make_resident(session, birth_date=dt.date(1940, 5, 5))
        make_family(session, head=resident)
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        url = f"/residents/{resident.nik}/events/death"
        token = self._token(client, url)
        response = client.post(url, data={"csrf_token": token, "date": "2024-02-29"}, headers=HTML)
        assert response.status_code == 200
        assert "Meninggal" in response.text
        assert "29 Februari 2024" in response.text
        assert "/events/" not in response.text

    def test_move_to_another_regency_raises_a_reissue_need(
        self, client: TestClient, session: Session, login_as: LoginAs
    ) -> None:
        resident = make_resident(session, birth_date=dt.date(1985, 8, 17))
        make_family(session, head=resident)
        login_as(Role.REGIONAL_OPERATOR, "32")
        url = f"/residents/{resident.nik}/events/move"
        form = client.get(url, headers=HTML).text
        assert 'name="regency"' in form
        token = form_value(form, "csrf_token")
        data = {
            "csrf_token": token,
            "regency": "32.73",
            "district": "32.73.01",
            "to_village_code": "32.73.01.1001",
            "street": "Jl. Dago 10",
            "rt": "1",
            "rw": "2",
            "date": "2024-03-01",
            "whole_family": "1",
        }
        response = client.post(url, data=data, headers=HTML)
        assert response.status_code == 200, response.text
        assert "Pindah datang" in response.text
        assert "Terbuka" in response.text
        assert session.scalar(select(func.count()).select_from(ReissueNeed)) >= 1
        session.expire_all()
        assert session.get(Resident, resident.id).village_code == "32.73.01.1001"  # type: ignore[union-attr]

    def test_unknown_event_kind_is_404(self, client: TestClient, session: Session, login_as: LoginAs) -> None:
        resident = make_resident(session)
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        assert client.get(f"/residents/{resident.nik}/events/adoption", headers=HTML).status_code == 404

    def test_event_on_another_regions_resident_is_refused(
        self, client: TestClient, session: Session, login_as: LoginAs
    ) -> None:
        theirs = make_resident(session, village_code=OTHER_REGENCY_VILLAGE)
        login = login_as(Role.REGIONAL_OPERATOR, "32.04")
        response = client.post(
            f"/residents/{theirs.nik}/events/death",
            data={"csrf_token": login.csrf_token, "date": "2024-01-01"},
            headers=HTML,
        )
        assert response.status_code == 403
        assert heading(response.text) == "Akses ditolak"
        events = select(func.count()).select_from(LifeEvent).where(LifeEvent.resident_id == theirs.id)
        assert session.scalar(events) == 0

    @pytest.mark.parametrize("role", [Role.EXAMINER, Role.AUDITOR, Role.VIEWER])
    def test_roles_without_event_permission_are_refused(
        self, client: TestClient, session: Session, login_as: LoginAs, role: Role
    ) -> None:
        resident = make_resident(session)
        login_as(role, "32.04")
        assert client.get(f"/residents/{resident.nik}/events/death", headers=HTML).status_code == 403
