"""Blank requests: the state machine (every allowed and refused transition), partial approval and
its remainder, region scoping, the ledger postings of release and proof of delivery, lending."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ektp.auth.permissions import SYSTEM, Principal, Role
from ektp.blanko import ledger
from ektp.blanko import requests as service
from ektp.blanko.contracts import (
    DeliveryLine,
    create_contract,
    ensure_locations,
    get_or_create_supplier,
    receive_lot,
)
from ektp.kit.errors import InvalidState, PermissionDenied, ValidationFailed
from ektp.kit.time import today_wib
from ektp.models.audit import AuditEntry
from ektp.models.blanko import LedgerEntry, LedgerEvent, Location, Lot
from ektp.models.blanko_requests import BlankRequest, RequestStatus
from tests.factories.auth import make_user, principal_of

S = RequestStatus
_serials = itertools.count(1)


# --------------------------------------------------------------------------------------------------
# helpers shared by the other request, allocation and indicator tests


def actor(session: Session, role: Role, region_code: str | None = None) -> Principal:
    return principal_of(make_user(session, role=role, region_code=region_code))


def stock_centre(session: Session, quantity: int, *, received_on: dt.date = dt.date(2017, 1, 10)) -> Lot:
    """Receive a fresh lot of ``quantity`` blanks at the centre (own contract, own serials)."""
    ensure_locations(session)
    n = next(_serials)
    supplier = get_or_create_supplier(session, name="PT Test Blanko", actor=SYSTEM)
    contract = create_contract(
        session,
        number=f"TEST-REQ-{n}-{quantity}",
        signed_on=dt.date(2017, 1, 2),
        supplier=supplier,
        quantity=quantity,
        unit_price_rupiah=9547,
        deliveries=[DeliveryLine(due_on=dt.date(2017, 1, 9), quantity=quantity)],
        actor=SYSTEM,
    )
    return receive_lot(
        session,
        contract=contract,
        lot_no=f"L{n}",
        received_on=received_on,
        quantity=quantity,
        serial_from=n * 100_000_000,
        actor=SYSTEM,
    )


def balance_of(session: Session, code: str) -> int:
    location = session.scalars(select(Location).where(Location.code == code)).one()
    return ledger.balance(session, location)


class People:
    def __init__(self, session: Session) -> None:
        self.operator = actor(session, Role.REGIONAL_OPERATOR, "32.04")
        self.other_operator = actor(session, Role.REGIONAL_OPERATOR, "32.73")
        self.province = actor(session, Role.REGIONAL_OPERATOR, "32")
        self.logistics = actor(session, Role.CENTRAL_LOGISTICS)
        self.admin = actor(session, Role.CENTRAL_ADMIN)
        self.auditor = actor(session, Role.AUDITOR)
        self.viewer = actor(session, Role.VIEWER, "32.04")


@pytest.fixture
def people(session: Session) -> People:
    return People(session)


def new_request(
    session: Session, who: Principal, region: str = "32.04", quantity: int = 1000
) -> BlankRequest:
    return service.create_request(
        session, region_code=region, quantity=quantity, justification="stock runs out next week", actor=who
    )


def advance(session: Session, people: People, request: BlankRequest, to: RequestStatus) -> BlankRequest:
    """Take ``request`` along the happy path until it is in status ``to``."""
    path = {
        S.INITIATED: [],
        S.SUBMITTED: ["submit"],
        S.APPROVED: ["submit", "approve"],
        S.REJECTED: ["submit", "reject"],
        S.RELEASED: ["submit", "approve", "release"],
        S.COLLECTED: ["submit", "approve", "release", "collect"],
        S.SHIPPED: ["submit", "approve", "release", "ship"],
        S.RECEIVED: ["submit", "approve", "release", "ship", "receive"],
    }[to]
    for step in path:
        ACTIONS[step](session, people, request)
    assert request.status == to.value
    return request


ACTIONS: dict[str, Callable[[Session, People, BlankRequest], object]] = {
    "submit": lambda s, p, r: service.submit(s, request=r, actor=p.operator),
    "approve": lambda s, p, r: service.approve(
        s, request=r, approved_quantity=r.requested_quantity, reason=None, actor=p.logistics
    ),
    "reject": lambda s, p, r: service.reject(s, request=r, reason="no stock", actor=p.logistics),
    "release": lambda s, p, r: service.release(s, request=r, actor=p.logistics),
    "collect": lambda s, p, r: service.dispatch(
        s, request=r, mode="COLLECTED", carrier="Asep", actor=p.logistics
    ),
    "ship": lambda s, p, r: service.dispatch(
        s, request=r, mode="SHIPPED", carrier="Pos Indonesia", actor=p.logistics
    ),
    "receive": lambda s, p, r: service.receive(
        s,
        request=r,
        counts=service.DeliveryCounts(accepted=r.approved_quantity or 0),
        received_by="Dedi",
        actor=p.operator,
    ),
}
#: The status each action leads to.
TARGET = {
    "submit": S.SUBMITTED,
    "approve": S.APPROVED,
    "reject": S.REJECTED,
    "release": S.RELEASED,
    "collect": S.COLLECTED,
    "ship": S.SHIPPED,
    "receive": S.RECEIVED,
}


# --------------------------------------------------------------------------------------------------
# state machine


CASES = [(status, action) for status in S for action in ACTIONS]


class TestStateMachine:
    @pytest.mark.parametrize(("status", "action"), CASES, ids=[f"{s.value}-{a}" for s, a in CASES])
    def test_every_action_from_every_status(
        self, session: Session, people: People, status: RequestStatus, action: str
    ) -> None:
        stock_centre(session, 5000)
        request = advance(session, people, new_request(session, people.operator), status)
        allowed = TARGET[action] in service.TRANSITIONS[status]
        if allowed:
            ACTIONS[action](session, people, request)
            assert request.status == TARGET[action].value
            history = service.transitions(session, request=request)
            assert (history[-1].from_status, history[-1].to_status) == (status.value, TARGET[action].value)
        else:
            with pytest.raises(InvalidState, match=f"is {status.value}: it cannot be"):
                ACTIONS[action](session, people, request)
            assert request.status == status.value

    def test_the_table_is_the_documented_flow(self) -> None:
        assert {s: {t.value for t in targets} for s, targets in service.TRANSITIONS.items()} == {
            S.INITIATED: {"SUBMITTED"},
            S.SUBMITTED: {"APPROVED", "REJECTED"},
            S.APPROVED: {"RELEASED"},
            S.REJECTED: set(),
            S.RELEASED: {"COLLECTED", "SHIPPED"},
            S.COLLECTED: {"RECEIVED"},
            S.SHIPPED: {"RECEIVED"},
            S.RECEIVED: set(),
        }

    def test_full_life_is_recorded_step_by_step_and_audited(self, session: Session, people: People) -> None:
        stock_centre(session, 5000)
        request = advance(session, people, new_request(session, people.operator), S.RECEIVED)
        history = service.transitions(session, request=request)
        assert [(h.from_status, h.to_status) for h in history] == [
            (None, "INITIATED"),
            ("INITIATED", "SUBMITTED"),
            ("SUBMITTED", "APPROVED"),
            ("APPROVED", "RELEASED"),
            ("RELEASED", "SHIPPED"),
            ("SHIPPED", "RECEIVED"),
        ]
        assert [h.actor_username for h in history] == [people.operator.username] * 2 + [
            people.logistics.username
        ] * 3 + [people.operator.username]
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity_id == request.number).order_by(AuditEntry.id)
        ).all()
        assert actions == [
            "blank_request.create",
            "blank_request.submit",
            "blank_request.approve",
            "blank_request.release",
            "blank_request.shipped",
            "blank_request.receive",
            "proof_of_delivery.create",
        ]

    def test_final_states_say_so(self, session: Session, people: People) -> None:
        request = advance(session, people, new_request(session, people.operator), S.REJECTED)
        with pytest.raises(InvalidState, match="REJECTED is final"):
            service.submit(session, request=request, actor=people.operator)

    def test_number_is_year_and_id(self, session: Session, people: People) -> None:
        request = new_request(session, people.operator)
        assert request.number == f"RQ-{today_wib().year}-{request.id:06d}"


# --------------------------------------------------------------------------------------------------
# approval


class TestApproval:
    def test_partial_approval_keeps_remainder_visible(self, session: Session, people: People) -> None:
        request = advance(session, people, new_request(session, people.operator, quantity=1000), S.SUBMITTED)
        assert request.unapproved_remainder is None
        service.approve(
            session, request=request, approved_quantity=300, reason="scarce: 30 %", actor=people.logistics
        )
        assert (request.approved_quantity, request.unapproved_remainder) == (300, 700)
        assert request.decision_reason == "scarce: 30 %"
        assert service.transitions(session, request=request)[-1].note == "approved 300 of 1000: scarce: 30 %"

    def test_partial_approval_needs_a_reason(self, session: Session, people: People) -> None:
        request = advance(session, people, new_request(session, people.operator, quantity=1000), S.SUBMITTED)
        with pytest.raises(ValidationFailed) as caught:
            service.approve(
                session, request=request, approved_quantity=300, reason=" ", actor=people.logistics
            )
        assert caught.value.problems[0].field == "reason"
        assert request.status == "SUBMITTED"

    def test_cannot_approve_more_than_requested(self, session: Session, people: People) -> None:
        request = advance(session, people, new_request(session, people.operator, quantity=1000), S.SUBMITTED)
        with pytest.raises(ValidationFailed) as caught:
            service.approve(
                session, request=request, approved_quantity=1001, reason=None, actor=people.logistics
            )
        assert (caught.value.problems[0].field, caught.value.problems[0].rule) == (
            "approved_quantity",
            "not_above_requested",
        )

    def test_rejection_leaves_the_whole_request_as_remainder(self, session: Session, people: People) -> None:
        request = advance(session, people, new_request(session, people.operator, quantity=800), S.REJECTED)
        assert request.unapproved_remainder == 800

    @pytest.mark.parametrize("who", ["operator", "province", "auditor"])
    def test_only_central_logistics_decides(self, session: Session, people: People, who: str) -> None:
        request = advance(session, people, new_request(session, people.operator), S.SUBMITTED)
        with pytest.raises(PermissionDenied, match="Only central logistics may approve"):
            service.approve(
                session, request=request, approved_quantity=100, reason="x", actor=getattr(people, who)
            )

    def test_central_admin_may_decide(self, session: Session, people: People) -> None:
        request = advance(session, people, new_request(session, people.operator), S.SUBMITTED)
        service.reject(session, request=request, reason="duplicate", actor=people.admin)
        assert request.status == "REJECTED"


# --------------------------------------------------------------------------------------------------
# scoping


class TestScope:
    def test_operator_creates_only_for_its_own_office(self, session: Session, people: People) -> None:
        with pytest.raises(PermissionDenied, match=r"acts for region 32\.04"):
            new_request(session, people.operator, region="32.73")

    def test_province_user_does_not_request_for_a_regency(self, session: Session, people: People) -> None:
        with pytest.raises(PermissionDenied):
            new_request(session, people.province, region="32.04")
        assert new_request(session, people.province, region="32").region_code == "32"

    def test_other_region_cannot_submit_or_receive(self, session: Session, people: People) -> None:
        request = new_request(session, people.operator)
        with pytest.raises(PermissionDenied):
            service.submit(session, request=request, actor=people.other_operator)

    def test_viewer_lacks_the_permission(self, session: Session, people: People) -> None:
        with pytest.raises(PermissionDenied, match="blanko:request"):
            new_request(session, people.viewer)

    def test_reading_is_scoped(self, session: Session, people: People) -> None:
        request = new_request(session, people.operator)
        with pytest.raises(PermissionDenied):
            service.get_request(session, request_id=request.id, actor=people.other_operator)
        assert service.get_request(session, request_id=request.id, actor=people.province) is request
        mine = service.list_requests(session, actor=people.other_operator)
        assert request not in mine.items

    @pytest.mark.parametrize(
        ("region", "field", "rule"),
        [("99.99", "region_code", "known_region"), ("32.04.05", "region_code", "office_level")],
    )
    def test_region_must_be_a_current_office(
        self, session: Session, people: People, region: str, field: str, rule: str
    ) -> None:
        with pytest.raises(ValidationFailed) as caught:
            new_request(session, people.logistics, region=region)
        assert (caught.value.problems[0].field, caught.value.problems[0].rule) == (field, rule)

    def test_quantity_and_justification_are_checked(self, session: Session, people: People) -> None:
        with pytest.raises(ValidationFailed) as caught:
            service.create_request(
                session, region_code="32.04", quantity=0, justification="x", actor=people.operator
            )
        assert caught.value.problems[0].field == "requested_quantity"
        with pytest.raises(ValidationFailed) as caught:
            service.create_request(
                session, region_code="32.04", quantity=5, justification=" ", actor=people.operator
            )
        assert caught.value.problems[0].field == "justification"

    def test_future_dates_are_refused(self, session: Session, people: People) -> None:
        with pytest.raises(ValidationFailed) as caught:
            service.create_request(
                session,
                region_code="32.04",
                quantity=5,
                justification="x",
                requested_on=today_wib() + dt.timedelta(days=2),
                actor=people.operator,
            )
        assert caught.value.problems[0].rule == "not_in_future"

    def test_only_initiated_requests_change(self, session: Session, people: People) -> None:
        request = new_request(session, people.operator, quantity=500)
        service.update_request(session, request=request, quantity=600, actor=people.operator)
        assert request.requested_quantity == 600
        service.submit(session, request=request, actor=people.operator)
        with pytest.raises(InvalidState, match="only an INITIATED request can be changed"):
            service.update_request(session, request=request, quantity=700, actor=people.operator)


# --------------------------------------------------------------------------------------------------
# ledger postings


def _events(session: Session, document_no: str) -> list[tuple[str, dict[str, int]]]:
    """(reason, {location code: net quantity}) of each ledger event of a document."""
    out = []
    for event in session.scalars(
        select(LedgerEvent).where(LedgerEvent.document_no == document_no).order_by(LedgerEvent.id)
    ):
        legs: dict[str, int] = {}
        for quantity, code in session.execute(
            select(LedgerEntry.quantity, Location.code)
            .join(Location, Location.id == LedgerEntry.location_id)
            .where(LedgerEntry.event_id == event.id)
        ):
            legs[code] = legs.get(code, 0) + quantity
        out.append((event.reason, legs))
    return out


class TestPostings:
    def test_release_moves_the_approved_quantity_into_transit(self, session: Session, people: People) -> None:
        stock_centre(session, 5000)
        centre_before = balance_of(session, "CENTRE")
        request = advance(session, people, new_request(session, people.operator, quantity=1200), S.SUBMITTED)
        service.approve(
            session, request=request, approved_quantity=800, reason="scarce", actor=people.logistics
        )
        service.release(session, request=request, actor=people.logistics)
        assert balance_of(session, "CENTRE") == centre_before - 800
        assert _events(session, request.number) == [
            ("RELEASE_TO_TRANSIT", {"CENTRE": -800, "IN_TRANSIT": 800}),
        ]
        assert request.released_on == today_wib()

    def test_release_beyond_central_stock_is_refused_and_nothing_moves(
        self, session: Session, people: People
    ) -> None:
        stock_centre(session, 100)
        centre_before = balance_of(session, "CENTRE")
        request = advance(
            session, people, new_request(session, people.operator, quantity=centre_before + 1), S.APPROVED
        )
        with pytest.raises(ledger.InsufficientStock):
            service.release(session, request=request, actor=people.logistics)
        assert balance_of(session, "CENTRE") == centre_before

    def test_full_receipt_lands_at_the_office(self, session: Session, people: People) -> None:
        stock_centre(session, 5000)
        office_before = balance_of(session, "REG:32.04")
        request = advance(session, people, new_request(session, people.operator, quantity=700), S.RECEIVED)
        assert balance_of(session, "REG:32.04") == office_before + 700
        assert _events(session, request.number)[-1] == (
            "RECEIPT_FROM_TRANSIT",
            {"IN_TRANSIT": -700, "REG:32.04": 700},
        )
        pod = service.proof_of_delivery(session, request=request)
        assert pod is not None
        assert (pod.accepted_quantity, pod.rejected_quantity) == (700, 0)

    def test_rejected_blanks_are_written_off_as_lost(self, session: Session, people: People) -> None:
        stock_centre(session, 5000)
        office_before, lost_before = balance_of(session, "REG:32.04"), balance_of(session, "LOST")
        transit_before = balance_of(session, "IN_TRANSIT")
        request = advance(session, people, new_request(session, people.operator, quantity=1000), S.SHIPPED)
        pod = service.receive(
            session,
            request=request,
            counts=service.DeliveryCounts(accepted=900, damaged=60, missing=40),
            rejection_reason="box 3 wet, box 4 short",
            received_by="Dedi",
            received_on=today_wib(),
            actor=people.operator,
        )
        assert (pod.accepted_quantity, pod.damaged_quantity, pod.missing_quantity) == (900, 60, 40)
        assert pod.rejected_quantity == 100
        assert balance_of(session, "REG:32.04") == office_before + 900
        assert balance_of(session, "LOST") == lost_before + 100
        assert balance_of(session, "IN_TRANSIT") == transit_before
        assert [reason for reason, _ in _events(session, request.number)] == [
            "RELEASE_TO_TRANSIT",
            "RECEIPT_FROM_TRANSIT",
            "LOSS",
            "LOSS",
        ]

    def test_receipt_takes_this_requests_lots_not_the_oldest_in_transit(
        self, session: Session, people: People
    ) -> None:
        old = stock_centre(session, 300, received_on=dt.date(2017, 1, 5))
        first = advance(session, people, new_request(session, people.operator, quantity=300), S.SHIPPED)
        new = stock_centre(session, 300, received_on=dt.date(2017, 2, 5))
        other = actor(session, Role.REGIONAL_OPERATOR, "32.73")
        second = new_request(session, other, region="32.73", quantity=200)
        service.submit(session, request=second, actor=other)
        service.approve(session, request=second, approved_quantity=200, reason=None, actor=people.logistics)
        service.release(session, request=second, actor=people.logistics)
        service.dispatch(session, request=second, mode="COLLECTED", carrier="Budi", actor=people.logistics)
        # Whatever FIFO at the centre gave each release, receiving the second moves its own lots.
        released = {
            lot.id: q
            for lot, q in ledger.document_lots(
                session, document_no=second.number, location=ledger.location_by_code(session, "IN_TRANSIT")
            )
        }
        service.receive(
            session,
            request=second,
            counts=service.DeliveryCounts(accepted=200),
            received_by="Budi",
            actor=other,
        )
        moved = {
            entry.lot_id: entry.quantity
            for entry in session.scalars(
                select(LedgerEntry)
                .join(LedgerEvent, LedgerEvent.id == LedgerEntry.event_id)
                .join(Location, Location.id == LedgerEntry.location_id)
                .where(
                    LedgerEvent.document_no == second.number,
                    LedgerEvent.reason == "RECEIPT_FROM_TRANSIT",
                    Location.code == "REG:32.73",
                )
            )
        }
        assert moved == released
        assert set(moved) <= {old.id, new.id}
        assert first.status == "SHIPPED"

    def test_pod_must_account_for_every_released_blank(self, session: Session, people: People) -> None:
        stock_centre(session, 5000)
        request = advance(session, people, new_request(session, people.operator, quantity=500), S.COLLECTED)
        with pytest.raises(ValidationFailed) as caught:
            service.receive(
                session,
                request=request,
                counts=service.DeliveryCounts(accepted=450),
                received_by="Dedi",
                actor=people.operator,
            )
        assert caught.value.problems[0].rule == "adds_up_to_released"
        with pytest.raises(ValidationFailed) as caught:
            service.receive(
                session,
                request=request,
                counts=service.DeliveryCounts(accepted=450, damaged=50),
                received_by="Dedi",
                actor=people.operator,
            )
        assert caught.value.problems[0].field == "rejection_reason"
        assert request.status == "COLLECTED"

    def test_receipt_cannot_predate_dispatch(self, session: Session, people: People) -> None:
        stock_centre(session, 5000)
        request = advance(session, people, new_request(session, people.operator, quantity=500), S.SHIPPED)
        with pytest.raises(ValidationFailed) as caught:
            service.receive(
                session,
                request=request,
                counts=service.DeliveryCounts(accepted=500),
                received_by="Dedi",
                received_on=today_wib() - dt.timedelta(days=3),
                actor=people.operator,
            )
        assert caught.value.problems[0].field == "received_on"

    def test_another_office_cannot_sign_the_pod(self, session: Session, people: People) -> None:
        stock_centre(session, 5000)
        request = advance(session, people, new_request(session, people.operator, quantity=500), S.SHIPPED)
        with pytest.raises(PermissionDenied):
            service.receive(
                session,
                request=request,
                counts=service.DeliveryCounts(accepted=500),
                received_by="X",
                actor=people.other_operator,
            )


# --------------------------------------------------------------------------------------------------
# lending


class TestLending:
    def _stock_office(self, session: Session, people: People, region: str, quantity: int) -> None:
        stock_centre(session, quantity)
        request = service.create_request(
            session, region_code=region, quantity=quantity, justification="seed", actor=people.logistics
        )
        service.submit(session, request=request, actor=people.logistics)
        service.approve(
            session, request=request, approved_quantity=quantity, reason=None, actor=people.logistics
        )
        service.release(session, request=request, actor=people.logistics)
        service.dispatch(session, request=request, mode="SHIPPED", carrier="JNE", actor=people.logistics)
        service.receive(
            session,
            request=request,
            counts=service.DeliveryCounts(quantity),
            received_by="x",
            actor=people.logistics,
        )

    def test_province_lends_between_its_regencies(self, session: Session, people: People) -> None:
        self._stock_office(session, people, "32.04", 1000)
        a, b = balance_of(session, "REG:32.04"), balance_of(session, "REG:32.73")
        loan = service.lend(
            session, from_region="32.04", to_region="32.73", quantity=400, actor=people.province
        )
        assert loan.number == f"LN-{today_wib().year}-{loan.id:06d}"
        assert (balance_of(session, "REG:32.04"), balance_of(session, "REG:32.73")) == (a - 400, b + 400)
        assert _events(session, loan.number) == [("TRANSFER", {"REG:32.04": -400, "REG:32.73": 400})]
        assert loan in service.list_loans(session, actor=people.other_operator)

    def test_central_logistics_may_lend(self, session: Session, people: People) -> None:
        self._stock_office(session, people, "32.04", 500)
        service.lend(session, from_region="32.04", to_region="32.73", quantity=100, actor=people.logistics)

    @pytest.mark.parametrize("who", ["operator", "other_operator", "auditor"])
    def test_regency_users_and_auditors_may_not_lend(
        self, session: Session, people: People, who: str
    ) -> None:
        self._stock_office(session, people, "32.04", 500)
        with pytest.raises(PermissionDenied):
            service.lend(
                session, from_region="32.04", to_region="32.73", quantity=100, actor=getattr(people, who)
            )

    def test_other_province_user_may_not_lend(self, session: Session) -> None:
        jakarta = actor(session, Role.REGIONAL_OPERATOR, "31")
        with pytest.raises(PermissionDenied, match="province 32"):
            service.lend(session, from_region="32.04", to_region="32.73", quantity=1, actor=jakarta)

    @pytest.mark.parametrize(
        ("source", "target", "field", "rule"),
        [
            ("32.04", "31.71", "to_region", "same_province"),
            ("32.04", "32.04", "to_region", "distinct"),
            ("32", "32.04", "from_region", "regency_level"),
        ],
    )
    def test_bad_pairs_are_refused(
        self, session: Session, people: People, source: str, target: str, field: str, rule: str
    ) -> None:
        with pytest.raises(ValidationFailed) as caught:
            service.lend(session, from_region=source, to_region=target, quantity=1, actor=people.logistics)
        assert (caught.value.problems[0].field, caught.value.problems[0].rule) == (field, rule)

    def test_cannot_lend_more_than_held(self, session: Session, people: People) -> None:
        ensure_locations(session)
        held = balance_of(session, "REG:32.04")
        with pytest.raises(ledger.InsufficientStock):
            service.lend(
                session, from_region="32.04", to_region="32.73", quantity=held + 1, actor=people.province
            )
