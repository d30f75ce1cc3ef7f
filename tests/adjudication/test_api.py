"""The adjudication API: queue, side-by-side case, two-examiner rule, resolution, refusals."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ektp.auth.permissions import Role
from tests.adjudication.helpers import make_pair
from tests.factories.auth import auth_headers

API = "/api/v1/adjudication"


def test_queue_and_case(client: TestClient, session: Session) -> None:
    pair = make_pair(session)
    session.commit()
    headers = auth_headers(session, Role.EXAMINER)
    queue = client.get(f"{API}/queue", headers=headers)
    assert queue.status_code == 200
    assert [item["enrollment_id"] for item in queue.json()] == [pair.later.id]
    case = client.get(f"{API}/recordings/{pair.later.id}", headers=headers).json()
    assert case["other"]["recording"]["id"] == pair.earlier.id
    assert case["evidence"]["finger_scores"]["RIGHT_THUMB"] == 41.5
    assert case["subject"]["photo_available"] is False
    other_region = auth_headers(session, Role.EXAMINER, "32.73")
    assert client.get(f"{API}/recordings/{pair.later.id}", headers=other_region).status_code == 404


def test_operator_is_refused(client: TestClient, session: Session) -> None:
    pair = make_pair(session)
    session.commit()
    headers = auth_headers(session, Role.REGIONAL_OPERATOR)
    assert client.get(f"{API}/queue", headers=headers).status_code == 403
    answer = client.post(
        f"{API}/recordings/{pair.later.id}/decisions",
        json={"decision": "not_same", "reason": "x"},
        headers=headers,
    )
    assert answer.status_code == 403


def test_two_examiners_then_resolution(client: TestClient, session: Session) -> None:
    pair = make_pair(session)
    session.commit()
    a, b = auth_headers(session, Role.EXAMINER), auth_headers(session, Role.EXAMINER)
    url = f"{API}/recordings/{pair.later.id}/decisions"
    assert client.post(url, json={"decision": "declare_duplicate"}, headers=a).status_code == 201
    again = client.post(url, json={"decision": "confirm_duplicate"}, headers=a)
    assert again.status_code == 409
    assert "second, different examiner" in again.json()["message"]
    done = client.post(url, json={"decision": "confirm_duplicate"}, headers=b)
    assert done.status_code == 201
    assert done.json()["subject"]["recording"]["status"] == "DUPLICATE_RECORD"
    assert done.json()["duplicate_case"]["status"] == "OPEN"

    listed = client.get(f"{API}/duplicate-cases", headers=a).json()
    assert [(i["enrollment_id"], i["origin"]) for i in listed] == [(pair.later.id, "ADJUDICATION")]
    resolution = f"{API}/duplicate-cases/{pair.later.id}/resolution"
    refused = client.post(resolution, json={"keep_enrollment_id": pair.earlier.id}, headers=a)
    assert refused.status_code == 422
    fields = {p["field"] for p in refused.json()["problems"]}
    assert {"reason", "consent_given_by", "consent_date", "consent_reference"} <= fields
    resolved = client.post(
        resolution,
        json={
            "keep_enrollment_id": pair.earlier.id,
            "reason": "second NIK after pindah",
            "consent_given_by": "SITI AMINAH",
            "consent_date": "2026-11-20",
            "consent_reference": "SP-0042",
            "move_explanation": "moved from Bandung, new NIK issued by mistake",
        },
        headers=b,
    )
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert body["case"]["status"] == "RESOLVED"
    assert body["subject"]["recording"]["status"] == "REMOVED"
    assert body["other"]["recording"]["status"] == "PRINT_READY_RECORD"
    withdrawn = client.get(f"{API}/withdrawn-residents", headers=a).json()
    assert withdrawn[0]["withdrawn_nik"] == pair.later_resident.nik


def test_bad_input_is_a_clear_4xx(client: TestClient, session: Session) -> None:
    pair = make_pair(session)
    session.commit()
    headers = auth_headers(session, Role.EXAMINER)
    url = f"{API}/recordings/{pair.later.id}/decisions"
    assert client.post(url, json={"decision": "maybe"}, headers=headers).status_code == 422
    assert client.get(f"{API}/recordings/999999", headers=headers).status_code == 404
    assert client.get(f"{API}/duplicate-cases/{pair.later.id}", headers=headers).status_code == 404


def test_a_decision_on_a_stale_view_is_refused(client: TestClient, session: Session) -> None:
    pair = make_pair(session)
    session.commit()
    a, b = auth_headers(session, Role.EXAMINER), auth_headers(session, Role.EXAMINER)
    url = f"{API}/recordings/{pair.later.id}/decisions"
    seen = client.get(f"{API}/recordings/{pair.later.id}", headers=b).json()["next_seq"]
    assert (
        client.post(url, json={"decision": "declare_duplicate", "expected_seq": seen}, headers=a).status_code
        == 201
    )
    stale = client.post(
        url, json={"decision": "not_same", "reason": "twins", "expected_seq": seen}, headers=b
    )
    assert stale.status_code == 409
    assert stale.json()["problems"][0]["field"] == "expected_seq"
