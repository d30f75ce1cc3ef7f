"""The blank ledger API: contracts and lots, locations, stock cards, events, reversals, counts and
reconciliations — with the refusals (401, 403 wrong role, 403 other region, 404, 409, 422)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ektp.auth.permissions import Role
from ektp.blanko import ledger
from ektp.models.blanko import LedgerReason
from tests.factories.auth import auth_headers
from tests.factories.blanko import FACTORY_DATE, location, make_contract, make_lot, make_lot_at

API = "/api/v1/blanko"


def _contract_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "number": "SPK/001/2017",
        "signed_on": "2017-01-04",
        "supplier_name": "PT Penyedia Blanko A (demo)",
        "method": "tender",
        "quantity": 1000,
        "unit_price_rupiah": 9547,
        "deliveries": [{"due_on": "2017-01-16", "quantity": 600}, {"due_on": "2017-01-23", "quantity": 400}],
    }
    body.update(overrides)
    return body


def _fields(response: Any) -> set[str]:
    payload = response.json()
    fields = {p["field"] for p in payload.get("problems", [])}
    for item in payload.get("detail", []) if isinstance(payload.get("detail"), list) else []:
        fields.add(".".join(str(x) for x in item["loc"][1:]))
    return fields


class TestContracts:
    def test_central_logistics_creates_a_contract_and_receives_a_lot(
        self, client: TestClient, session: Session
    ) -> None:
        headers = auth_headers(session, Role.CENTRAL_LOGISTICS)
        created = client.post(f"{API}/contracts", json=_contract_body(), headers=headers)
        assert created.status_code == 201, created.text
        contract = created.json()
        assert contract["total_rupiah"] == 9_547_000
        assert [d["quantity"] for d in contract["deliveries"]] == [600, 400]
        lot = client.post(
            f"{API}/contracts/{contract['id']}/lots",
            json={
                "lot_no": "L01",
                "received_on": "2017-01-16",
                "quantity": 600,
                "serial_from": 9_000_000_001,
            },
            headers=headers,
        )
        assert lot.status_code == 201, lot.text
        assert lot.json()["serial_to"] == 9_000_000_600
        detail = client.get(f"{API}/contracts/{contract['id']}", headers=headers).json()
        assert detail["received"] == 600
        assert client.get(f"{API}/contracts", headers=headers).json()["items"][-1]["number"] == "SPK/001/2017"

    def test_needs_a_login(self, client: TestClient) -> None:
        assert client.get(f"{API}/contracts").status_code == 401

    def test_a_regional_operator_cannot_create_contracts(self, client: TestClient, session: Session) -> None:
        response = client.post(
            f"{API}/contracts", json=_contract_body(), headers=auth_headers(session, Role.REGIONAL_OPERATOR)
        )
        assert response.status_code == 403

    def test_an_examiner_cannot_even_read(self, client: TestClient, session: Session) -> None:
        assert client.get(f"{API}/contracts", headers=auth_headers(session, Role.EXAMINER)).status_code == 403

    def test_malformed_contracts_name_the_field(self, client: TestClient, session: Session) -> None:
        headers = auth_headers(session, Role.CENTRAL_LOGISTICS)
        bad_price = client.post(
            f"{API}/contracts", json=_contract_body(unit_price_rupiah=9547.5), headers=headers
        )
        assert bad_price.status_code == 422
        assert "unit_price_rupiah" in bad_price.text
        short = client.post(
            f"{API}/contracts",
            json=_contract_body(deliveries=[{"due_on": "2017-01-16", "quantity": 10}]),
            headers=headers,
        )
        assert short.status_code == 422
        assert "deliveries" in _fields(short)

    def test_overlapping_serials_are_refused(self, client: TestClient, session: Session) -> None:
        lot = make_lot(session, quantity=100)
        contract = make_contract(session)
        response = client.post(
            f"{API}/contracts/{contract.id}/lots",
            json={"lot_no": "X", "received_on": "2017-01-20", "quantity": 10, "serial_from": lot.serial_to},
            headers=auth_headers(session, Role.CENTRAL_LOGISTICS),
        )
        assert response.status_code == 409
        assert "serial_from" in _fields(response)

    def test_unknown_contract_is_404(self, client: TestClient, session: Session) -> None:
        assert (
            client.get(
                f"{API}/contracts/999999", headers=auth_headers(session, Role.CENTRAL_LOGISTICS)
            ).status_code
            == 404
        )


class TestLocations:
    def test_a_regional_user_sees_only_its_own_offices(self, client: TestClient, session: Session) -> None:
        make_lot_at(session, "REG:32.04", quantity=70)
        response = client.get(
            f"{API}/locations", headers=auth_headers(session, Role.REGIONAL_OPERATOR, "32.04")
        )
        assert response.status_code == 200
        assert [(row["code"], row["balance"]) for row in response.json()] == [("REG:32.04", 70)]
        province = client.get(
            f"{API}/locations", headers=auth_headers(session, Role.REGIONAL_OPERATOR, "32")
        ).json()
        codes = {row["code"] for row in province}
        assert "PROV:32" in codes
        assert "REG:32.04" in codes
        assert all(code.endswith(("32",)) or code.startswith("REG:32.") for code in codes)

    def test_central_sees_everything(self, client: TestClient, session: Session) -> None:
        location(session, "CENTRE")
        rows = client.get(f"{API}/locations", headers=auth_headers(session, Role.CENTRAL_LOGISTICS)).json()
        assert len(rows) == 38 + 514 + 1 + 6

    def test_another_regions_office_is_403(self, client: TestClient, session: Session) -> None:
        location(session, "CENTRE")
        headers = auth_headers(session, Role.REGIONAL_OPERATOR, "32.04")
        assert client.get(f"{API}/locations/REG:32.73", headers=headers).status_code == 403
        assert client.get(f"{API}/locations/CENTRE/stock-card", headers=headers).status_code == 403

    def test_stock_card_of_the_own_office(self, client: TestClient, session: Session) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=70)
        ledger.post(
            session,
            reason=LedgerReason.PRINT,
            movements=[
                ledger.Movement(location(session, "REG:32.04"), location(session, "PRINTED"), lot, 20)
            ],
            document_no="PRN-1",
            business_date=FACTORY_DATE,
            actor=ledger_actor(),
        )
        session.commit()
        card = client.get(
            f"{API}/locations/REG:32.04/stock-card",
            headers=auth_headers(session, Role.REGIONAL_OPERATOR, "32.04"),
        )
        assert card.status_code == 200
        body = card.json()
        assert body["balance"] == 50
        assert [
            (line["quantity_in"], line["quantity_out"], line["balance_after"]) for line in body["lines"]
        ] == [
            (70, 0, 70),
            (0, 20, 50),
        ]
        detail = client.get(
            f"{API}/locations/REG:32.04", headers=auth_headers(session, Role.REGIONAL_OPERATOR, "32.04")
        )
        assert detail.json()["lots"][0]["quantity"] == 50

    def test_unknown_location_is_404(self, client: TestClient, session: Session) -> None:
        assert (
            client.get(
                f"{API}/locations/REG:99.99", headers=auth_headers(session, Role.CENTRAL_LOGISTICS)
            ).status_code
            == 404
        )


def ledger_actor() -> Any:
    from ektp.auth.permissions import SYSTEM

    return SYSTEM


class TestEventsAndReversal:
    def test_central_logistics_reverses_an_event(self, client: TestClient, session: Session) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=70)
        event = ledger.post(
            session,
            reason=LedgerReason.PRINT,
            movements=[
                ledger.Movement(location(session, "REG:32.04"), location(session, "PRINTED"), lot, 20)
            ],
            document_no="PRN-9",
            business_date=FACTORY_DATE,
            actor=ledger_actor(),
        )
        session.commit()
        headers = auth_headers(session, Role.CENTRAL_LOGISTICS)
        response = client.post(
            f"{API}/events/{event.id}/reversal", json={"reason_note": "wrong office"}, headers=headers
        )
        assert response.status_code == 201, response.text
        assert response.json()["reverses_event_id"] == event.id
        assert ledger.balance(session, location(session, "REG:32.04"), lot) == 70
        original = client.get(f"{API}/events/{event.id}", headers=headers).json()
        assert original["reversed_by_event_id"] == response.json()["id"]
        again = client.post(
            f"{API}/events/{event.id}/reversal", json={"reason_note": "again"}, headers=headers
        )
        assert again.status_code == 409

    def test_a_regional_operator_cannot_reverse(self, client: TestClient, session: Session) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=5)
        assert lot.id
        headers = auth_headers(session, Role.REGIONAL_OPERATOR, "32.04")
        events = client.get(f"{API}/events", headers=headers).json()["items"]
        assert events
        response = client.post(
            f"{API}/events/{events[0]['id']}/reversal", json={"reason_note": "x"}, headers=headers
        )
        assert response.status_code == 403

    def test_a_reversal_needs_a_reason(self, client: TestClient, session: Session) -> None:
        make_lot_at(session, "REG:32.04", quantity=5)
        headers = auth_headers(session, Role.CENTRAL_LOGISTICS)
        event_id = client.get(f"{API}/events", headers=headers).json()["items"][0]["id"]
        response = client.post(f"{API}/events/{event_id}/reversal", json={"reason_note": ""}, headers=headers)
        assert response.status_code == 422
        assert "reason_note" in response.text

    def test_a_regional_user_sees_only_events_that_touched_its_region(
        self, client: TestClient, session: Session
    ) -> None:
        make_lot_at(session, "REG:32.73", quantity=5)
        mine = make_lot_at(session, "REG:32.04", quantity=5)
        headers = auth_headers(session, Role.REGIONAL_OPERATOR, "32.04")
        documents = {
            e["document_no"] for e in client.get(f"{API}/events?size=200", headers=headers).json()["items"]
        }
        assert f"TEST-TRANSFER-{mine.lot_no}" in documents
        assert all(doc.startswith("TEST-TRANSFER-") for doc in documents)
        central = auth_headers(session, Role.CENTRAL_LOGISTICS)
        other = client.get(f"{API}/events?document_no=TEST-TRANSFER-{mine.lot_no}", headers=central).json()[
            "items"
        ][0]
        assert client.get(f"{API}/events/{other['id']}", headers=headers).status_code == 200
        receipt = client.get(f"{API}/events?reason=RECEIPT_FROM_SUPPLIER", headers=central).json()["items"][0]
        assert client.get(f"{API}/events/{receipt['id']}", headers=headers).status_code == 403


class TestCounts:
    def test_an_operator_counts_its_own_office(self, client: TestClient, session: Session) -> None:
        make_lot_at(session, "REG:32.04", quantity=40)
        response = client.post(
            f"{API}/locations/REG:32.04/counts",
            json={"document_no": "SO-1", "business_date": "2017-02-01", "total": 37, "shortage_to": "LOST"},
            headers=auth_headers(session, Role.REGIONAL_OPERATOR, "32.04"),
        )
        assert response.status_code == 201, response.text
        assert response.json()["difference"] == -3
        assert ledger.balance(session, location(session, "LOST")) == 3

    def test_an_operator_cannot_count_another_office(self, client: TestClient, session: Session) -> None:
        make_lot_at(session, "REG:32.73", quantity=40)
        response = client.post(
            f"{API}/locations/REG:32.73/counts",
            json={"document_no": "SO-1", "business_date": "2017-02-01", "total": 37},
            headers=auth_headers(session, Role.REGIONAL_OPERATOR, "32.04"),
        )
        assert response.status_code == 403

    def test_a_provincial_operator_cannot_count_a_regency(self, client: TestClient, session: Session) -> None:
        make_lot_at(session, "REG:32.04", quantity=40)
        response = client.post(
            f"{API}/locations/REG:32.04/counts",
            json={"document_no": "SO-1", "business_date": "2017-02-01", "total": 37},
            headers=auth_headers(session, Role.REGIONAL_OPERATOR, "32"),
        )
        assert response.status_code == 403

    def test_central_counts_the_centre(self, client: TestClient, session: Session) -> None:
        make_lot(session, quantity=40)
        centre_total = ledger.balance(session, location(session, "CENTRE"))
        response = client.post(
            f"{API}/locations/CENTRE/counts",
            json={"document_no": "SO-C", "business_date": "2017-02-01", "total": centre_total},
            headers=auth_headers(session, Role.CENTRAL_LOGISTICS),
        )
        assert response.status_code == 201
        assert response.json()["event_id"] is None

    def test_a_count_needs_total_or_lots(self, client: TestClient, session: Session) -> None:
        make_lot_at(session, "REG:32.04", quantity=40)
        headers = auth_headers(session, Role.REGIONAL_OPERATOR, "32.04")
        neither = client.post(
            f"{API}/locations/REG:32.04/counts",
            json={"document_no": "SO", "business_date": "2017-02-01"},
            headers=headers,
        )
        assert neither.status_code == 422
        assert "total" in _fields(neither)
        negative = client.post(
            f"{API}/locations/REG:32.04/counts",
            json={"document_no": "SO", "business_date": "2017-02-01", "total": -1},
            headers=headers,
        )
        assert negative.status_code == 422
        assert "total" in negative.text

    def test_a_surplus_per_lot_and_an_unknown_lot(self, client: TestClient, session: Session) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=40)
        headers = auth_headers(session, Role.REGIONAL_OPERATOR, "32.04")
        ok = client.post(
            f"{API}/locations/REG:32.04/counts",
            json={
                "document_no": "SO",
                "business_date": "2017-02-01",
                "lots": [{"lot_id": lot.id, "counted": 41}],
            },
            headers=headers,
        )
        assert ok.json()["difference"] == 1
        unknown = client.post(
            f"{API}/locations/REG:32.04/counts",
            json={
                "document_no": "SO",
                "business_date": "2017-02-01",
                "lots": [{"lot_id": 999999, "counted": 1}],
            },
            headers=headers,
        )
        assert unknown.status_code == 422
        assert "lots[0].lot_id" in _fields(unknown)


class TestInsufficientStockAndReconciliation:
    def test_reversing_when_the_blanks_are_gone_is_409(self, client: TestClient, session: Session) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=10)
        ledger.post(
            session,
            reason=LedgerReason.PRINT,
            movements=[
                ledger.Movement(location(session, "REG:32.04"), location(session, "PRINTED"), lot, 10)
            ],
            document_no="PRN",
            business_date=FACTORY_DATE,
            actor=ledger_actor(),
        )
        session.commit()
        headers = auth_headers(session, Role.CENTRAL_LOGISTICS)
        transfer = client.get(f"{API}/events?document_no=TEST-TRANSFER-{lot.lot_no}", headers=headers).json()[
            "items"
        ][0]
        response = client.post(
            f"{API}/events/{transfer['id']}/reversal", json={"reason_note": "x"}, headers=headers
        )
        assert response.status_code == 409
        assert response.json()["error"] == "insufficient_stock"
        assert "REG:32.04" in response.json()["message"]

    def test_reconciliation_of_a_contract_adds_up(self, client: TestClient, session: Session) -> None:
        contract = make_contract(session)
        make_lot_at(session, "REG:32.04", quantity=100, contract=contract)
        headers = auth_headers(session, Role.CENTRAL_LOGISTICS)
        body = client.get(f"{API}/contracts/{contract.id}/reconciliation", headers=headers).json()
        assert body["balanced"] is True
        assert body["figures"]["received"] == 100
        assert body["figures"]["on_hand_regions"] == 100
        regional = client.get(
            f"{API}/contracts/{contract.id}/reconciliation",
            headers=auth_headers(session, Role.REGIONAL_OPERATOR),
        )
        assert regional.status_code == 403
