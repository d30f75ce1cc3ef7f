"""Enrollment API: service points and recordings (JSON base64, multipart upload, synthetic), every
refusal naming its field and rule, the send that queues exactly one dedup job, the history."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ektp.abis.types import BiometricSample, EyePosition, FingerPosition
from ektp.auth.permissions import Role
from ektp.enrollment.capture import TraitException, quality_gate
from ektp.kit.errors import ValidationFailed
from ektp.kit.time import today_wib
from ektp.models.audit import AuditEntry
from ektp.models.dedup import DedupJob
from ektp.models.enrollment import (
    BiometricCapture,
    CaptureFormat,
    Enrollment,
    EnrollmentStatus,
    EnrollmentStatusChange,
    ServicePointKind,
)
from tests.factories.auth import auth_headers
from tests.factories.enrollment import make_enrollment, make_service_point
from tests.factories.population import make_resident

API = "/api/v1/enrollment"
S = EnrollmentStatus


@pytest.fixture
def operator(session: Session) -> dict[str, str]:
    return auth_headers(session, Role.REGIONAL_OPERATOR, "32.04")


def _problems(response: Any) -> list[tuple[str, str]]:
    return [(p["field"], p["rule"]) for p in response.json()["problems"]]


def _body(nik: str, point_id: int, capture_b64: str, **extra: Any) -> dict[str, Any]:
    return {"nik": nik, "service_point_id": point_id, "capture_base64": capture_b64, **extra}


class TestServicePoints:
    def test_operator_creates_lists_updates_and_deactivates(
        self, client: TestClient, session: Session, operator: dict[str, str]
    ) -> None:
        created = client.post(
            f"{API}/points",
            json={
                "code": "32.04-EXPO-T1",
                "kind": "EVENT",
                "name": "Expo",
                "region_code": "32.04",
                "place": "Alun-alun",
                "daily_capacity": 300,
                "starts_on": "2026-11-20",
                "ends_on": "2026-11-25",
            },
            headers=operator,
        )
        assert created.status_code == 201, created.text
        point_id = created.json()["id"]
        listed = client.get(f"{API}/points", params={"kind": "EVENT"}, headers=operator)
        assert point_id in [p["id"] for p in listed.json()]
        patched = client.patch(f"{API}/points/{point_id}", json={"daily_capacity": 250}, headers=operator)
        assert patched.json()["daily_capacity"] == 250
        gone = client.post(f"{API}/points/{point_id}/deactivate", headers=operator)
        assert gone.json()["active"] is False
        actions = session.scalars(
            select(AuditEntry.action).where(
                AuditEntry.entity_type == "service_point", AuditEntry.entity_id == str(point_id)
            )
        ).all()
        assert list(actions) == ["service_point.create", "service_point.update", "service_point.deactivate"]

    def test_event_without_dates_and_office_with_end_are_refused(
        self, client: TestClient, operator: dict[str, str]
    ) -> None:
        base = {"name": "X", "region_code": "32.04", "place": "P", "daily_capacity": 10}
        event = client.post(f"{API}/points", json={**base, "code": "E-1", "kind": "EVENT"}, headers=operator)
        assert event.status_code == 422
        assert ("starts_on", "required") in _problems(event)
        office = client.post(
            f"{API}/points",
            json={**base, "code": "O-1", "kind": "OFFICE", "ends_on": "2026-12-01"},
            headers=operator,
        )
        assert ("ends_on", "office_no_end") in _problems(office)

    def test_other_region_is_refused(
        self, client: TestClient, operator: dict[str, str], session: Session
    ) -> None:
        response = client.post(
            f"{API}/points",
            json={
                "code": "X-73",
                "kind": "OFFICE",
                "name": "X",
                "region_code": "32.73",
                "place": "P",
                "daily_capacity": 5,
            },
            headers=operator,
        )
        assert response.status_code == 403
        other = make_service_point(session, region_code="32.73")
        session.commit()
        assert client.get(f"{API}/points/{other.id}", headers=operator).status_code == 403


class TestRecording:
    def test_record_and_send_with_history_capture_and_one_job(
        self, client: TestClient, session: Session, operator: dict[str, str], cbeff: bytes, cbeff_b64: str
    ) -> None:
        resident = make_resident(session)
        point = make_service_point(session, region_code="32.04")
        session.commit()
        response = client.post(
            f"{API}/recordings", json=_body(resident.nik, point.id, cbeff_b64), headers=operator
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["status"] == "SENT_FOR_ENROLLMENT"
        assert body["biometric_ref"] == f"E{body['id']:09d}"
        assert [(h["from_status"], h["to_status"]) for h in body["history"]] == [
            (None, "BIO_CAPTURED"),
            ("BIO_CAPTURED", "SENT_FOR_ENROLLMENT"),
        ]
        assert body["quality"]["fingers"] == 10
        assert body["quality"]["face"] is True
        assert body["capture"]["format"] == "CBEFF_XML"
        assert body["capture"]["size_bytes"] == len(cbeff)
        assert body["seconds_to_decision"] is None
        jobs = session.scalars(select(DedupJob).where(DedupJob.enrollment_id == body["id"])).all()
        assert len(jobs) == 1
        assert jobs[0].state == "WAITING"
        stored = session.get(BiometricCapture, body["id"])
        assert stored is not None
        assert stored.payload == cbeff
        actions = session.scalars(
            select(AuditEntry.action).where(
                AuditEntry.entity_type == "enrollment", AuditEntry.entity_id == str(body["id"])
            )
        ).all()
        assert list(actions) == ["enrollment.record", "enrollment.send"]

    def test_record_only_then_send_separately(
        self, client: TestClient, session: Session, operator: dict[str, str], cbeff_b64: str
    ) -> None:
        resident = make_resident(session)
        point = make_service_point(session, region_code="32.04")
        session.commit()
        made = client.post(
            f"{API}/recordings", json=_body(resident.nik, point.id, cbeff_b64, send=False), headers=operator
        ).json()
        assert made["status"] == "BIO_CAPTURED"
        assert (
            session.scalar(
                select(func.count()).select_from(DedupJob).where(DedupJob.enrollment_id == made["id"])
            )
            == 0
        )
        sent = client.post(f"{API}/recordings/{made['id']}/send", headers=operator)
        assert sent.json()["status"] == "SENT_FOR_ENROLLMENT"
        again = client.post(f"{API}/recordings/{made['id']}/send", headers=operator)
        assert again.status_code == 409
        assert (
            session.scalar(
                select(func.count()).select_from(DedupJob).where(DedupJob.enrollment_id == made["id"])
            )
            == 1
        )

    def test_multipart_upload_of_an_iso_record(
        self, client: TestClient, session: Session, operator: dict[str, str], fmr: bytes
    ) -> None:
        resident = make_resident(session)
        point = make_service_point(session, region_code="32.04")
        session.commit()
        response = client.post(
            f"{API}/recordings/upload",
            data={"nik": resident.nik, "service_point_id": str(point.id), "send": "false"},
            files={"capture": ("finger.fmr", fmr, "application/octet-stream")},
            headers=operator,
        )
        assert response.status_code == 201, response.text
        assert response.json()["capture"]["format"] == "ISO_19794_2"
        assert response.json()["quality"]["expects"] == ["finger"]

    def test_synthetic_capture(self, client: TestClient, session: Session, operator: dict[str, str]) -> None:
        resident = make_resident(session)
        point = make_service_point(session, region_code="32.04")
        session.commit()
        response = client.post(
            f"{API}/recordings",
            json={"nik": resident.nik, "service_point_id": point.id, "synthetic": {"identity_key": 3}},
            headers=operator,
        )
        # a generated person may lack a trait: then the refusal names it
        assert response.status_code in (201, 422), response.text

    def test_synthetic_capture_is_refused_outside_demo_and_test_installations(
        self, client: TestClient, session: Session, operator: dict[str, str]
    ) -> None:
        resident = make_resident(session)
        point = make_service_point(session, region_code="32.04")
        session.commit()
        app_state = client.app.state  # type: ignore[attr-defined]
        app_state.settings = app_state.settings.model_copy(update={"allow_synthetic_capture": False})
        response = client.post(
            f"{API}/recordings",
            json={"nik": resident.nik, "service_point_id": point.id, "synthetic": {"identity_key": 3}},
            headers=operator,
        )
        assert response.status_code == 422, response.text
        assert _problems(response) == [("synthetic", "not_allowed")]
        assert "EKTP_ALLOW_SYNTHETIC_CAPTURE" in response.json()["problems"][0]["message"]
        assert session.scalar(select(func.count()).select_from(Enrollment)) == 0

    def test_bad_xml_names_the_field(
        self, client: TestClient, session: Session, operator: dict[str, str]
    ) -> None:
        resident = make_resident(session)
        point = make_service_point(session, region_code="32.04")
        session.commit()
        bad = base64.b64encode(b"<BIR><BIR>unclosed").decode()
        response = client.post(f"{API}/recordings", json=_body(resident.nik, point.id, bad), headers=operator)
        assert response.status_code == 422
        ((field, rule),) = _problems(response)
        assert field.startswith("capture")
        assert rule == "format"
        assert (
            session.scalar(
                select(func.count()).select_from(Enrollment).where(Enrollment.resident_id == resident.id)
            )
            == 0
        )

    def test_truncated_iso_record_names_the_field(
        self, client: TestClient, session: Session, operator: dict[str, str], fmr: bytes
    ) -> None:
        resident = make_resident(session)
        point = make_service_point(session, region_code="32.04")
        session.commit()
        response = client.post(
            f"{API}/recordings/upload",
            data={"nik": resident.nik, "service_point_id": str(point.id)},
            files={"capture": ("finger.fmr", fmr[: len(fmr) // 2], "application/octet-stream")},
            headers=operator,
        )
        assert response.status_code == 422
        field, rule = _problems(response)[0]
        assert field.startswith("capture.")
        assert rule == "format"
        assert "ISO_19794_2" in response.json()["message"]

    def test_bad_base64(self, client: TestClient, session: Session, operator: dict[str, str]) -> None:
        resident = make_resident(session)
        point = make_service_point(session, region_code="32.04")
        session.commit()
        response = client.post(
            f"{API}/recordings", json=_body(resident.nik, point.id, "***"), headers=operator
        )
        assert _problems(response) == [("capture_base64", "base64")]

    def test_capacity_full(
        self, client: TestClient, session: Session, operator: dict[str, str], cbeff_b64: str
    ) -> None:
        point = make_service_point(session, region_code="32.04", daily_capacity=1)
        first, second = make_resident(session), make_resident(session)
        session.commit()
        assert (
            client.post(
                f"{API}/recordings", json=_body(first.nik, point.id, cbeff_b64), headers=operator
            ).status_code
            == 201
        )
        full = client.post(f"{API}/recordings", json=_body(second.nik, point.id, cbeff_b64), headers=operator)
        assert full.status_code == 409
        assert _problems(full) == [("service_point_id", "capacity")]
        assert "1 of 1" in full.json()["message"]

    def test_event_outside_its_dates(
        self, client: TestClient, session: Session, operator: dict[str, str], cbeff_b64: str
    ) -> None:
        past = today_wib() - dt.timedelta(days=10)
        point = make_service_point(
            session,
            region_code="32.04",
            kind=ServicePointKind.EVENT,
            starts_on=past,
            ends_on=past + dt.timedelta(days=2),
        )
        resident = make_resident(session)
        session.commit()
        response = client.post(
            f"{API}/recordings", json=_body(resident.nik, point.id, cbeff_b64), headers=operator
        )
        assert response.status_code == 409
        assert _problems(response) == [("service_point_id", "event_dates")]

    def test_resident_already_recorded(
        self, client: TestClient, session: Session, operator: dict[str, str], cbeff_b64: str
    ) -> None:
        resident = make_resident(session)
        point = make_service_point(session, region_code="32.04")
        make_enrollment(session, resident, status=S.PRINT_READY_RECORD, service_point=point)
        session.commit()
        response = client.post(
            f"{API}/recordings", json=_body(resident.nik, point.id, cbeff_b64), headers=operator
        )
        assert response.status_code == 409
        assert _problems(response) == [("nik", "already_recorded")]
        assert "already recorded" in response.json()["message"]
        assert "re-issue" in response.json()["message"]

    def test_after_an_enroll_failure_the_resident_may_record_again(
        self, client: TestClient, session: Session, operator: dict[str, str], cbeff_b64: str
    ) -> None:
        resident = make_resident(session)
        point = make_service_point(session, region_code="32.04")
        make_enrollment(session, resident, status=S.ENROLL_FAILURE, service_point=point)
        session.commit()
        response = client.post(
            f"{API}/recordings", json=_body(resident.nik, point.id, cbeff_b64), headers=operator
        )
        assert response.status_code == 201

    def test_missing_finger_without_exception_is_refused(
        self, client: TestClient, session: Session, operator: dict[str, str], cbeff_nine_fingers: bytes
    ) -> None:
        resident = make_resident(session)
        point = make_service_point(session, region_code="32.04")
        session.commit()
        b64 = base64.b64encode(cbeff_nine_fingers).decode()
        response = client.post(f"{API}/recordings", json=_body(resident.nik, point.id, b64), headers=operator)
        assert response.status_code == 422
        assert _problems(response) == [("capture.finger:RIGHT_THUMB", "missing")]

    def test_missing_finger_with_exception_is_accepted_and_stored(
        self, client: TestClient, session: Session, operator: dict[str, str], cbeff_nine_fingers: bytes
    ) -> None:
        resident = make_resident(session)
        point = make_service_point(session, region_code="32.04")
        session.commit()
        exception = {"trait": "finger:RIGHT_THUMB", "reason": "AMPUTATED", "note": "sejak 2010"}
        response = client.post(
            f"{API}/recordings/upload",
            data={
                "nik": resident.nik,
                "service_point_id": str(point.id),
                "exceptions": json.dumps([exception]),
            },
            files={"capture": ("capture.xml", cbeff_nine_fingers, "application/xml")},
            headers=operator,
        )
        assert response.status_code == 201, response.text
        assert response.json()["exceptions"] == [exception]
        assert response.json()["quality"]["fingers"] == 9

    def test_unknown_exception_reason_and_unneeded_exception(
        self, client: TestClient, session: Session, operator: dict[str, str], cbeff_b64: str
    ) -> None:
        resident = make_resident(session)
        point = make_service_point(session, region_code="32.04")
        session.commit()
        unneeded = [{"trait": "face", "reason": "OTHER", "note": "x"}]
        response = client.post(
            f"{API}/recordings",
            json=_body(resident.nik, point.id, cbeff_b64, exceptions=unneeded),
            headers=operator,
        )
        assert _problems(response) == [("exceptions[0].trait", "not_needed")]
        other = [{"trait": "face", "reason": "OTHER"}]
        response = client.post(
            f"{API}/recordings",
            json=_body(resident.nik, point.id, cbeff_b64, exceptions=other),
            headers=operator,
        )
        assert ("exceptions[0].note", "required") in _problems(response)

    def test_other_region_principal_is_refused(
        self, client: TestClient, session: Session, cbeff_b64: str
    ) -> None:
        outsider = auth_headers(session, Role.REGIONAL_OPERATOR, "32.73")
        resident = make_resident(session)
        point = make_service_point(session, region_code="32.04")
        session.commit()
        response = client.post(
            f"{API}/recordings", json=_body(resident.nik, point.id, cbeff_b64), headers=outsider
        )
        assert response.status_code == 403

    def test_reader_may_not_record_and_dead_resident_is_refused(
        self, client: TestClient, session: Session, operator: dict[str, str], cbeff_b64: str
    ) -> None:
        examiner = auth_headers(session, Role.EXAMINER, "32.04")
        dead = make_resident(session, death_date=dt.date(2025, 1, 1))
        point = make_service_point(session, region_code="32.04")
        session.commit()
        assert (
            client.post(
                f"{API}/recordings", json=_body(dead.nik, point.id, cbeff_b64), headers=examiner
            ).status_code
            == 403
        )
        response = client.post(
            f"{API}/recordings", json=_body(dead.nik, point.id, cbeff_b64), headers=operator
        )
        assert _problems(response) == [("nik", "alive")]

    def test_unknown_nik(
        self, client: TestClient, session: Session, operator: dict[str, str], cbeff_b64: str
    ) -> None:
        point = make_service_point(session, region_code="32.04")
        session.commit()
        response = client.post(
            f"{API}/recordings", json=_body("3204011705900999", point.id, cbeff_b64), headers=operator
        )
        assert response.status_code == 404
        assert _problems(response) == [("nik", "exists")]


class TestReading:
    def test_time_to_decision_and_day_sheet(
        self, client: TestClient, session: Session, operator: dict[str, str]
    ) -> None:
        point = make_service_point(session, region_code="32.04", daily_capacity=10)
        when = dt.datetime(2026, 11, 21, 3, 0, 0, tzinfo=dt.UTC)
        decided = make_enrollment(
            session,
            make_resident(session),
            status=S.PRINT_READY_RECORD,
            service_point=point,
            captured_at=when,
        )
        waiting = make_enrollment(
            session,
            make_resident(session),
            status=S.SENT_FOR_ENROLLMENT,
            service_point=point,
            captured_at=when,
        )
        session.commit()
        detail = client.get(f"{API}/recordings/{decided.id}", headers=operator).json()
        assert detail["seconds_to_decision"] is not None
        assert detail["seconds_to_decision"] >= 0
        assert len(detail["history"]) == 3
        sheet = client.get(f"{API}/points/{point.id}/days/2026-11-21", headers=operator).json()
        assert sheet["total"] == 2
        assert sheet["daily_capacity"] == 10
        assert sheet["remaining"] == 8
        assert sheet["by_status"] == {"PRINT_READY_RECORD": 1, "SENT_FOR_ENROLLMENT": 1}
        only = client.get(
            f"{API}/points/{point.id}/days/2026-11-21",
            params={"status": "SENT_FOR_ENROLLMENT"},
            headers=operator,
        ).json()
        assert [i["id"] for i in only["items"]] == [waiting.id]
        listed = client.get(
            f"{API}/recordings", params={"resident_id": waiting.resident_id}, headers=operator
        )
        assert [r["id"] for r in listed.json()] == [waiting.id]
        history_rows = session.scalar(
            select(func.count())
            .select_from(EnrollmentStatusChange)
            .where(EnrollmentStatusChange.enrollment_id == waiting.id)
        )
        assert history_rows == 2


def test_quality_gate_names_each_failing_trait(sample: BiometricSample) -> None:
    """Pure gate: a poor impression and a missing iris are each named; exceptions accept them."""
    poor = dataclasses.replace(sample.fingers[FingerPosition.LEFT_INDEX], impression_quality=10)
    fingers = {**sample.fingers, FingerPosition.LEFT_INDEX: poor}
    irises = {EyePosition.RIGHT: sample.irises[EyePosition.RIGHT]}
    probe = BiometricSample(fingers=fingers, irises=irises, face=sample.face)
    with pytest.raises(ValidationFailed) as refused:
        quality_gate(probe, CaptureFormat.CBEFF_XML, [])
    assert [(p.field, p.rule) for p in refused.value.problems] == [
        ("capture.finger:LEFT_INDEX", "low_quality"),
        ("capture.iris:LEFT", "missing"),
    ]
    accepted = quality_gate(
        probe,
        CaptureFormat.CBEFF_XML,
        [TraitException("finger:LEFT_INDEX", "SCARRED"), TraitException("iris:LEFT", "PERMANENT_DISABILITY")],
    )
    assert accepted["irises"] == 1
    assert accepted["failing"] == [
        {"trait": "finger:LEFT_INDEX", "rule": "low_quality"},
        {"trait": "iris:LEFT", "rule": "missing"},
    ]
