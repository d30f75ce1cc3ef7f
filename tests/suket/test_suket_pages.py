"""Suket screens and API: issue by NIK, refusals, detail with PDF, renew refusal, cancel,
outstanding, and the public verification page / API (no login, nothing beyond the suket)."""

from __future__ import annotations

import io
import re

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy.orm import Session

from ektp.auth.permissions import Role
from ektp.config import Settings
from ektp.models.enrollment import EnrollmentStatus as S
from ektp.suket import service
from tests.factories.auth import WebLogin, auth_headers, web_login
from tests.suket.helpers import make_card, operator, recorded_resident
from tests.web.conftest import HTML, LoginAs, field_errors

EN = {**HTML, "cookie": "lang=en"}


@pytest.fixture
def login_as(client: TestClient, session: Session, settings: Settings) -> LoginAs:
    def login(role: Role = Role.REGIONAL_OPERATOR, region_code: str | None = None) -> WebLogin:
        done = web_login(session, settings, role, region_code)
        client.cookies.set("ektp_session", done.session_token)
        return done

    return login


def test_issue_page_flow(client: TestClient, session: Session, login_as: LoginAs) -> None:
    login = login_as(Role.REGIONAL_OPERATOR, "32.04")
    resident = recorded_resident(session)
    session.commit()
    assert client.get("/sukets?lang=en", headers=HTML).status_code == 200
    made = client.post(
        "/sukets",
        data={"csrf_token": login.csrf_token, "nik": resident.nik},
        headers=HTML,
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    detail = client.get(made.headers["location"].split("?")[0] + "?lang=en", headers=HTML)
    assert detail.status_code == 200
    assert 'data-state="VALID"' in detail.text
    number = re.search(r'data-testid="number">([^<]+)<', detail.text)
    assert number
    pdf_url = re.search(r'href="(/sukets/\d+/pdf)"', detail.text)
    assert pdf_url
    body = client.get(pdf_url.group(1))
    assert body.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(body.content)).pages[0].extract_text()
    assert number.group(1) in text
    assert resident.full_name in text
    # a second issue for the same resident is refused, naming the active suket
    again = client.post(
        "/sukets?lang=en", data={"csrf_token": login.csrf_token, "nik": resident.nik}, headers=HTML
    )
    assert again.status_code == 409
    assert "renew" in again.text
    # unknown NIK: the field is named
    unknown = client.post(
        "/sukets", data={"csrf_token": login.csrf_token, "nik": "0000000000000000"}, headers=HTML
    )
    assert unknown.status_code == 422
    assert "nik" in field_errors(unknown.text)


def test_renew_refused_then_cancel(client: TestClient, session: Session, login_as: LoginAs) -> None:
    login = login_as(Role.REGIONAL_OPERATOR, "32.04")
    suket = service.issue(session, resident_id=recorded_resident(session).id, actor=operator(session))
    session.commit()
    renew = client.post(f"/sukets/{suket.id}/renew", data={"csrf_token": login.csrf_token}, headers=HTML)
    assert renew.status_code == 409
    cancel = client.post(
        f"/sukets/{suket.id}/cancel",
        data={"csrf_token": login.csrf_token, "reason": "error"},
        headers=HTML,
        follow_redirects=False,
    )
    assert cancel.status_code == 303
    assert 'data-state="CANCELLED"' in client.get(f"/sukets/{suket.id}", headers=HTML).text


def test_outstanding_page_and_api(client: TestClient, session: Session, login_as: LoginAs) -> None:
    login_as(Role.REGIONAL_OPERATOR, "32.04")
    service.issue(session, resident_id=recorded_resident(session).id, actor=operator(session))
    session.commit()
    page = client.get("/sukets/outstanding?lang=en", headers=HTML)
    assert page.status_code == 200
    assert 'data-region="32.04"' in page.text
    headers = auth_headers(session, Role.REGIONAL_OPERATOR)
    rows = client.get("/api/v1/sukets/outstanding", headers=headers).json()
    assert rows[0]["region_code"] == "32.04"
    assert rows[0]["buckets"]["0-1"] >= 1


def test_api_issue_and_public_verification(client: TestClient, session: Session) -> None:
    headers = auth_headers(session, Role.REGIONAL_OPERATOR)
    resident = recorded_resident(session, S.ADJUDICATE_RECORD)
    resident.blood_type = "AB"
    session.commit()
    made = client.post("/api/v1/sukets", json={"resident_id": resident.id}, headers=headers)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["cause"] == "RECORD_WAITING"
    token = body["verify_url"].rsplit("/", 1)[1]
    client.cookies.clear()
    public = client.get(f"/api/v1/verify/suket/{token}")
    assert public.status_code == 200
    assert public.json() == {
        "state": "VALID",
        "number": body["number"],
        "name": resident.full_name,
        "nik": resident.nik,
        "issued_on": body["issued_on"],
        "valid_until": body["valid_until"],
    }
    page = client.get(f"/verify/suket/{token}?lang=en", headers=HTML)
    assert page.status_code == 200
    assert 'data-state="VALID"' in page.text
    assert body["number"] in page.text
    # nothing beyond the suket: no address, birth data, mother, status code, issuer
    for secret in (resident.street, resident.birth_place, "AB", "ADJUDICATE_RECORD", body["issued_by"]):
        assert secret not in page.text.split("<main", 1)[-1]
    tampered = client.get(f"/verify/suket/{token[:-3]}xyz", headers=HTML)
    assert tampered.status_code == 404
    assert 'data-state="INVALID"' in tampered.text
    assert client.get(f"/api/v1/verify/suket/{token}x").json()["state"] == "INVALID"
    # the card is printed: the suket is replaced
    card = make_card(session, resident)
    suket = service.by_number(session, body["number"])
    assert suket is not None
    suket.status, suket.replaced_by_card_id = "REPLACED", card.id
    session.commit()
    assert client.get(f"/api/v1/verify/suket/{token}").json()["state"] == "REPLACED"


def test_other_region_cannot_read(client: TestClient, session: Session) -> None:
    suket = service.issue(session, resident_id=recorded_resident(session).id, actor=operator(session))
    session.commit()
    other = auth_headers(session, Role.REGIONAL_OPERATOR, "32.73")
    assert client.get(f"/api/v1/sukets/{suket.id}", headers=other).status_code == 403
    assert client.get(f"/api/v1/sukets/{suket.id}/pdf", headers=other).status_code == 403


def test_api_renew_cancel_and_refusals(client: TestClient, session: Session) -> None:
    headers = auth_headers(session, Role.REGIONAL_OPERATOR)
    resident = recorded_resident(session)
    session.commit()
    made = client.post("/api/v1/sukets", json={"resident_id": resident.id}, headers=headers).json()
    assert (
        client.post("/api/v1/sukets", json={"resident_id": resident.id}, headers=headers).status_code == 409
    )
    assert client.post(f"/api/v1/sukets/{made['id']}/renewal", headers=headers).status_code == 409
    assert (
        client.post(f"/api/v1/sukets/{made['id']}/cancel", json={"reason": ""}, headers=headers).status_code
        == 422
    )
    cancelled = client.post(f"/api/v1/sukets/{made['id']}/cancel", json={"reason": "salah"}, headers=headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "CANCELLED"
    listed = client.get(f"/api/v1/sukets?resident_id={resident.id}", headers=headers).json()
    assert [s["status"] for s in listed] == ["CANCELLED"]
    reader = auth_headers(session, Role.EXAMINER)
    assert client.post("/api/v1/sukets", json={"resident_id": resident.id}, headers=reader).status_code == 403
    assert client.post("/api/v1/sukets", json={"resident_id": 0}, headers=headers).status_code == 422
