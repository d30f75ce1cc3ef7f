"""Blanko screens through the TestClient: stock card, requests with the POD form, allocation runs
sorted server-side, refusals (login, role, other region, bad form) and both languages."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ektp.auth.permissions import Role
from ektp.blanko import pages
from ektp.blanko import requests as service
from ektp.config import Settings
from ektp.models.blanko import Contract
from tests.blanko.test_requests import People, stock_centre
from tests.factories.auth import WebLogin, web_login
from tests.factories.blanko import make_lot_at
from tests.web.conftest import HTML, LoginAs, field_errors, heading


@pytest.fixture
def login_as(client: TestClient, session: Session, settings: Settings) -> LoginAs:
    """As ``tests/web/conftest.py``'s: a fresh user with its session cookie on ``client``."""

    def login(role: Role = Role.REGIONAL_OPERATOR, region_code: str | None = None) -> WebLogin:
        done = web_login(session, settings, role, region_code)
        client.cookies.set("ektp_session", done.session_token)
        return done

    return login


@pytest.fixture
def people(session: Session) -> People:
    return People(session)


def _submitted(session: Session, people: People, quantity: int = 1000) -> int:
    request = service.create_request(
        session, region_code="32.04", quantity=quantity, justification="habis", actor=people.operator
    )
    service.submit(session, request=request, actor=people.operator)
    session.commit()
    return request.id


class TestRequestPages:
    def test_operator_creates_and_submits(self, client: TestClient, login_as: LoginAs) -> None:
        login = login_as(Role.REGIONAL_OPERATOR, "32.04")
        page = client.get("/blanko/requests", headers=HTML)
        assert page.status_code == 200
        assert heading(page.text) == "Permintaan blanko"
        response = client.post(
            "/blanko/requests",
            data={
                "csrf_token": login.csrf_token,
                "requested_quantity": "1200",
                "justification": "stok menipis",
                "and_submit": "1",
            },
            headers=HTML,
            follow_redirects=True,
        )
        assert response.status_code == 200
        assert "Diajukan" in response.text
        assert re.search(r"Permintaan RQ-\d{4}-\d{6}", heading(response.text))

    def test_bad_quantity_is_shown_next_to_the_field(self, client: TestClient, login_as: LoginAs) -> None:
        login = login_as(Role.REGIONAL_OPERATOR, "32.04")
        response = client.post(
            "/blanko/requests",
            data={"csrf_token": login.csrf_token, "requested_quantity": "banyak", "justification": "x"},
            headers=HTML,
        )
        assert response.status_code == 422
        assert "requested_quantity" in field_errors(response.text)

    def test_form_without_csrf_is_refused(self, client: TestClient, login_as: LoginAs) -> None:
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        response = client.post("/blanko/requests", data={"requested_quantity": "5"}, headers=HTML)
        assert response.status_code == 403

    def test_login_required(self, client: TestClient) -> None:
        response = client.get("/blanko/requests", headers=HTML, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")

    def test_other_region_sees_403(
        self, client: TestClient, session: Session, login_as: LoginAs, people: People
    ) -> None:
        rid = _submitted(session, people)
        login_as(Role.REGIONAL_OPERATOR, "32.73")
        assert client.get(f"/blanko/requests/{rid}", headers=HTML).status_code == 403

    def test_pod_form_records_receipt(
        self, client: TestClient, session: Session, login_as: LoginAs, people: People
    ) -> None:
        stock_centre(session, 2000)
        rid = _submitted(session, people, 500)
        request = service.get_request(session, request_id=rid, actor=people.logistics)
        service.approve(session, request=request, approved_quantity=500, reason=None, actor=people.logistics)
        service.release(session, request=request, actor=people.logistics)
        service.dispatch(session, request=request, mode="SHIPPED", carrier="JNE", actor=people.logistics)
        session.commit()
        login = login_as(Role.REGIONAL_OPERATOR, "32.04")
        client.cookies.set("ektp_lang", "en")
        page = client.get(f"/blanko/requests/{rid}", headers=HTML)
        assert 'data-testid="pod-form"' in page.text
        refused = client.post(
            f"/blanko/requests/{rid}/receive",
            data={"csrf_token": login.csrf_token, "accepted_quantity": "400", "received_by": "Dedi"},
            headers=HTML,
        )
        assert refused.status_code == 422
        assert "accepted_quantity" in field_errors(refused.text)
        done = client.post(
            f"/blanko/requests/{rid}/receive",
            data={"csrf_token": login.csrf_token, "accepted_quantity": "500", "received_by": "Dedi"},
            headers=HTML,
            follow_redirects=True,
        )
        assert done.status_code == 200
        assert 'data-testid="pod"' in done.text
        stock = client.get("/blanko/stock", headers=HTML)
        assert re.search(r'data-testid="balance">500<', stock.text)
        assert request.number in stock.text

    def test_wrong_state_shows_409(
        self, client: TestClient, session: Session, login_as: LoginAs, people: People
    ) -> None:
        rid = _submitted(session, people)
        login = login_as(Role.CENTRAL_LOGISTICS)
        response = client.post(
            f"/blanko/requests/{rid}/release", data={"csrf_token": login.csrf_token}, headers=HTML
        )
        assert response.status_code == 409


class TestRunPages:
    def test_run_sorted_and_approved(
        self, client: TestClient, session: Session, login_as: LoginAs, people: People
    ) -> None:
        stock_centre(session, 1500)
        _submitted(session, people, 1000)
        other = service.create_request(
            session, region_code="32.73", quantity=800, justification="x", actor=people.other_operator
        )
        service.submit(session, request=other, actor=people.other_operator)
        session.commit()
        login = login_as(Role.CENTRAL_LOGISTICS)
        client.cookies.set("ektp_lang", "en")
        created = client.post(
            "/blanko/allocation-runs",
            data={"csrf_token": login.csrf_token, "mode": "water_filling", "central_reserve": "0"},
            headers=HTML,
            follow_redirects=True,
        )
        assert created.status_code == 200
        url = str(created.url).split("?")[0]
        ascending = client.get(url, params={"sort": "allocated", "dir": "asc"}, headers=HTML).text
        descending = client.get(url, params={"sort": "allocated", "dir": "desc"}, headers=HTML).text
        order = re.findall(r'<tr data-region="([\d.]+)">', ascending)
        assert sorted(order) == ["32.04", "32.73"]
        assert re.findall(r'<tr data-region="([\d.]+)">', descending) == list(reversed(order))
        assert 'aria-sort="descending"' in descending
        approved = client.post(
            f"{url}/approve", data={"csrf_token": login.csrf_token}, headers=HTML, follow_redirects=True
        )
        assert 'data-testid="run-status">Approved<' in approved.text
        again = client.post(f"{url}/approve", data={"csrf_token": login.csrf_token}, headers=HTML)
        assert again.status_code == 409

    def test_bad_policy_field_is_named(
        self, client: TestClient, session: Session, login_as: LoginAs, people: People
    ) -> None:
        _submitted(session, people)
        login = login_as(Role.CENTRAL_LOGISTICS)
        response = client.post(
            "/blanko/allocation-runs",
            data={"csrf_token": login.csrf_token, "mode": "water_filling", "box_size": "0"},
            headers=HTML,
        )
        assert response.status_code == 422
        assert "box_size" in field_errors(response.text)

    @pytest.mark.parametrize("role", [Role.REGIONAL_OPERATOR, Role.AUDITOR])
    def test_runs_need_blanko_write(self, client: TestClient, login_as: LoginAs, role: Role) -> None:
        login_as(role, "32.04" if role == Role.REGIONAL_OPERATOR else None)
        assert client.get("/blanko/allocation-runs", headers=HTML).status_code == 403


class TestStockPage:
    def test_operator_sees_its_own_card_only(self, client: TestClient, login_as: LoginAs) -> None:
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        page = client.get("/blanko/stock", headers=HTML)
        assert page.status_code == 200
        assert "Kartu stok" in heading(page.text)
        assert 'data-testid="prr-backlog">0<' in page.text  # nobody recorded in this test's register
        assert 'data-testid="sukets-outstanding">0<' in page.text
        assert client.get("/blanko/stock", params={"region": "32.73"}, headers=HTML).status_code == 403

    def test_central_sees_the_warehouse(
        self, client: TestClient, session: Session, login_as: LoginAs
    ) -> None:
        stock_centre(session, 700)
        session.commit()
        login_as(Role.CENTRAL_LOGISTICS)
        client.cookies.set("ektp_lang", "en")
        page = client.get("/blanko/stock", headers=HTML)
        assert "Central warehouse" in heading(page.text)
        assert "Receipt from supplier" in page.text


class TestReconciliationPage:
    def test_a_contract_received_and_distributed_adds_up(
        self, client: TestClient, session: Session, login_as: LoginAs
    ) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=250)
        contract = session.get(Contract, lot.contract_id)
        assert contract is not None
        session.commit()
        login_as(Role.CENTRAL_LOGISTICS)
        client.cookies.set("ektp_lang", "en")
        page = client.get("/blanko/reconciliation", headers=HTML)
        assert page.status_code == 200
        assert heading(page.text) == "Reconciliation per contract"
        section = page.text.split(f'data-testid="reconciliation-{contract.number}"')[1].split("</section>")[0]
        assert "Adds up" in section

    def test_shows_a_contract_that_does_not_add_up(
        self, client: TestClient, login_as: LoginAs, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from ektp.planning.indicators import ContractFigures, reconcile

        figures = [
            ContractFigures("027/KTP/2017", 1000, 600, 400, 300, 20, 10, 200, 70),
            ContractFigures("041/KTP/2017", 500, 100, 390, 50, 0, 0, 50, 0),
        ]
        monkeypatch.setattr(
            pages, "reconcile_all", lambda session: [(None, f, reconcile(f)) for f in figures]
        )
        login_as(Role.CENTRAL_LOGISTICS)
        client.cookies.set("ektp_lang", "en")
        page = client.get("/blanko/reconciliation", headers=HTML)
        first = page.text.split('data-testid="reconciliation-027/KTP/2017"')[1].split("</section>")[0]
        second = page.text.split('data-testid="reconciliation-041/KTP/2017"')[1].split("</section>")[0]
        assert "Adds up" in first
        assert "Does not add up" in second  # 500 received, 100 + 390 accounted for: 10 missing

    def test_regional_users_are_refused(self, client: TestClient, login_as: LoginAs) -> None:
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        assert client.get("/blanko/reconciliation", headers=HTML).status_code == 403
