"""The workbench screens through the TestClient, in English (``lang`` cookie)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ektp.auth.permissions import Role
from ektp.config import Settings
from ektp.models.enrollment import EnrollmentStatus
from tests.adjudication.helpers import make_pair
from tests.factories.auth import WebLogin, web_login

S = EnrollmentStatus
HTML = {"accept": "text/html"}


def _login(client: TestClient, session: Session, settings: Settings, role: Role = Role.EXAMINER) -> WebLogin:
    done = web_login(session, settings, role)
    client.cookies.set("ektp_session", done.session_token)
    client.cookies.set("ektp_lang", "en")
    return done


def test_queue_and_side_by_side(client: TestClient, session: Session, settings: Settings) -> None:
    pair = make_pair(session)
    session.commit()
    _login(client, session, settings)
    queue = client.get("/adjudication", headers=HTML)
    assert queue.status_code == 200
    assert f'data-enrollment="{pair.later.id}"' in queue.text
    case = client.get(f"/adjudication/{pair.later.id}", headers=HTML)
    assert case.status_code == 200
    assert 'data-trait="finger:RIGHT_THUMB"' in case.text
    assert "41.50" in case.text
    assert 'data-testid="fused-score">9.50' in case.text
    assert pair.earlier_resident.nik in case.text
    assert pair.later_resident.nik in case.text
    assert 'data-testid="photo"' in case.text


def test_own_declaration_cannot_be_confirmed(
    client: TestClient, session: Session, settings: Settings
) -> None:
    pair = make_pair(session)
    session.commit()
    login = _login(client, session, settings)
    url = f"/adjudication/{pair.later.id}/decide"
    first = client.post(
        url, data={"csrf_token": login.csrf_token, "decision": "declare_duplicate"}, headers=HTML
    )
    assert first.status_code == 200  # followed the redirect
    again = client.post(
        url, data={"csrf_token": login.csrf_token, "decision": "confirm_duplicate"}, headers=HTML
    )
    assert again.status_code == 409
    assert "second, different examiner" in again.text
    assert 'data-status="ADJUDICATE_RECORD"' in again.text


def test_not_same_without_reason_is_refused_then_prr(
    client: TestClient, session: Session, settings: Settings
) -> None:
    pair = make_pair(session)
    session.commit()
    login = _login(client, session, settings)
    url = f"/adjudication/{pair.later.id}/decide"
    refused = client.post(url, data={"csrf_token": login.csrf_token, "decision": "not_same"}, headers=HTML)
    assert refused.status_code == 422
    assert 'data-field-error="reason"' in refused.text
    done = client.post(
        url, data={"csrf_token": login.csrf_token, "decision": "not_same", "reason": "twins"}, headers=HTML
    )
    assert done.status_code == 200
    assert 'data-status="PRINT_READY_RECORD"' in done.text


def test_resolution_form(client: TestClient, session: Session, settings: Settings) -> None:
    pair = make_pair(session, status=S.DUPLICATE_RECORD)
    session.commit()
    login = _login(client, session, settings)
    listing = client.get("/adjudication/duplicates", headers=HTML)
    assert f'data-enrollment="{pair.later.id}"' in listing.text
    page = client.get(f"/adjudication/duplicates/{pair.later.id}", headers=HTML)
    assert page.status_code == 200
    assert 'data-testid="resolution-form"' in page.text
    url = f"/adjudication/duplicates/{pair.later.id}/resolve"
    refused = client.post(
        url, data={"csrf_token": login.csrf_token, "keep_enrollment_id": str(pair.earlier.id)}, headers=HTML
    )
    assert refused.status_code == 422
    for name in ("reason", "consent_given_by", "consent_date", "consent_reference"):
        assert f'data-field-error="{name}"' in refused.text
    done = client.post(
        url,
        data={
            "csrf_token": login.csrf_token,
            "keep_enrollment_id": str(pair.earlier.id),
            "reason": "second NIK",
            "consent_given_by": "SITI AMINAH",
            "consent_date": "2026-11-20",
            "consent_reference": "SP-1",
        },
        headers=HTML,
    )
    assert done.status_code == 200
    assert re.search(r'data-testid="case-status" data-status="RESOLVED"', done.text)
    assert 'data-status="REMOVED"' in done.text


def test_operator_gets_403(client: TestClient, session: Session, settings: Settings) -> None:
    _login(client, session, settings, Role.REGIONAL_OPERATOR)
    assert client.get("/adjudication", headers=HTML).status_code == 403
    assert client.get("/adjudication/duplicates", headers=HTML).status_code == 403
