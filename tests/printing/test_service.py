"""Printing service: queue order, printing and each refusal, spoilage, issue, lost/damaged,
revoke on reprint, sukets replaced, re-issue requests PRINTED, quota."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ektp.auth.permissions import Principal, Role
from ektp.blanko import ledger
from ektp.kit.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from ektp.models.cards import BlankUsage, Card, CardStatus, PrintCategory
from ektp.models.enrollment import EnrollmentStatus
from ektp.models.reissue import ReissueReason, ReissueStatus
from ektp.models.suket import SuketStatus
from ektp.printing import queue, service
from ektp.printing.service import NoBlankInStock, QuotaReached
from tests.factories.blanko import location
from tests.factories.population import make_resident
from tests.printing.helpers import DAY, OPERATOR, REGION, active_suket, approved_request, prr, stock

S = EnrollmentStatus


def _balance(session: Session) -> int:
    return sum(
        q for _, q in ledger._fifo_candidates(session, ledger.location_by_code(session, f"REG:{REGION}"))
    )


def _print(session: Session, **kw: object) -> Card:
    return service.print_card(session, region_code=REGION, actor=OPERATOR, business_date=DAY, **kw)  # type: ignore[arg-type]


def test_queue_order_follows_the_priority_then_age(session: Session) -> None:
    reissue = approved_request(session, make_resident(session), reason=ReissueReason.DAMAGED)
    suket_holder = make_resident(session)
    suket_rec = prr(session, suket_holder)
    active_suket(session, suket_holder, "SKT/T/1")
    disaster = approved_request(session, make_resident(session), disaster=True)
    first_a = prr(session)
    first_b = prr(session)
    items = queue.list_queue(session, REGION)
    ours = [
        (i.source, i.id)
        for i in items
        if i.id in {reissue.id, suket_rec.id, disaster.id, first_a.id, first_b.id}
    ]
    assert ours == [
        ("recording", first_a.id),
        ("recording", first_b.id),
        ("reissue", disaster.id),
        ("recording", suket_rec.id),
        ("reissue", reissue.id),
    ]
    assert items[0].category == PrintCategory.FIRST_CARD
    # configurable: disaster victims first
    queue.set_priorities(session, {"DISASTER_VICTIM": 1, "FIRST_CARD": 2}, actor=OPERATOR)
    assert queue.list_queue(session, REGION)[0].id == disaster.id
    with pytest.raises(ValidationFailed):
        queue.set_priorities(session, {"NOPE": 1}, actor=OPERATOR)


def test_print_from_queue_consumes_one_blank_and_records_everything(session: Session) -> None:
    stock(session, 3)
    enrollment = prr(session)
    before = _balance(session)
    card = _print(session, enrollment_id=enrollment.id)
    assert _balance(session) == before - 1
    usage = session.get_one(BlankUsage, card.blank_usage_id)
    assert usage.outcome == "PRINTED"
    assert usage.resident_id == enrollment.resident_id
    assert card.kind == "FIRST"
    assert card.status == "PRINTED"
    assert card.enrollment_id == enrollment.id
    assert enrollment.status == S.CARD_PRINTED
    fields = json.loads(card.printed_fields)
    assert fields["nik"] == card.nik
    assert fields["valid_until"] == "SEUMUR HIDUP"
    assert fields["blank_serial"] == str(usage.blank_serial)
    # the next print takes the next serial of the same lot
    second = _print(session, enrollment_id=prr(session).id)
    assert session.get_one(BlankUsage, second.blank_usage_id).blank_serial == usage.blank_serial + 1


def test_print_without_a_named_item_takes_the_head_of_the_queue(session: Session) -> None:
    stock(session, 2)
    head = queue.list_queue(session, REGION)
    enrollment = prr(session)
    card = _print(session)
    expected = head[0].resident_id if head else enrollment.resident_id
    assert card.resident_id == expected


def test_refusals(session: Session) -> None:
    stock(session, 2)
    for status in (S.DUPLICATE_RECORD, S.ADJUDICATE_RECORD):
        with pytest.raises(InvalidState, match="duplicate"):
            _print(session, enrollment_id=prr(session, status=status).id)
    with pytest.raises(InvalidState, match="not PRINT_READY_RECORD"):
        _print(session, enrollment_id=prr(session, status=S.SENT_FOR_ENROLLMENT).id)
    resident = make_resident(session)
    submitted = approved_request(session, resident, status=ReissueStatus.SUBMITTED)
    with pytest.raises(InvalidState, match="APPROVED"):
        _print(session, reissue_request_id=submitted.id)
    with pytest.raises(NotFound):
        _print(session, enrollment_id=999_999_999)
    deceased = prr(session, make_resident(session, death_date=DAY))
    with pytest.raises(InvalidState, match="deceased"):
        _print(session, enrollment_id=deceased.id)
    outsider = Principal(user_id=None, username="x", role=Role.REGIONAL_OPERATOR, region_code="31.71")
    with pytest.raises(PermissionDenied):
        service.print_card(session, region_code=REGION, actor=outsider, enrollment_id=prr(session).id)


def test_reprint_of_a_resident_with_a_card_needs_an_approved_request(session: Session) -> None:
    stock(session, 3)
    first = _print(session, enrollment_id=prr(session).id)
    resident = session.get_one(Card, first.id).resident_id
    from ektp.models.population import Resident

    person = session.get_one(Resident, resident)
    again = prr(session, person)
    with pytest.raises(InvalidState, match="re-issue"):
        _print(session, enrollment_id=again.id)
    request = approved_request(session, person, reason=ReissueReason.DATA_CHANGE)
    second = _print(session, reissue_request_id=request.id)
    assert second.kind == "REISSUE"
    assert first.status == CardStatus.REVOKED
    assert first.replaced_by_card_id == second.id
    assert first.revoked_at is not None
    assert first.end_reason
    assert request.status == ReissueStatus.PRINTED
    assert request.card_id == second.id
    valid = session.scalars(
        select(Card).where(Card.resident_id == resident, Card.status.in_(["PRINTED", "ISSUED"]))
    )
    assert [c.id for c in valid] == [second.id]


def test_suket_is_replaced_when_the_card_is_printed(session: Session) -> None:
    stock(session, 1)
    resident = make_resident(session)
    enrollment = prr(session, resident)
    suket = active_suket(session, resident, "SKT/T/2")
    card = _print(session, enrollment_id=enrollment.id)
    assert suket.status == SuketStatus.REPLACED
    assert suket.replaced_by_card_id == card.id
    assert suket.ended_at is not None


def test_no_stock_suggests_a_suket_and_writes_nothing(session: Session) -> None:
    location(session, "CENTRE")
    enrollment = prr(session)
    assert _balance(session) == 0
    with pytest.raises(NoBlankInStock, match="suket"):
        _print(session, enrollment_id=enrollment.id)
    assert enrollment.status == S.PRINT_READY_RECORD


def test_quota(session: Session) -> None:
    stock(session, 3)
    service.set_daily_quota(
        session, REGION, service.quota_status(session, REGION, DAY).printed + 1, actor=OPERATOR
    )
    _print(session, enrollment_id=prr(session).id)
    assert service.quota_status(session, REGION, DAY).remaining == 0
    with pytest.raises(QuotaReached, match="quota"):
        _print(session, enrollment_id=prr(session).id)
    with pytest.raises(ValidationFailed):
        service.set_daily_quota(session, REGION, -1, actor=OPERATOR)


def test_typed_serial_is_validated(session: Session) -> None:
    stock(session, 2)
    card = _print(session, enrollment_id=prr(session).id)
    used = session.get_one(BlankUsage, card.blank_usage_id).blank_serial
    with pytest.raises(Exception, match="already been used"):
        _print(session, enrollment_id=prr(session).id, blank_serial=used)
    with pytest.raises(ValidationFailed):
        _print(session, enrollment_id=prr(session).id, blank_serial=10**15)
    typed = _print(session, enrollment_id=prr(session).id, blank_serial=used + 1)
    assert session.get_one(BlankUsage, typed.blank_usage_id).blank_serial == used + 1


def test_spoil_consumes_a_blank_and_returns_a_mid_print_record_to_prr(session: Session) -> None:
    stock(session, 2)
    before = _balance(session)
    enrollment = prr(session, status=S.SENT_FOR_PRINTING)
    usage = service.spoil_blank(
        session,
        region_code=REGION,
        reason="PRINTER_JAM",
        note="jam",
        enrollment_id=enrollment.id,
        actor=OPERATOR,
        business_date=DAY,
    )
    assert usage.outcome == "SPOILED"
    assert usage.spoilage_reason == "PRINTER_JAM"
    assert _balance(session) == before - 1
    assert enrollment.status == S.PRINT_READY_RECORD
    with pytest.raises(ValidationFailed):
        service.spoil_blank(session, region_code=REGION, reason="BAD", actor=OPERATOR, business_date=DAY)


def test_issue_and_report(session: Session) -> None:
    stock(session, 1)
    enrollment = prr(session)
    card = _print(session, enrollment_id=enrollment.id)
    service.issue_card(session, card_id=card.id, actor=OPERATOR, issued_on=DAY)
    assert card.status == CardStatus.ISSUED
    assert card.issued_by == OPERATOR.username
    assert card.issued_on == DAY
    assert enrollment.status == S.CARD_ISSUED
    with pytest.raises(InvalidState):
        service.issue_card(session, card_id=card.id, actor=OPERATOR)
    service.report_card(
        session, card_id=card.id, status="LOST", reason="stolen at the market", actor=OPERATOR
    )
    assert card.status == CardStatus.LOST
    assert card.ended_at is not None
    with pytest.raises(InvalidState):
        service.report_card(session, card_id=card.id, status="DAMAGED", reason="x", actor=OPERATOR)
    with pytest.raises(ValidationFailed):
        service.report_card(session, card_id=card.id, status="REVOKED", reason="x", actor=OPERATOR)
