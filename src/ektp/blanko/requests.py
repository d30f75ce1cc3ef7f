"""Blank requests (OpenLMIS-style requisitions): a region asks, the centre decides and releases,
the region confirms what arrived with a proof of delivery. Plus loans between the regencies of
one province.

State machine (:data:`TRANSITIONS`)::

    INITIATED → SUBMITTED → APPROVED → RELEASED → COLLECTED ┐
                    │                           → SHIPPED   ┴→ RECEIVED
                    └─────→ REJECTED

Who may do what:

* create, submit, receive (proof of delivery): the requesting office itself — a user scoped to
  exactly that region — or a central user holding ``blanko:write``;
* approve (possibly partially, with a reason), reject, release, record collection or shipment:
  central logistics (a central user with ``blanko:write``: CENTRAL_LOGISTICS or CENTRAL_ADMIN);
* lend between regencies of one province: a user scoped to that province or a central one.

Ledger postings (each with the request's ``number`` as document number, see :mod:`ektp.blanko.ledger`):

* **release**: ``CENTRE → IN_TRANSIT`` the approved quantity, FIFO by lot (reason
  ``RELEASE_TO_TRANSIT``);
* **receive**: the lots that release put in transit under this document leave ``IN_TRANSIT``
  exactly (not FIFO over everything in transit, which could take another request's lots):
  *accepted* blanks to the region's location (reason ``RECEIPT_FROM_TRANSIT``); *rejected*
  blanks — *damaged* and *missing* alike — to ``LOST`` (reason ``LOSS``, one event each, the note
  saying which and why). **Choice:** damaged blanks are written off rather than posted back to
  ``CENTRE`` because central stock is released FIFO by lot and a lot cannot be split into good
  and bad blanks: a damaged blank booked back at the centre would be counted as supply by the
  next allocation run and picked by the next release. Their physical return and destruction is
  recorded outside the ledger, with the request number. Lots are consumed in the order they were
  released: accepted first, then damaged, then missing (the POD does not say which serials).
* **lend**: ``REG:a → REG:b``, FIFO by lot (reason ``TRANSFER``), document ``LN-yyyy-nnnnnn``.

Every transition writes a :class:`BlankRequestTransition` (who, when, from, to, note) and an
audit entry; a transition not allowed from the current status raises :class:`InvalidState` (409)
naming the status and what is allowed from it. Services never commit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ektp.audit.service import record, snapshot
from ektp.auth.permissions import Permission, Principal
from ektp.blanko import ledger
from ektp.kit.errors import InvalidState, NotFound, PermissionDenied, invalid
from ektp.kit.pagination import Page, PageParams
from ektp.kit.time import today_wib
from ektp.models.blanko import CENTRE_CODE, VIRTUAL_CODES, LedgerReason, Location, LocationKind
from ektp.models.blanko_requests import (
    BlankLoan,
    BlankRequest,
    BlankRequestTransition,
    ProofOfDelivery,
    RequestStatus,
)
from ektp.models.regions import Region

S = RequestStatus

#: Status → the statuses a request may move to from it.
TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    S.INITIATED: frozenset({S.SUBMITTED}),
    S.SUBMITTED: frozenset({S.APPROVED, S.REJECTED}),
    S.APPROVED: frozenset({S.RELEASED}),
    S.REJECTED: frozenset(),
    S.RELEASED: frozenset({S.COLLECTED, S.SHIPPED}),
    S.COLLECTED: frozenset({S.RECEIVED}),
    S.SHIPPED: frozenset({S.RECEIVED}),
    S.RECEIVED: frozenset(),
}

#: The action that leads into each status (for messages).
ACTION_INTO: dict[RequestStatus, str] = {
    S.SUBMITTED: "submit",
    S.APPROVED: "approve",
    S.REJECTED: "reject",
    S.RELEASED: "release",
    S.COLLECTED: "collect",
    S.SHIPPED: "ship",
    S.RECEIVED: "receive",
}

#: Statuses still waiting for a decision or for the blanks (not REJECTED, not RECEIVED).
OPEN_STATUSES: tuple[RequestStatus, ...] = (
    S.INITIATED,
    S.SUBMITTED,
    S.APPROVED,
    S.RELEASED,
    S.COLLECTED,
    S.SHIPPED,
)

# Ledger locations and reasons used here.
CENTRE = CENTRE_CODE
IN_TRANSIT = VIRTUAL_CODES[LocationKind.IN_TRANSIT]
LOST = VIRTUAL_CODES[LocationKind.LOST]
REASON_RELEASE = LedgerReason.RELEASE_TO_TRANSIT
REASON_RECEIPT = LedgerReason.RECEIPT_FROM_TRANSIT
REASON_LOSS = LedgerReason.LOSS
REASON_TRANSFER = LedgerReason.TRANSFER

JUSTIFICATION_MAX = 2000
REASON_MAX = 2000
NAME_MAX = 120

_AUDITED = (
    "number",
    "region_code",
    "status",
    "requested_quantity",
    "approved_quantity",
    "decision_reason",
    "approved_on",
    "released_on",
    "dispatch_mode",
    "dispatched_on",
    "carrier",
    "allocation_run_id",
)


def location_of(region_code: str) -> str:
    """Ledger location code of a region office: "32" → "PROV:32", "32.04" → "REG:32.04"."""
    return f"PROV:{region_code}" if "." not in region_code else f"REG:{region_code}"


def location(session: Session, code: str) -> Location:
    """The ledger location with ``code`` (created with the others by
    ``ektp.blanko.contracts.ensure_locations``)."""
    found = session.scalars(select(Location).where(Location.code == code)).one_or_none()
    if found is None:
        raise InvalidState(
            f"Ledger location {code} does not exist: run 'ektp blanko' set-up (ensure_locations)."
        )
    return found


def balance_at(session: Session, code: str) -> int:
    """Blanks at the location ``code`` (0 when it has no ledger location yet)."""
    found = session.scalars(select(Location).where(Location.code == code)).one_or_none()
    return 0 if found is None else ledger.balance(session, found)


def office_balance(session: Session, region_code: str) -> int:
    """Blanks held by a region office."""
    return balance_at(session, location_of(region_code))


def centre_balance(session: Session) -> int:
    """Blanks at the central warehouse."""
    return balance_at(session, CENTRE)


# --------------------------------------------------------------------------------------------------
# checks


def is_central_logistics(actor: Principal) -> bool:
    """A national user who may move central stock (CENTRAL_LOGISTICS or CENTRAL_ADMIN)."""
    return actor.region_code is None and actor.can(Permission.BLANKO_WRITE)


def ensure_central_logistics(actor: Principal, action: str) -> None:
    if not is_central_logistics(actor):
        raise PermissionDenied(
            f"Only central logistics may {action} blank requests; user {actor.username!r} "
            f"(role {actor.role.value!r}"
            + (f", region {actor.region_code}" if actor.region_code else "")
            + ") may not."
        )


def ensure_office(actor: Principal, region_code: str, action: str) -> None:
    """The requesting office itself (a user scoped to exactly ``region_code``) or central logistics."""
    if not actor.can(Permission.BLANKO_REQUEST):
        raise PermissionDenied(f"Role {actor.role.value!r} lacks permission 'blanko:request'.")
    if actor.region_code is None:
        ensure_central_logistics(actor, action)
        return
    if actor.region_code != region_code:
        raise PermissionDenied(
            f"User {actor.username!r} acts for region {actor.region_code} and may not {action} "
            f"requests of region {region_code}."
        )


def ensure_reader(actor: Principal, region_code: str) -> None:
    if not actor.can(Permission.BLANKO_READ):
        raise PermissionDenied(f"Role {actor.role.value!r} lacks permission 'blanko:read'.")
    if not actor.covers_region(region_code):
        raise PermissionDenied(
            f"User {actor.username!r} is scoped to region {actor.region_code} "
            f"and may not access blank requests of region {region_code}."
        )


def office_region(session: Session, code: str, field: str = "region_code") -> Region:
    """A current province or regency/city (the levels that hold blank stock)."""
    region = session.get(Region, code) if isinstance(code, str) else None
    if region is None:
        raise invalid(field, "known_region", f"{field}: no region with code {code!r}")
    if region.level not in (1, 2):
        raise invalid(
            field,
            "office_level",
            f"{field}: {code} is not a province or regency/city (blank stock is held by those offices)",
        )
    if region.valid_to is not None:
        raise invalid(field, "current_region", f"{field}: region {code} is retired")
    return region


def _quantity(value: object, field: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, "integer", f"{field} must be a whole number of blanks")
    if value < minimum:
        raise invalid(field, "minimum", f"{field} must be at least {minimum}, got {value}")
    return value


def _text(value: str | None, field: str, *, maximum: int, required: bool) -> str | None:
    cleaned = (value or "").strip()
    if not cleaned:
        if required:
            raise invalid(field, "required", f"{field} is required")
        return None
    if len(cleaned) > maximum:
        raise invalid(field, "max_length", f"{field} must be at most {maximum} characters")
    return cleaned


def _business_date(value: dt.date | None, field: str, *, not_before: dt.date | None = None) -> dt.date:
    today = today_wib()
    if value is None:
        value = today
    if value > today:
        raise invalid(field, "not_in_future", f"{field} {value} is in the future (today is {today})")
    if not_before is not None and value < not_before:
        raise invalid(field, "not_before_previous_step", f"{field} {value} is before {not_before}")
    return value


# --------------------------------------------------------------------------------------------------
# transitions


def _move(
    session: Session, request: BlankRequest, to: RequestStatus, *, actor: Principal, note: str | None
) -> BlankRequestTransition:
    current = RequestStatus(request.status)
    if to not in TRANSITIONS[current]:
        allowed = sorted(ACTION_INTO[s] for s in TRANSITIONS[current])
        raise InvalidState(
            f"Request {request.number} is {current.value}: it cannot be {_past(to)}"
            + (
                f" (from {current.value} it can only be: {', '.join(allowed)})."
                if allowed
                else f" ({current.value} is final)."
            )
        )
    request.status = to.value
    row = BlankRequestTransition(
        request_id=request.id,
        from_status=current.value,
        to_status=to.value,
        actor_user_id=actor.user_id,
        actor_username=actor.username,
        note=note,
    )
    session.add(row)
    return row


def _past(status: RequestStatus) -> str:
    return {
        S.SUBMITTED: "submitted",
        S.APPROVED: "approved",
        S.REJECTED: "rejected",
        S.RELEASED: "released",
        S.COLLECTED: "marked collected",
        S.SHIPPED: "marked shipped",
        S.RECEIVED: "received",
    }.get(status, status.value)


def _audit(
    session: Session, request: BlankRequest, *, actor: Principal, action: str, before: dict[str, Any] | None
) -> None:
    session.flush()
    record(
        session,
        actor=actor,
        action=f"blank_request.{action}",
        entity_type="blank_request",
        entity_id=request.number,
        before=before,
        after=snapshot(request, _AUDITED),
    )


def _state(request: BlankRequest) -> dict[str, Any]:
    return snapshot(request, _AUDITED)


# --------------------------------------------------------------------------------------------------
# create, read


def create_request(
    session: Session,
    *,
    region_code: str,
    quantity: int,
    justification: str,
    actor: Principal,
    requested_on: dt.date | None = None,
) -> BlankRequest:
    """A new request in status INITIATED (number ``RQ-<year>-<id>``)."""
    office_region(session, region_code)
    ensure_office(actor, region_code, "create")
    quantity = _quantity(quantity, "requested_quantity")
    text = _text(justification, "justification", maximum=JUSTIFICATION_MAX, required=True)
    day = _business_date(requested_on, "requested_on")
    request = BlankRequest(
        number=f"RQ-TMP-{uuid.uuid4().hex[:24]}",  # renamed once the id is known
        region_code=region_code,
        requested_quantity=quantity,
        justification=text,
        status=S.INITIATED.value,
        requested_on=day,
        created_by_user_id=actor.user_id,
    )
    session.add(request)
    session.flush()
    request.number = f"RQ-{day.year}-{request.id:06d}"
    session.add(
        BlankRequestTransition(
            request_id=request.id,
            from_status=None,
            to_status=S.INITIATED.value,
            actor_user_id=actor.user_id,
            actor_username=actor.username,
            note=None,
        )
    )
    _audit(session, request, actor=actor, action="create", before=None)
    return request


def update_request(
    session: Session,
    *,
    request: BlankRequest,
    actor: Principal,
    quantity: int | None = None,
    justification: str | None = None,
) -> BlankRequest:
    """Change an INITIATED request (after submission it is the centre's to decide)."""
    ensure_office(actor, request.region_code, "change")
    if request.status != S.INITIATED.value:
        raise InvalidState(
            f"Request {request.number} is {request.status}: only an INITIATED request can be changed."
        )
    before = _state(request)
    if quantity is not None:
        request.requested_quantity = _quantity(quantity, "requested_quantity")
    if justification is not None:
        text = _text(justification, "justification", maximum=JUSTIFICATION_MAX, required=True)
        assert text is not None
        request.justification = text
    _audit(session, request, actor=actor, action="update", before=before)
    return request


def get_request(
    session: Session, *, request_id: int, actor: Principal, for_update: bool = False
) -> BlankRequest:
    """One request, if ``actor`` may see it (else 403; 404 when there is none)."""
    query = select(BlankRequest).where(BlankRequest.id == request_id)
    if for_update:
        query = query.with_for_update()
    request = session.scalars(query).one_or_none()
    if request is None:
        raise NotFound(f"No blank request with id {request_id}.")
    ensure_reader(actor, request.region_code)
    return request


def get_request_by_number(session: Session, *, number: str, actor: Principal) -> BlankRequest:
    request = session.scalars(select(BlankRequest).where(BlankRequest.number == number)).one_or_none()
    if request is None:
        raise NotFound(f"No blank request numbered {number!r}.")
    ensure_reader(actor, request.region_code)
    return request


def list_requests(
    session: Session,
    *,
    actor: Principal,
    status: Sequence[RequestStatus] = (),
    region_code: str | None = None,
    page: PageParams = PageParams(),
) -> Page[BlankRequest]:
    """Requests the actor may see, newest first; ``region_code`` filters to a region and the
    offices under it (a regional user always sees only its own region's)."""
    if not actor.can(Permission.BLANKO_READ):
        raise PermissionDenied(f"Role {actor.role.value!r} lacks permission 'blanko:read'.")
    scope = region_code or actor.region_code
    if scope is not None:
        ensure_reader(actor, scope)
    query = select(BlankRequest)
    if scope is not None:
        query = query.where(
            (BlankRequest.region_code == scope) | BlankRequest.region_code.startswith(scope + ".")
        )
    if status:
        query = query.where(BlankRequest.status.in_([s.value for s in status]))
    rows = list(
        session.scalars(query.order_by(BlankRequest.id.desc()).offset(page.offset).limit(page.size + 1))
    )
    return Page(items=rows[: page.size], page=page.page, size=page.size, has_next=len(rows) > page.size)


def transitions(session: Session, *, request: BlankRequest) -> list[BlankRequestTransition]:
    return list(
        session.scalars(
            select(BlankRequestTransition)
            .where(BlankRequestTransition.request_id == request.id)
            .order_by(BlankRequestTransition.id)
        )
    )


def proof_of_delivery(session: Session, *, request: BlankRequest) -> ProofOfDelivery | None:
    return session.scalars(
        select(ProofOfDelivery).where(ProofOfDelivery.request_id == request.id)
    ).one_or_none()


def committed_quantity(session: Session) -> int:
    """Blanks approved but not yet released: promised, still at the centre."""
    total = session.scalar(
        select(func.coalesce(func.sum(BlankRequest.approved_quantity), 0)).where(
            BlankRequest.status == S.APPROVED.value
        )
    )
    return int(total or 0)


# --------------------------------------------------------------------------------------------------
# the steps


def submit(
    session: Session, *, request: BlankRequest, actor: Principal, note: str | None = None
) -> BlankRequest:
    ensure_office(actor, request.region_code, "submit")
    before = _state(request)
    _move(
        session,
        request,
        S.SUBMITTED,
        actor=actor,
        note=_text(note, "note", maximum=REASON_MAX, required=False),
    )
    _audit(session, request, actor=actor, action="submit", before=before)
    return request


def approve(
    session: Session,
    *,
    request: BlankRequest,
    approved_quantity: int,
    reason: str | None,
    actor: Principal,
    approved_on: dt.date | None = None,
    allocation_run_id: int | None = None,
) -> BlankRequest:
    """Approve all or part of a SUBMITTED request. Less than requested needs a ``reason``; the
    rest stays visible as ``unapproved_remainder``."""
    ensure_central_logistics(actor, "approve")
    quantity = _quantity(approved_quantity, "approved_quantity")
    if quantity > request.requested_quantity:
        raise invalid(
            "approved_quantity",
            "not_above_requested",
            f"approved_quantity {quantity} exceeds the {request.requested_quantity} requested",
        )
    why = _text(reason, "reason", maximum=REASON_MAX, required=quantity < request.requested_quantity)
    day = _business_date(approved_on, "approved_on", not_before=request.requested_on)
    before = _state(request)
    note = f"approved {quantity} of {request.requested_quantity}" + (f": {why}" if why else "")
    _move(session, request, S.APPROVED, actor=actor, note=note)
    request.approved_quantity = quantity
    request.decision_reason = why
    request.approved_on = day
    request.allocation_run_id = allocation_run_id
    _audit(session, request, actor=actor, action="approve", before=before)
    return request


def reject(session: Session, *, request: BlankRequest, reason: str, actor: Principal) -> BlankRequest:
    ensure_central_logistics(actor, "reject")
    why = _text(reason, "reason", maximum=REASON_MAX, required=True)
    before = _state(request)
    _move(session, request, S.REJECTED, actor=actor, note=why)
    request.decision_reason = why
    _audit(session, request, actor=actor, action="reject", before=before)
    return request


def release(
    session: Session, *, request: BlankRequest, actor: Principal, released_on: dt.date | None = None
) -> BlankRequest:
    """Post the approved quantity CENTRE → IN_TRANSIT (FIFO by lot) under the request's number."""
    ensure_central_logistics(actor, "release")
    before = _state(request)
    day = _business_date(released_on, "released_on", not_before=request.approved_on)
    _move(session, request, S.RELEASED, actor=actor, note=f"released {request.approved_quantity}")
    assert request.approved_quantity is not None
    ledger.post_fifo(
        session,
        reason=REASON_RELEASE,
        from_location=location(session, CENTRE),
        to_location=location(session, IN_TRANSIT),
        quantity=request.approved_quantity,
        document_no=request.number,
        business_date=day,
        actor=actor,
    )
    request.released_on = day
    _audit(session, request, actor=actor, action="release", before=before)
    return request


DispatchMode = Literal["COLLECTED", "SHIPPED"]


def dispatch(
    session: Session,
    *,
    request: BlankRequest,
    mode: DispatchMode,
    carrier: str,
    actor: Principal,
    dispatched_on: dt.date | None = None,
) -> BlankRequest:
    """Record that the released blanks left the warehouse: COLLECTED by the region's officer
    (``carrier`` = who collected) or SHIPPED by a carrier (``carrier`` = company and waybill)."""
    ensure_central_logistics(actor, "dispatch")
    if mode not in ("COLLECTED", "SHIPPED"):
        raise invalid("mode", "choice", f"mode must be 'COLLECTED' or 'SHIPPED', got {mode!r}")
    who = _text(carrier, "carrier", maximum=NAME_MAX, required=True)
    day = _business_date(dispatched_on, "dispatched_on", not_before=request.released_on)
    before = _state(request)
    _move(session, request, RequestStatus(mode), actor=actor, note=f"{mode.lower()} by {who}")
    request.dispatch_mode = mode
    request.dispatched_on = day
    request.carrier = who
    _audit(session, request, actor=actor, action=mode.lower(), before=before)
    return request


@dataclass(frozen=True)
class DeliveryCounts:
    accepted: int
    damaged: int = 0
    missing: int = 0

    @property
    def total(self) -> int:
        return self.accepted + self.damaged + self.missing


def receive(
    session: Session,
    *,
    request: BlankRequest,
    counts: DeliveryCounts,
    received_by: str,
    actor: Principal,
    rejection_reason: str | None = None,
    received_on: dt.date | None = None,
) -> ProofOfDelivery:
    """Proof of delivery: every released blank is accepted, damaged or missing (they must add up
    to the approved quantity). Posts the lots of this request's release out of IN_TRANSIT (see the
    module docstring for where each kind goes)."""
    ensure_office(actor, request.region_code, "receive")
    accepted = _quantity(counts.accepted, "accepted_quantity", minimum=0)
    damaged = _quantity(counts.damaged, "damaged_quantity", minimum=0)
    missing = _quantity(counts.missing, "missing_quantity", minimum=0)
    signer = _text(received_by, "received_by", maximum=NAME_MAX, required=True)
    why = _text(rejection_reason, "rejection_reason", maximum=REASON_MAX, required=damaged + missing > 0)
    current = RequestStatus(request.status)
    if S.RECEIVED not in TRANSITIONS[current]:
        _move(session, request, S.RECEIVED, actor=actor, note=None)  # raises the clear InvalidState
    shipped = request.approved_quantity or 0
    if accepted + damaged + missing != shipped:
        raise invalid(
            "accepted_quantity",
            "adds_up_to_released",
            f"accepted ({accepted}) + damaged ({damaged}) + missing ({missing}) = "
            f"{accepted + damaged + missing}, but {shipped} blanks were released",
        )
    day = _business_date(received_on, "received_on", not_before=request.dispatched_on or request.released_on)
    before = _state(request)
    note = (
        f"accepted {accepted}"
        + (f", damaged {damaged}" if damaged else "")
        + (f", missing {missing}" if missing else "")
    )
    _move(session, request, S.RECEIVED, actor=actor, note=note + (f": {why}" if why else ""))
    pod = ProofOfDelivery(
        request_id=request.id,
        accepted_quantity=accepted,
        damaged_quantity=damaged,
        missing_quantity=missing,
        rejection_reason=why,
        received_on=day,
        received_by=signer,
        recorded_by_user_id=actor.user_id,
    )
    session.add(pod)
    _post_delivery(
        session,
        request=request,
        parts=(
            (
                location_of(request.region_code),
                REASON_RECEIPT,
                accepted,
                f"proof of delivery signed by {signer}"[:500],
            ),
            (LOST, REASON_LOSS, damaged, f"damaged in transit: {why}"[:500]),
            (LOST, REASON_LOSS, missing, f"missing in transit: {why}"[:500]),
        ),
        day=day,
        actor=actor,
    )
    _audit(session, request, actor=actor, action="receive", before=before)
    session.flush()
    record(
        session,
        actor=actor,
        action="proof_of_delivery.create",
        entity_type="proof_of_delivery",
        entity_id=request.number,
        before=None,
        after=snapshot(
            pod,
            (
                "accepted_quantity",
                "damaged_quantity",
                "missing_quantity",
                "rejection_reason",
                "received_on",
                "received_by",
            ),
        ),
    )
    return pod


def _post_delivery(
    session: Session,
    *,
    request: BlankRequest,
    parts: Sequence[tuple[str, LedgerReason, int, str]],
    day: dt.date,
    actor: Principal,
) -> None:
    """Moves exactly the lots released under ``request.number`` out of IN_TRANSIT, in release
    order, to each destination in turn (one balanced ledger event per destination)."""
    transit = location(session, IN_TRANSIT)
    remaining = list(ledger.document_lots(session, document_no=request.number, location=transit))
    for destination_code, reason, quantity, note in parts:
        if quantity == 0:
            continue
        destination = location(session, destination_code)
        movements: list[ledger.Movement] = []
        while quantity > 0:
            if not remaining:
                raise InvalidState(f"Request {request.number}: fewer blanks in transit than released.")
            lot, available = remaining[0]
            take = min(available, quantity)
            movements.append(
                ledger.Movement(from_location=transit, to_location=destination, lot=lot, quantity=take)
            )
            quantity -= take
            if take == available:
                remaining.pop(0)
            else:
                remaining[0] = (lot, available - take)
        ledger.post(
            session,
            reason=reason,
            movements=movements,
            document_no=request.number,
            business_date=day,
            actor=actor,
            note=note,
        )


# --------------------------------------------------------------------------------------------------
# lending between regencies


def lend(
    session: Session,
    *,
    from_region: str,
    to_region: str,
    quantity: int,
    actor: Principal,
    business_date: dt.date | None = None,
    note: str | None = None,
) -> BlankLoan:
    """Lend blanks from one regency/city office to another of the same province (TRANSFER
    ``REG:a → REG:b``, FIFO by lot). By a user scoped to that province or central logistics."""
    source = office_region(session, from_region, "from_region")
    target = office_region(session, to_region, "to_region")
    for field, region in (("from_region", source), ("to_region", target)):
        if region.level != 2:
            raise invalid(field, "regency_level", f"{field}: {region.code} is not a regency/city")
    if from_region == to_region:
        raise invalid("to_region", "distinct", "to_region must differ from from_region")
    province = from_region.split(".")[0]
    if to_region.split(".")[0] != province:
        raise invalid(
            "to_region",
            "same_province",
            f"to_region {to_region} is not in province {province} of from_region {from_region}",
        )
    if not actor.can(Permission.BLANKO_REQUEST):
        raise PermissionDenied(f"Role {actor.role.value!r} lacks permission 'blanko:request'.")
    if actor.region_code is None:
        ensure_central_logistics(actor, "lend between")
    elif actor.region_code != province:
        raise PermissionDenied(
            f"Only a user of province {province} or central logistics may lend between its regencies; "
            f"user {actor.username!r} acts for region {actor.region_code}."
        )
    amount = _quantity(quantity, "quantity")
    day = _business_date(business_date, "business_date")
    why = _text(note, "note", maximum=REASON_MAX, required=False)
    loan = BlankLoan(
        number=f"LN-TMP-{uuid.uuid4().hex[:24]}",
        from_region_code=from_region,
        to_region_code=to_region,
        quantity=amount,
        business_date=day,
        note=why,
        actor_user_id=actor.user_id,
        actor_username=actor.username,
    )
    session.add(loan)
    session.flush()
    loan.number = f"LN-{day.year}-{loan.id:06d}"
    ledger.post_fifo(
        session,
        reason=REASON_TRANSFER,
        from_location=location(session, location_of(from_region)),
        to_location=location(session, location_of(to_region)),
        quantity=amount,
        document_no=loan.number,
        business_date=day,
        actor=actor,
    )
    session.flush()
    record(
        session,
        actor=actor,
        action="blank_loan.create",
        entity_type="blank_loan",
        entity_id=loan.number,
        before=None,
        after=snapshot(
            loan, ("number", "from_region_code", "to_region_code", "quantity", "business_date", "note")
        ),
    )
    return loan


def list_loans(
    session: Session, *, actor: Principal, region_code: str | None = None, limit: int = 100
) -> list[BlankLoan]:
    scope = region_code or actor.region_code
    query = select(BlankLoan)
    if scope is not None:
        ensure_reader(actor, scope)
        like = scope + "."
        query = query.where(
            (BlankLoan.from_region_code == scope)
            | (BlankLoan.to_region_code == scope)
            | BlankLoan.from_region_code.startswith(like)
            | BlankLoan.to_region_code.startswith(like)
        )
    return list(session.scalars(query.order_by(BlankLoan.id.desc()).limit(limit)))
