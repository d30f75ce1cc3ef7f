"""Blank traceability: every blank used is a card or a spoilage record; imported totals apart;
a PRINT posted without a usage shows as untraced (API and CLI)."""

from __future__ import annotations

import contextlib

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from ektp.auth.permissions import Role
from ektp.blanko import ledger
from ektp.models.blanko import LedgerEvent, LedgerReason
from ektp.printing import cli as trace_cli
from ektp.printing import service
from ektp.printing.trace import IMPORTED_PREFIX, blank_trace
from tests.factories.auth import auth_headers
from tests.factories.blanko import location
from tests.printing.helpers import DAY, OPERATOR, REGION, prr, stock


def _use_without_usage(session: Session, document_no: str, quantity: int = 1) -> None:
    ledger.post_fifo(
        session,
        reason=LedgerReason.PRINT,
        from_location=ledger.location_by_code(session, f"REG:{REGION}"),
        to_location=ledger.location_by_code(session, "PRINTED"),
        quantity=quantity,
        document_no=document_no,
        business_date=DAY,
        actor=OPERATOR,
    )


def _print_two_spoil_one(session: Session) -> None:
    location(session, "CENTRE")
    stock(session, 10)
    for _ in range(2):
        prr(session)
        service.print_card(session, region_code=REGION, actor=OPERATOR, business_date=DAY)
    service.spoil_blank(
        session, region_code=REGION, reason="MISPRINT", note="smudged", actor=OPERATOR, business_date=DAY
    )


def test_printed_and_spoiled_blanks_are_traced_and_imports_kept_apart(session: Session) -> None:
    _print_two_spoil_one(session)
    _use_without_usage(session, f"{IMPORTED_PREFIX}{REGION}/20170101/PRINT", quantity=3)

    (row,) = blank_trace(session, REGION)
    assert (row.printed, row.spoiled, row.imported) == (5, 1, 3)
    assert (row.printed_usages, row.spoiled_usages, row.cards) == (2, 1, 2)
    assert row.untraced == 0
    assert row.complete


def test_a_print_posted_without_its_card_is_untraced(session: Session) -> None:
    _print_two_spoil_one(session)
    _use_without_usage(session, "MANUAL/1")

    (row,) = blank_trace(session, REGION)
    assert row.untraced == 1
    assert not row.complete


def test_a_reversed_print_counts_back(session: Session) -> None:
    _print_two_spoil_one(session)
    _use_without_usage(session, "MANUAL/2")
    event = session.scalars(select(LedgerEvent).where(LedgerEvent.document_no == "MANUAL/2")).one()
    ledger.reverse(session, event=event, actor=OPERATOR, reason_note="posted twice", business_date=DAY)

    (row,) = blank_trace(session, REGION)
    assert row.printed == 2
    assert row.complete


def test_trace_api_and_cli(client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    _print_two_spoil_one(session)
    _use_without_usage(session, "MANUAL/3")
    session.commit()
    response = client.get("/api/v1/printing/trace", headers=auth_headers(session, Role.REGIONAL_OPERATOR))
    assert response.status_code == 200, response.text
    (row,) = [r for r in response.json() if r["region_code"] == REGION]
    assert row["untraced"] == 1
    assert row["cards"] == 2
    assert row["complete"] is False

    # The CLI reads through its own unit of work; here it gets the test's session (same data,
    # same transaction).
    monkeypatch.setattr(trace_cli, "cli_engine", lambda _url: contextlib.nullcontext(None))
    monkeypatch.setattr(trace_cli, "unit_of_work", lambda _engine: contextlib.nullcontext(session))
    result = CliRunner().invoke(trace_cli.app, ["--region", REGION])
    assert result.exit_code == 1, result.output
    assert "untraced blanks" in result.output
