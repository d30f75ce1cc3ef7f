"""Printing screens through the TestClient (English): the queue with quota and stock, printing
from it, refusals shown on the page, spoil, the card page with issue / report and its PDF."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ektp.auth.permissions import Role
from ektp.config import Settings
from ektp.models.cards import Card
from tests.factories.auth import WebLogin, web_login
from tests.factories.blanko import location
from tests.printing.helpers import REGION, prr, stock
from tests.web.conftest import HTML, LoginAs


@pytest.fixture
def login_as(client: TestClient, session: Session, settings: Settings) -> LoginAs:
    def login(role: Role = Role.REGIONAL_OPERATOR, region_code: str | None = None) -> WebLogin:
        done = web_login(session, settings, role, region_code)
        client.cookies.set("ektp_session", done.session_token)
        return done

    return login


def test_operator_prints_issues_and_reports(client: TestClient, session: Session, login_as: LoginAs) -> None:
    login = login_as(Role.REGIONAL_OPERATOR, REGION)
    client.cookies.set("ektp_lang", "en")
    stock(session, 3)
    enrollment = prr(session)
    session.commit()
    home = client.get("/printing", headers=HTML, follow_redirects=False)
    assert home.status_code == 303
    assert home.headers["location"] == f"/printing/regions/{REGION}"
    page = client.get(
        f"/printing/regions/{REGION}",
        headers=HTML,
    )
    assert page.status_code == 200
    assert "Print queue" in page.text
    assert f'data-item="recording:{enrollment.id}"' in page.text
    assert "Printing" in page.text  # nav
    done = client.post(
        f"/printing/regions/{REGION}/print",
        data={"csrf_token": login.csrf_token, "item": f"recording:{enrollment.id}"},
        headers=HTML,
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    card_url = done.headers["location"].split("?")[0]
    card_page = client.get(card_url, headers=HTML, params={"notice": "card_printed"})
    assert "The card has been printed." in card_page.text
    assert 'data-testid="status">Printed' in card_page.text
    again = client.post(
        f"/printing/regions/{REGION}/print",
        data={"csrf_token": login.csrf_token, "item": f"recording:{enrollment.id}"},
        headers=HTML,
    )
    assert again.status_code == 409
    assert "PRINT_READY_RECORD" in again.text
    issued = client.post(f"{card_url}/issue", data={"csrf_token": login.csrf_token}, headers=HTML)
    assert issued.status_code == 200
    assert 'data-testid="status">Issued' in issued.text
    missing_reason = client.post(
        f"{card_url}/report",
        data={"csrf_token": login.csrf_token, "status": "LOST", "reason": ""},
        headers=HTML,
    )
    assert missing_reason.status_code == 422
    reported = client.post(
        f"{card_url}/report",
        data={"csrf_token": login.csrf_token, "status": "LOST", "reason": "pickpocket"},
        headers=HTML,
    )
    assert 'data-testid="status">Lost' in reported.text
    document = client.get(f"{card_url}/card.pdf", headers=HTML)
    assert document.headers["content-type"] == "application/pdf"
    preview = client.get(f"/printing/residents/{enrollment.resident_id}/preview.pdf", headers=HTML)
    assert preview.headers["content-type"] == "application/pdf"
    spoiled = client.post(
        f"/printing/regions/{REGION}/spoil",
        data={"csrf_token": login.csrf_token, "reason": "MISPRINT", "note": "smudge"},
        headers=HTML,
        follow_redirects=False,
    )
    assert spoiled.status_code == 303
    card = session.get(Card, int(card_url.rsplit("/", 1)[1]))
    assert card is not None


def test_empty_stock_is_explained_on_the_page(
    client: TestClient, session: Session, login_as: LoginAs
) -> None:
    login = login_as(Role.REGIONAL_OPERATOR, REGION)
    client.cookies.set("ektp_lang", "en")
    location(session, "CENTRE")
    enrollment = prr(session)
    session.commit()
    refused = client.post(
        f"/printing/regions/{REGION}/print",
        data={"csrf_token": login.csrf_token, "item": f"recording:{enrollment.id}"},
        headers=HTML,
    )
    assert refused.status_code == 409
    assert "suket" in refused.text


def test_other_region_and_roles_are_refused(client: TestClient, login_as: LoginAs) -> None:
    login_as(Role.REGIONAL_OPERATOR, "31.71")
    assert client.get(f"/printing/regions/{REGION}", headers=HTML).status_code == 404
    login = login_as(Role.EXAMINER, REGION)
    assert client.get(f"/printing/regions/{REGION}", headers=HTML).status_code == 200
    refused = client.post(
        f"/printing/regions/{REGION}/print", data={"csrf_token": login.csrf_token}, headers=HTML
    )
    assert refused.status_code == 403


def test_operator_sets_the_daily_quota_and_a_bad_value_is_shown_on_the_field(
    client: TestClient, session: Session, login_as: LoginAs
) -> None:
    login = login_as(Role.REGIONAL_OPERATOR, REGION)
    client.cookies.set("ektp_lang", "en")
    stock(session, 3)
    prr(session)
    session.commit()
    bad = client.post(
        f"/printing/regions/{REGION}/quota",
        data={"csrf_token": login.csrf_token, "daily_quota": "-5"},
        headers=HTML,
    )
    assert bad.status_code == 422
    assert "Enter a whole number from 0 to 100000." in bad.text
    assert 'value="-5"' in bad.text, "the typed value is shown again"
    saved = client.post(
        f"/printing/regions/{REGION}/quota",
        data={"csrf_token": login.csrf_token, "daily_quota": "0"},
        headers=HTML,
        follow_redirects=False,
    )
    assert saved.status_code == 303
    page = client.get(saved.headers["location"], headers=HTML)
    assert "The daily print quota has been saved." in page.text
    assert 'data-testid="quota">0<' in page.text
    assert 'data-testid="remaining">0<' in page.text
    refused = client.post(
        f"/printing/regions/{REGION}/print", data={"csrf_token": login.csrf_token}, headers=HTML
    )
    assert refused.status_code == 409, "a quota of 0 stops printing"
    assert "daily print quota" in refused.text
    assert session.query(Card).count() == 0
    other = client.post(
        "/printing/regions/31.71/quota",
        data={"csrf_token": login.csrf_token, "daily_quota": "9"},
        headers=HTML,
    )
    assert other.status_code in (403, 404)


def test_priorities_are_shown_to_operators_and_set_by_central_logistics(
    client: TestClient, session: Session, login_as: LoginAs
) -> None:
    from ektp.models.cards import PrintCategory
    from ektp.printing import queue

    client.cookies.set("ektp_lang", "en")
    operator = login_as(Role.REGIONAL_OPERATOR, REGION)
    shown = client.get("/printing/priorities", headers=HTML)
    assert shown.status_code == 200
    assert 'data-testid="priorities"' in shown.text
    assert 'data-testid="priorities-form"' not in shown.text
    order = [line.split('"')[1] for line in shown.text.split("data-category=")[1:]]
    assert order[0] == "FIRST_CARD"
    assert order[-1] == "REISSUE"
    assert (
        client.post(
            "/printing/priorities",
            data={"csrf_token": operator.csrf_token, "rank_REISSUE": "1"},
            headers=HTML,
        ).status_code
        == 403
    )

    central = login_as(Role.CENTRAL_LOGISTICS)
    form = client.get("/printing/priorities", headers=HTML)
    assert 'data-testid="priorities-form"' in form.text
    ranks = {"FIRST_CARD": "2", "DISASTER_VICTIM": "1", "SUKET_HOLDER": "3", "REISSUE": "0"}
    data = {"csrf_token": central.csrf_token, **{f"rank_{k}": v for k, v in ranks.items()}}
    bad = client.post("/printing/priorities", data=data, headers=HTML)
    assert bad.status_code == 422
    assert "Enter a whole number from 1 to 99." in bad.text
    assert queue.priorities(session)[PrintCategory.DISASTER_VICTIM] != 1, "nothing saved"
    data["rank_REISSUE"] = "4"
    saved = client.post("/printing/priorities", data=data, headers=HTML, follow_redirects=False)
    assert saved.status_code == 303
    page = client.get(saved.headers["location"], headers=HTML)
    assert "The print priorities have been saved." in page.text
    assert queue.priorities(session)[PrintCategory.DISASTER_VICTIM] == 1
    assert queue.priorities(session)[PrintCategory.FIRST_CARD] == 2
