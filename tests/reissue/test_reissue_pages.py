"""Re-issue screens: a refused form names the missing document; a request verified with a
synthetic capture of the resident is approved; a stranger's is refused."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ektp.abis.formats.cbeff import write_cbeff
from ektp.auth.permissions import Role
from ektp.config import Settings
from ektp.models.enrollment import EnrollmentStatus as S
from ektp.models.population import Resident
from ektp.models.reissue import ReissueRequest
from ektp.reissue import service
from ektp.reissue.verification import synthetic_sample
from tests.factories.auth import WebLogin, auth_headers, web_login
from tests.factories.enrollment import make_enrollment
from tests.factories.population import make_resident
from tests.suket.helpers import make_card
from tests.web.conftest import HTML, LoginAs, field_errors


@pytest.fixture
def login_as(client: TestClient, session: Session, settings: Settings) -> LoginAs:
    def login(role: Role = Role.REGIONAL_OPERATOR, region_code: str | None = None) -> WebLogin:
        done = web_login(session, settings, role, region_code)
        client.cookies.set("ektp_session", done.session_token)
        return done

    return login


def test_missing_document_named_then_verified(
    client: TestClient, session: Session, login_as: LoginAs
) -> None:
    login = login_as(Role.REGIONAL_OPERATOR, "32.04")
    resident = make_resident(session)
    make_enrollment(
        session, resident, status=S.CARD_ISSUED, payload=write_cbeff(synthetic_sample(resident.id, 0))
    )
    make_card(session, resident)
    session.commit()
    assert client.get("/reissue", headers=HTML).status_code == 200
    form = {"csrf_token": login.csrf_token, "nik": resident.nik, "reason": "LOST", "police_report_no": "LP/1"}
    refused = client.post("/reissue", data=form, headers=HTML)
    assert refused.status_code == 422
    assert "evidence.POLICE_REPORT" in field_errors(refused.text)
    form["police_report_date"] = "2026-11-20"
    made = client.post("/reissue", data=form, headers=HTML, follow_redirects=False)
    assert made.status_code == 303, made.text
    url = made.headers["location"].split("?")[0]
    assert 'data-testid="decide"' in client.get(url, headers=HTML).text
    decided = client.post(
        f"{url}/decide",
        data={"csrf_token": login.csrf_token, "synthetic": "same"},
        headers=HTML,
        follow_redirects=False,
    )
    assert decided.status_code == 303, decided.text
    page = client.get(url + "", headers=HTML).text
    assert 'data-status="APPROVED"' in page
    assert 'data-verification="PASSED"' in page


def test_region_rename_refused_on_the_form(client: TestClient, session: Session, login_as: LoginAs) -> None:
    login = login_as(Role.REGIONAL_OPERATOR, "32.04")
    resident = make_resident(session)
    make_card(session, resident)
    session.commit()
    refused = client.post(
        "/reissue",
        data={
            "csrf_token": login.csrf_token,
            "nik": resident.nik,
            "reason": "DATA_CHANGE",
            "old_card": "x",
            "supporting_kind": "REGION_RENAMED",
            "supporting_no": "UU 1/2026",
        },
        headers=HTML,
    )
    assert refused.status_code == 422
    assert any("renamed or split" in m for m in field_errors(refused.text).get("evidence", []))


def test_stranger_refused(client: TestClient, session: Session, login_as: LoginAs) -> None:
    login = login_as(Role.REGIONAL_OPERATOR, "32.04")
    resident = make_resident(session)
    make_enrollment(
        session, resident, status=S.CARD_ISSUED, payload=write_cbeff(synthetic_sample(resident.id, 0))
    )
    make_card(session, resident)
    session.commit()
    req = service.create(
        session,
        resident_id=resident.id,
        reason="DAMAGED",
        evidence=[service.EvidenceItem("DAMAGED_CARD", "x")],
        actor=_actor(session),
    )
    session.commit()
    client.post(
        f"/reissue/{req.id}/decide",
        data={"csrf_token": login.csrf_token, "synthetic": "stranger"},
        headers=HTML,
    )
    page = client.get(f"/reissue/{req.id}", headers=HTML).text
    assert 'data-status="REFUSED"' in page
    assert 'data-verification="FAILED"' in page


def _actor(session: Session):  # type: ignore[no-untyped-def]
    from tests.suket.helpers import operator

    return operator(session)


def _damaged_card_request(session: Session) -> tuple[Resident, ReissueRequest]:
    """A resident with a capture on record and a card, and a DAMAGED re-issue request of theirs."""
    resident = make_resident(session)
    make_enrollment(
        session, resident, status=S.CARD_ISSUED, payload=write_cbeff(synthetic_sample(resident.id, 0))
    )
    make_card(session, resident)
    req = service.create(
        session,
        resident_id=resident.id,
        reason="DAMAGED",
        evidence=[service.EvidenceItem("DAMAGED_CARD", "x")],
        actor=_actor(session),
    )
    return resident, req


def test_decide_with_uploaded_file(client: TestClient, session: Session, login_as: LoginAs) -> None:
    login = login_as(Role.REGIONAL_OPERATOR, "32.04")
    resident, req = _damaged_card_request(session)
    session.commit()
    fresh = write_cbeff(synthetic_sample(resident.id, 5))
    done = client.post(
        f"/reissue/{req.id}/decide",
        data={"csrf_token": login.csrf_token},
        files={"capture": ("capture.xml", fresh, "application/xml")},
        headers=HTML,
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert 'data-verification="PASSED"' in client.get(f"/reissue/{req.id}", headers=HTML).text


def test_synthetic_capture_cannot_pass_verification_where_not_allowed(
    client: TestClient, session: Session, login_as: LoginAs
) -> None:
    """In service a synthetic capture "of this resident" would pass the 1:1 check for anyone:
    it is neither offered nor accepted, on the form or in the API."""
    login = login_as(Role.REGIONAL_OPERATOR, "32.04")
    _resident, req = _damaged_card_request(session)
    session.commit()
    app_state = client.app.state  # type: ignore[attr-defined]
    app_state.settings = app_state.settings.model_copy(update={"allow_synthetic_capture": False})
    assert 'name="synthetic"' not in client.get(f"/reissue/{req.id}", headers=HTML).text
    refused = client.post(
        f"/reissue/{req.id}/decide", data={"csrf_token": login.csrf_token, "synthetic": "same"}, headers=HTML
    )
    assert refused.status_code == 422
    assert "EKTP_ALLOW_SYNTHETIC_CAPTURE" in refused.text
    api = client.post(
        f"/api/v1/reissue-requests/{req.id}/decision",
        json={"synthetic": "same"},
        headers=auth_headers(session, Role.REGIONAL_OPERATOR, "32.04"),
    )
    assert api.status_code == 422, api.text
    assert [(p["field"], p["rule"]) for p in api.json()["problems"]] == [("synthetic", "not_allowed")]
    page = client.get(f"/reissue/{req.id}", headers=HTML).text
    assert 'data-status="SUBMITTED"' in page
