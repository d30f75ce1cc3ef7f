"""With ``ektp.printing``: the suket becomes REPLACED when its holder's card is printed (public
page says so), and an approved re-issue request is printed and marked PRINTED."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ektp.models.reissue import ReissueStatus
from ektp.models.suket import SuketStatus
from ektp.printing import service as printing
from ektp.reissue import service as reissue
from ektp.suket import service
from tests.factories.blanko import make_lot_at
from tests.factories.enrollment import make_enrollment
from tests.factories.population import make_resident
from tests.suket.helpers import make_card, operator, recorded_resident

SECRET = "test-secret-key-0123456789abcdef"


def test_print_replaces_suket_and_prints_reissue(session: Session) -> None:
    actor = operator(session)
    holder = recorded_resident(session)
    suket = service.issue(session, resident_id=holder.id, actor=actor)
    token = service.token_for(suket, SECRET)
    make_lot_at(session, "REG:32.04", quantity=5)  # blanks arrive
    enrollment_id = service.latest_recording(session, holder.id).id  # type: ignore[union-attr]
    card = printing.print_card(session, region_code="32.04", actor=actor, enrollment_id=enrollment_id)
    session.refresh(suket)
    assert suket.status == SuketStatus.REPLACED.value
    assert suket.replaced_by_card_id == card.id
    assert service.public_view(session, token, SECRET).state == "REPLACED"

    carded = make_resident(session)
    make_enrollment(session, carded)
    make_card(session, carded)
    req = reissue.create(
        session,
        resident_id=carded.id,
        reason="DAMAGED",
        evidence=[reissue.EvidenceItem("DAMAGED_CARD", "x")],
        actor=actor,
    )
    reissue.decide(session, request_id=req.id, actor=actor)
    new = printing.print_card(session, region_code="32.04", actor=actor, reissue_request_id=req.id)
    session.refresh(req)
    assert req.status == ReissueStatus.PRINTED.value
    assert req.card_id == new.id
