"""Printing API (queue, print, refusals as 409/422, spoil, issue, report) and the card PDF."""

from __future__ import annotations

import io
import json

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy.orm import Session

from ektp.auth.permissions import Role
from ektp.models.cards import Card
from ektp.printing import pdf
from ektp.printing.fields import card_fields
from tests.factories.auth import auth_headers
from tests.factories.blanko import location
from tests.factories.population import make_resident
from tests.printing.helpers import DAY, REGION, prr, stock

URL = f"/api/v1/printing/regions/{REGION}"


def _text(body: bytes) -> tuple[list[str], PdfReader]:
    reader = PdfReader(io.BytesIO(body))
    return [page.extract_text() for page in reader.pages], reader


def test_api_print_issue_report(client: TestClient, session: Session) -> None:
    headers = auth_headers(session, Role.REGIONAL_OPERATOR)
    stock(session, 2)
    enrollment = prr(session)
    session.commit()
    queue = client.get(f"{URL}/queue", headers=headers)
    assert queue.status_code == 200
    assert any(i["id"] == enrollment.id and i["source"] == "recording" for i in queue.json()["items"])
    assert queue.json()["quota"]["remaining"] >= 1
    printed = client.post(
        f"{URL}/print",
        json={"enrollment_id": enrollment.id, "business_date": DAY.isoformat()},
        headers=headers,
    )
    assert printed.status_code == 201, printed.text
    card = printed.json()
    assert card["status"] == "PRINTED"
    assert card["kind"] == "FIRST"
    again = client.post(f"{URL}/print", json={"enrollment_id": enrollment.id}, headers=headers)
    assert again.status_code == 409
    assert "PRINT_READY_RECORD" in again.json()["message"]
    issued = client.post(f"/api/v1/printing/cards/{card['id']}/issue", json={}, headers=headers)
    assert issued.status_code == 200
    assert issued.json()["status"] == "ISSUED"
    bad = client.post(
        f"/api/v1/printing/cards/{card['id']}/report", json={"status": "X", "reason": "r"}, headers=headers
    )
    assert bad.status_code == 422
    lost = client.post(
        f"/api/v1/printing/cards/{card['id']}/report",
        json={"status": "DAMAGED", "reason": "cracked"},
        headers=headers,
    )
    assert lost.status_code == 200
    assert lost.json()["status"] == "DAMAGED"
    document = client.get(f"/api/v1/printing/cards/{card['id']}/pdf", headers=headers)
    assert document.status_code == 200
    assert document.headers["content-type"] == "application/pdf"
    spoiled = client.post(
        f"{URL}/spoil", json={"reason": "MISPRINT", "business_date": DAY.isoformat()}, headers=headers
    )
    assert spoiled.status_code == 201
    assert spoiled.json()["outcome"] == "SPOILED"
    # stock is now 0: a print is refused with a message suggesting a suket
    other = prr(session)
    session.commit()
    empty = client.post(
        f"{URL}/print", json={"enrollment_id": other.id, "business_date": DAY.isoformat()}, headers=headers
    )
    assert empty.status_code == 409
    assert "suket" in empty.json()["message"]


def test_api_permissions_and_validation(client: TestClient, session: Session) -> None:
    viewer = auth_headers(session, Role.EXAMINER)
    assert client.post(f"{URL}/print", json={}, headers=viewer).status_code == 403
    outsider = auth_headers(session, Role.REGIONAL_OPERATOR, region_code="31.71")
    assert client.get(f"{URL}/queue", headers=outsider).status_code == 403
    operator = auth_headers(session, Role.REGIONAL_OPERATOR)
    assert client.put(f"{URL}/quota", json={"daily_quota": -3}, headers=operator).status_code == 422
    assert client.put(f"{URL}/quota", json={"daily_quota": 0}, headers=operator).json()["remaining"] == 0
    location(session, "CENTRE")
    stock(session, 1)
    enrollment = prr(session)
    session.commit()
    refused = client.post(
        f"{URL}/print",
        json={"enrollment_id": enrollment.id, "business_date": DAY.isoformat()},
        headers=operator,
    )
    assert refused.status_code == 409
    assert "quota" in refused.json()["message"]
    assert (
        client.put(
            "/api/v1/printing/priorities", json={"ranks": {"REISSUE": 1}}, headers=operator
        ).status_code
        == 403
    )


def test_pdf_front_and_back_at_id1_size(session: Session) -> None:
    resident = make_resident(session, name="SITI NURHALIZA", blood_type="O+", religion="KEPERCAYAAN")
    fields = card_fields(session, resident, region_code=REGION, issued_on=DAY)
    fields["blank_serial"] = "1234567"
    pages, reader = _text(pdf.render_card(fields, card_id=7))
    assert len(pages) == 2
    for page in reader.pages:
        width_mm = float(page.mediabox.width) / 72 * 25.4
        height_mm = float(page.mediabox.height) / 72 * 25.4
        assert abs(width_mm - 85.60) < 0.05
        assert abs(height_mm - 53.98) < 0.05
    front, back = pages
    for expected in (
        resident.nik,
        "SITI NURHALIZA",
        "PROVINSI",
        "BANDUNG",
        "17-05-1990",
        "LAKI-LAKI",
        "O+",
        "JL. MERDEKA NO. 1",
        "001/002",
        "KEPERCAYAAN TERHADAP TUHAN YME",
        "BELUM KAWIN",
        "KARYAWAN SWASTA",
        "WNI",
        "SEUMUR HIDUP",
        "01-02-2017",
    ):
        assert expected in front, expected
    assert "1234567" in back
    assert "14443" in back


def test_pdf_of_a_foreigner_shows_the_permit_expiry(session: Session) -> None:
    import datetime as dt

    resident = make_resident(session, citizenship="WNA", permit_expiry=dt.date(2030, 3, 4))
    fields = card_fields(session, resident, region_code=REGION, issued_on=DAY)
    pages, _ = _text(pdf.render_card(fields, preview=True))
    assert "04-03-2030" in pages[0]
    assert "SEUMUR HIDUP" not in pages[0]
    assert "PREVIEW" in pages[0]


def test_printed_card_pdf_comes_from_its_snapshot(client: TestClient, session: Session) -> None:
    headers = auth_headers(session, Role.REGIONAL_OPERATOR)
    stock(session, 1)
    enrollment = prr(session)
    session.commit()
    made = client.post(
        f"{URL}/print",
        json={"enrollment_id": enrollment.id, "business_date": DAY.isoformat()},
        headers=headers,
    )
    card = session.get_one(Card, made.json()["id"])
    fields = json.loads(card.printed_fields)
    pages, _ = _text(client.get(f"/api/v1/printing/cards/{card.id}/pdf", headers=headers).content)
    assert fields["name"] in pages[0]
    assert fields["blank_serial"] in pages[1]
    preview = client.get(f"/api/v1/printing/residents/{enrollment.resident_id}/preview.pdf", headers=headers)
    assert preview.status_code == 200
    assert "PREVIEW" in _text(preview.content)[0][0]


def test_priorities_are_set_by_the_centre(client: TestClient, session: Session) -> None:
    admin = auth_headers(session, Role.CENTRAL_ADMIN)
    assert client.get("/api/v1/printing/priorities", headers=admin).json()["FIRST_CARD"] == 1
    changed = client.put("/api/v1/printing/priorities", json={"ranks": {"DISASTER_VICTIM": 1}}, headers=admin)
    assert changed.status_code == 200
    assert changed.json()["DISASTER_VICTIM"] == 1
    unknown = client.put("/api/v1/printing/priorities", json={"ranks": {"VIP": 1}}, headers=admin)
    assert unknown.status_code == 422
