"""Enrollment screens through the TestClient, in English: service points, the record form (file
upload and refusals shown next to their fields), a recording's page with its history and the
send action, a point's day; CSRF refused, readers may not record."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ektp.auth.permissions import Role
from ektp.kit.time import today_wib
from ektp.models.dedup import DedupJob
from ektp.models.enrollment import Enrollment, EnrollmentStatus, ServicePoint
from tests.factories.enrollment import make_enrollment, make_service_point
from tests.factories.population import make_resident
from tests.web.conftest import HTML, LoginAs, heading

EN = {**HTML}


def _en(client: TestClient) -> None:
    client.cookies.set("ektp_lang", "en")


class TestPointPages:
    def test_list_and_create_an_event(self, client: TestClient, session: Session, login_as: LoginAs) -> None:
        login = login_as(Role.REGIONAL_OPERATOR, "32.04")
        _en(client)
        page = client.get("/enrollment/points", headers=EN)
        assert page.status_code == 200
        assert heading(page.text) == "Service points"
        today = today_wib()
        response = client.post(
            "/enrollment/points",
            data={
                "csrf_token": login.csrf_token,
                "kind": "EVENT",
                "code": "32.04-EXPO-PG",
                "name": "Expo",
                "region_code": "32.04",
                "place": "Alun-alun",
                "daily_capacity": "50",
                "starts_on": today.isoformat(),
                "ends_on": (today + dt.timedelta(days=2)).isoformat(),
            },
            headers=EN,
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        assert (
            session.scalar(select(ServicePoint.kind).where(ServicePoint.code == "32.04-EXPO-PG")) == "EVENT"
        )
        day = client.get(response.headers["location"], headers=EN)
        assert "The service point has been saved." in day.text
        assert 'data-capacity="50"' in day.text

    def test_event_without_dates_shows_the_fields(self, client: TestClient, login_as: LoginAs) -> None:
        login = login_as(Role.REGIONAL_OPERATOR, "32.04")
        _en(client)
        response = client.post(
            "/enrollment/points",
            data={
                "csrf_token": login.csrf_token,
                "kind": "EVENT",
                "code": "X",
                "name": "X",
                "region_code": "32.04",
                "place": "P",
                "daily_capacity": "5",
            },
            headers=EN,
        )
        assert response.status_code == 422
        assert 'data-error-field="starts_on"' in response.text

    def test_post_without_csrf_is_refused(
        self, client: TestClient, session: Session, login_as: LoginAs
    ) -> None:
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        _en(client)
        response = client.post(
            "/enrollment/points",
            data={
                "kind": "OFFICE",
                "code": "NOCSRF",
                "name": "X",
                "region_code": "32.04",
                "place": "P",
                "daily_capacity": "5",
            },
            headers=EN,
        )
        assert response.status_code == 403
        assert session.scalar(select(ServicePoint.id).where(ServicePoint.code == "NOCSRF")) is None


class TestRecordPages:
    def test_record_and_send_by_file_upload(
        self, client: TestClient, session: Session, login_as: LoginAs, cbeff: bytes
    ) -> None:
        login = login_as(Role.REGIONAL_OPERATOR, "32.04")
        resident = make_resident(session)
        point = make_service_point(session, region_code="32.04")
        session.commit()
        _en(client)
        form = client.get(f"/enrollment/record?point={point.id}", headers=EN)
        assert form.status_code == 200
        assert heading(form.text) == "Record a resident"
        response = client.post(
            "/enrollment/record",
            data={
                "csrf_token": login.csrf_token,
                "nik": resident.nik,
                "service_point_id": str(point.id),
                "source": "file",
            },
            files={"capture_file": ("capture.xml", cbeff, "application/xml")},
            headers=EN,
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        enrollment = session.scalars(select(Enrollment).where(Enrollment.resident_id == resident.id)).one()
        assert enrollment.status == "SENT_FOR_ENROLLMENT"
        assert (
            session.scalar(
                select(func.count()).select_from(DedupJob).where(DedupJob.enrollment_id == enrollment.id)
            )
            == 1
        )
        page = client.get(response.headers["location"], headers=EN)
        assert "The recording has been saved and sent for enrollment." in page.text
        assert page.text.count('data-to="') == 2
        assert "Not decided yet" in page.text

    def test_missing_finger_is_shown_on_the_capture_field_and_the_exception_accepts_it(
        self, client: TestClient, session: Session, login_as: LoginAs, cbeff_nine_fingers: bytes
    ) -> None:
        login = login_as(Role.REGIONAL_OPERATOR, "32.04")
        resident = make_resident(session)
        point = make_service_point(session, region_code="32.04")
        session.commit()
        _en(client)
        data = {
            "csrf_token": login.csrf_token,
            "nik": resident.nik,
            "service_point_id": str(point.id),
            "source": "file",
        }
        files = {"capture_file": ("capture.xml", cbeff_nine_fingers, "application/xml")}
        refused = client.post("/enrollment/record", data=data, files=files, headers=EN)
        assert refused.status_code == 422
        assert 'data-field-error="capture">Right thumb was not captured' in refused.text
        accepted = client.post(
            "/enrollment/record",
            data={
                **data,
                "exc_trait_1": "finger:RIGHT_THUMB",
                "exc_reason_1": "AMPUTATED",
                "action": "record_only",
            },
            files=files,
            headers=EN,
            follow_redirects=False,
        )
        assert accepted.status_code == 303, accepted.text
        page = client.get(accepted.headers["location"], headers=EN)
        assert "Right thumb: Amputated" in page.text
        assert 'data-status="BIO_CAPTURED"' in page.text
        enrollment_id = int(accepted.headers["location"].split("/")[-1].split("?")[0])
        sent = client.post(
            f"/enrollment/recordings/{enrollment_id}/send",
            data={"csrf_token": login.csrf_token},
            headers=EN,
            follow_redirects=False,
        )
        assert sent.status_code == 303
        assert session.get(Enrollment, enrollment_id).status == "SENT_FOR_ENROLLMENT"  # type: ignore[union-attr]

    def test_synthetic_capture_is_neither_offered_nor_accepted_when_not_allowed(
        self, client: TestClient, session: Session, login_as: LoginAs
    ) -> None:
        login = login_as(Role.REGIONAL_OPERATOR, "32.04")
        resident = make_resident(session)
        point = make_service_point(session, region_code="32.04")
        session.commit()
        _en(client)
        assert 'value="synthetic"' in client.get("/enrollment/record", headers=EN).text
        app_state = client.app.state  # type: ignore[attr-defined]
        app_state.settings = app_state.settings.model_copy(update={"allow_synthetic_capture": False})
        assert 'value="synthetic"' not in client.get("/enrollment/record", headers=EN).text
        response = client.post(
            "/enrollment/record",
            data={
                "csrf_token": login.csrf_token,
                "nik": resident.nik,
                "service_point_id": str(point.id),
                "source": "synthetic",
                "identity_key": "3",
            },
            headers=EN,
        )
        assert response.status_code == 422
        assert "EKTP_ALLOW_SYNTHETIC_CAPTURE" in response.text
        assert session.scalar(select(func.count()).select_from(Enrollment)) == 0

    def test_bad_file_and_already_recorded(
        self, client: TestClient, session: Session, login_as: LoginAs, cbeff: bytes
    ) -> None:
        login = login_as(Role.REGIONAL_OPERATOR, "32.04")
        resident = make_resident(session)
        point = make_service_point(session, region_code="32.04")
        session.commit()
        _en(client)
        data = {
            "csrf_token": login.csrf_token,
            "nik": resident.nik,
            "service_point_id": str(point.id),
            "source": "file",
        }
        bad = client.post(
            "/enrollment/record",
            data=data,
            files={"capture_file": ("x.xml", b"<BIR>", "application/xml")},
            headers=EN,
        )
        assert bad.status_code == 422
        assert 'data-field-error="capture"' in bad.text
        make_enrollment(session, resident, status=EnrollmentStatus.PRINT_READY_RECORD, service_point=point)
        session.commit()
        again = client.post(
            "/enrollment/record",
            data=data,
            files={"capture_file": ("x.xml", cbeff, "application/xml")},
            headers=EN,
        )
        assert again.status_code == 409
        assert "already recorded" in again.text

    def test_reader_cannot_record_and_csrf_is_checked(
        self, client: TestClient, session: Session, login_as: LoginAs, cbeff: bytes
    ) -> None:
        login_as(Role.EXAMINER, "32.04")
        _en(client)
        assert client.get("/enrollment/record", headers=EN).status_code == 403
        assert client.get("/enrollment/points", headers=EN).status_code == 200
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        resident = make_resident(session)
        point = make_service_point(session, region_code="32.04")
        session.commit()
        response = client.post(
            "/enrollment/record",
            data={"nik": resident.nik, "service_point_id": str(point.id), "source": "file"},
            files={"capture_file": ("capture.xml", cbeff, "application/xml")},
            headers=EN,
        )
        assert response.status_code == 403
        assert (
            session.scalar(
                select(func.count()).select_from(Enrollment).where(Enrollment.resident_id == resident.id)
            )
            == 0
        )

    def test_day_page_filters_by_status(
        self, client: TestClient, session: Session, login_as: LoginAs
    ) -> None:
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        point = make_service_point(session, region_code="32.04", daily_capacity=7)
        when = dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)
        make_enrollment(
            session,
            make_resident(session),
            status=EnrollmentStatus.PRINT_READY_RECORD,
            service_point=point,
            captured_at=when,
        )
        make_enrollment(
            session,
            make_resident(session),
            status=EnrollmentStatus.SENT_FOR_ENROLLMENT,
            service_point=point,
            captured_at=when,
        )
        session.commit()
        _en(client)
        page = client.get(f"/enrollment/points/{point.id}?date=2026-11-21", headers=EN)
        assert 'data-total="2" data-capacity="7"' in page.text
        assert "2 of 7 recordings (5 places left)" in page.text
        filtered = client.get(
            f"/enrollment/points/{point.id}?date=2026-11-21&status=PRINT_READY_RECORD", headers=EN
        )
        assert filtered.text.count('<tr data-status="') == 1


def test_screens_render_in_the_default_language(
    client: TestClient, session: Session, login_as: LoginAs
) -> None:
    login_as(Role.REGIONAL_OPERATOR, "32.04")
    point = make_service_point(session, region_code="32.04")
    enrollment = make_enrollment(session, make_resident(session), service_point=point)
    session.commit()
    for path in (
        "/enrollment/points",
        "/enrollment/record",
        f"/enrollment/points/{point.id}",
        f"/enrollment/recordings/{enrollment.id}",
    ):
        assert client.get(path, headers=HTML).status_code == 200, path
    assert client.get("/enrollment", headers=HTML, follow_redirects=False).status_code == 303


def test_operator_changes_a_point_and_bad_capacity_is_shown(
    client: TestClient, session: Session, login_as: LoginAs
) -> None:
    login = login_as(Role.REGIONAL_OPERATOR, "32.04")
    point = make_service_point(session, region_code="32.04", daily_capacity=10)
    session.commit()
    _en(client)
    data = {"csrf_token": login.csrf_token, "name": "Kantor baru", "place": "Soreang", "daily_capacity": "0"}
    refused = client.post(f"/enrollment/points/{point.id}", data=data, headers=EN)
    assert refused.status_code == 422
    assert 'data-error-field="daily_capacity"' in refused.text
    done = client.post(
        f"/enrollment/points/{point.id}",
        data={**data, "daily_capacity": "25"},
        headers=EN,
        follow_redirects=False,
    )
    assert done.status_code == 303
    session.refresh(point)
    assert point.daily_capacity == 25
    assert point.name == "Kantor baru"
