"""Suket rules: issue (causes, refusals), numbers, renew, cancel, age buckets, PDF text, token."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from ektp.kit.errors import Conflict, InvalidState, ValidationFailed
from ektp.kit.time import today_wib, utcnow
from ektp.models.audit import AuditEntry
from ektp.models.cards import CardStatus
from ektp.models.enrollment import EnrollmentStatus as S
from ektp.models.suket import SuketCause, SuketStatus
from ektp.suket import pdf, service
from tests.factories.blanko import make_lot_at
from tests.factories.enrollment import make_enrollment
from tests.factories.population import make_resident
from tests.suket.helpers import make_card, operator, recorded_resident

SECRET = "test-secret-key-0123456789abcdef"


def test_issue_no_stock_for_prr(session: Session) -> None:
    actor = operator(session)
    resident = recorded_resident(session)
    suket = service.issue(session, resident_id=resident.id, actor=actor)
    assert suket.cause == SuketCause.NO_STOCK.value
    assert suket.status_code == S.PRINT_READY_RECORD.value
    assert suket.number.startswith(f"SKT/32.04/{suket.issued_on.year}/")
    assert suket.valid_until == service.add_months(suket.issued_on, 6)
    assert suket.issued_by == actor.username
    assert session.scalar(
        select(AuditEntry.id).where(AuditEntry.action == "suket.issue", AuditEntry.entity_id == str(suket.id))
    )


def test_issue_record_waiting_and_numbers_increase(session: Session) -> None:
    actor = operator(session)
    a = service.issue(session, resident_id=recorded_resident(session, S.ADJUDICATE_RECORD).id, actor=actor)
    b = service.issue(session, resident_id=recorded_resident(session, S.SENT_FOR_ENROLLMENT).id, actor=actor)
    assert a.cause == b.cause == SuketCause.RECORD_WAITING.value
    assert int(b.number.rsplit("/", 1)[1]) == int(a.number.rsplit("/", 1)[1]) + 1


def test_refusals(session: Session) -> None:
    actor = operator(session)
    # no recording at all / only a failed recording
    lone = make_resident(session)
    with pytest.raises(InvalidState):
        service.issue(session, resident_id=lone.id, actor=actor)
    failed = recorded_resident(session, S.ENROLL_FAILURE)
    with pytest.raises(InvalidState):
        service.issue(session, resident_id=failed.id, actor=actor)
    # a valid card
    carded = recorded_resident(session)
    make_card(session, carded)
    with pytest.raises(Conflict, match="valid card"):
        service.issue(session, resident_id=carded.id, actor=actor)
    # an active suket already
    holder = recorded_resident(session)
    service.issue(session, resident_id=holder.id, actor=actor)
    with pytest.raises(Conflict, match="renew"):
        service.issue(session, resident_id=holder.id, actor=actor)
    # another region's operator
    with pytest.raises(Exception, match="scoped"):
        service.issue(session, resident_id=recorded_resident(session).id, actor=operator(session, "32.73"))


def test_refused_when_region_has_stock(session: Session) -> None:
    actor = operator(session)
    make_lot_at(session, "REG:32.04", quantity=3)
    with pytest.raises(InvalidState, match="print the card"):
        service.issue(session, resident_id=recorded_resident(session).id, actor=actor)
    # a record still waiting gets one even with stock
    waiting = recorded_resident(session, S.BIO_CAPTURED)
    assert (
        service.issue(session, resident_id=waiting.id, actor=actor).cause == SuketCause.RECORD_WAITING.value
    )


def test_revoked_card_does_not_block(session: Session) -> None:
    actor = operator(session)
    resident = recorded_resident(session)
    make_card(session, resident, status=CardStatus.REVOKED)
    assert service.issue(session, resident_id=resident.id, actor=actor).status == SuketStatus.ACTIVE.value


def test_renew_window_and_chain(session: Session) -> None:
    actor = operator(session)
    resident = recorded_resident(session)
    today = today_wib()
    fresh = service.issue(session, resident_id=resident.id, actor=actor, issued_on=today)
    with pytest.raises(InvalidState, match="renewed from"):
        service.renew(session, suket_id=fresh.id, actor=actor, today=today)
    near = service.add_months(today, 6) - dt.timedelta(days=10)
    new = service.renew(session, suket_id=fresh.id, actor=actor, today=near)
    assert fresh.status == SuketStatus.RENEWED.value
    assert fresh.renewed_by_suket_id == new.id
    assert new.renewed_from_suket_id == fresh.id
    assert new.number != fresh.number
    assert new.status == SuketStatus.ACTIVE.value
    assert new.issued_on == near
    with pytest.raises(InvalidState):
        service.renew(session, suket_id=fresh.id, actor=actor, today=near)


def test_cancel(session: Session) -> None:
    actor = operator(session)
    suket = service.issue(session, resident_id=recorded_resident(session).id, actor=actor)
    with pytest.raises(ValidationFailed):
        service.cancel(session, suket_id=suket.id, reason=" ", actor=actor)
    service.cancel(session, suket_id=suket.id, reason="issued by mistake", actor=actor)
    assert suket.status == SuketStatus.CANCELLED.value
    assert suket.end_note == "issued by mistake"
    with pytest.raises(InvalidState):
        service.cancel(session, suket_id=suket.id, reason="again", actor=actor)


def test_outstanding_age_buckets(session: Session) -> None:
    actor = operator(session, "32")
    today = dt.date(2026, 11, 22)
    ages = {"0-1": dt.date(2026, 11, 1), "1-3": dt.date(2026, 9, 1), "3-6": dt.date(2026, 6, 1)}
    for issued_on in [*ages.values(), dt.date(2026, 3, 1)]:
        service.issue(session, resident_id=recorded_resident(session).id, actor=actor, issued_on=issued_on)
    cancelled = service.issue(
        session, resident_id=recorded_resident(session).id, actor=actor, issued_on=today
    )
    service.cancel(session, suket_id=cancelled.id, reason="x", actor=actor)
    rows = {r.region_code: r for r in service.outstanding(session, actor, today=today)}
    assert rows["32.04"].buckets == {"0-1": 1, "1-3": 1, "3-6": 1, "expired": 1}
    assert rows["32.04"].total == 4


def test_pdf_text(session: Session) -> None:
    actor = operator(session)
    resident = recorded_resident(session)
    suket = service.issue(session, resident_id=resident.id, actor=actor)
    body = pdf.render_suket_pdf(session, suket, base_url="http://ektp.test", secret_key=SECRET)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    assert "SURAT KETERANGAN" in text
    assert suket.number in text
    assert resident.full_name in text
    assert resident.nik in text
    assert "PRINT_READY_RECORD" in text
    assert "http://ektp.test/verify/suket/" in text


def test_token_states(session: Session) -> None:
    actor = operator(session)
    resident = recorded_resident(session)
    suket = service.issue(session, resident_id=resident.id, actor=actor)
    token = service.token_for(suket, SECRET)
    view = service.public_view(session, token, SECRET)
    assert (view.state, view.number, view.nik, view.name) == (
        "VALID",
        suket.number,
        resident.nik,
        resident.full_name,
    )
    assert (
        service.public_view(session, token, SECRET, today=suket.valid_until + dt.timedelta(days=1)).state
        == "EXPIRED"
    )
    assert (
        service.public_view(session, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), SECRET).state
        == "INVALID"
    )
    assert service.public_view(session, token, "another-secret-key").state == "INVALID"
    # the card is printed: printing marks the suket REPLACED (done here by hand)
    card = make_card(session, resident)
    suket.status, suket.replaced_by_card_id, suket.ended_at = SuketStatus.REPLACED.value, card.id, utcnow()
    session.flush()
    assert service.public_view(session, token, SECRET).state == "REPLACED"


def test_expired_by_old_issue_date(session: Session) -> None:
    actor = operator(session)
    suket = service.issue(
        session, resident_id=recorded_resident(session).id, actor=actor, issued_on=dt.date(2025, 1, 2)
    )
    assert service.public_view(session, service.token_for(suket, SECRET), SECRET).state == "EXPIRED"


def test_second_recording_counts(session: Session) -> None:
    actor = operator(session)
    resident = make_resident(session)
    make_enrollment(session, resident, status=S.ENROLL_FAILURE)
    make_enrollment(session, resident, status=S.SENT_FOR_ENROLLMENT)
    assert (
        service.issue(session, resident_id=resident.id, actor=actor).cause == SuketCause.RECORD_WAITING.value
    )


def test_lost_card_holder_gets_a_suket_when_no_stock(session: Session) -> None:
    actor = operator(session)
    resident = recorded_resident(session, S.CARD_ISSUED)
    make_card(session, resident, status=CardStatus.LOST)
    suket = service.issue(session, resident_id=resident.id, actor=actor)
    assert suket.cause == SuketCause.NO_STOCK.value
    assert suket.status_code == S.CARD_ISSUED.value
