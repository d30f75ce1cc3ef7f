"""Rules of the blank ledger API around the ledger itself: who sees which location and event,
who may count or reverse, and shaping contracts, stock cards and reconciliations for the
endpoints.

Scope: a national principal sees every location; a regional one sees the offices in its region
(its province's PROV:xx and REG:xx.yy, or its own REG:xx.yy) and the events that touched them —
never the centre or the virtual locations.

Counts: central logistics (``blanko:write``) counts anywhere; a regional operator counts its own
office only (regional operators hold ``blanko:read`` only, so this one write is allowed by role
and scope here, not by a permission)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ektp.auth.dependencies import ensure_region
from ektp.auth.permissions import Permission, Principal, Role
from ektp.blanko import contracts, ledger, reconciliation, repository, schemas
from ektp.blanko.contracts import DeliveryLine
from ektp.kit.errors import PermissionDenied, invalid
from ektp.kit.pagination import Page, PageParams
from ektp.models.blanko import Contract, LedgerEvent, Location, Lot
from ektp.planning.indicators import reconcile


def ensure_location_visible(principal: Principal, location: Location) -> None:
    if principal.region_code is None:
        return
    if location.region_code is None:
        raise PermissionDenied(
            f"User {principal.username!r} is scoped to region {principal.region_code} "
            f"and may not access location {location.code}."
        )
    ensure_region(principal, location.region_code)


def ensure_national(principal: Principal, what: str) -> None:
    if principal.region_code is not None:
        raise PermissionDenied(f"{what} is national: user {principal.username!r} is scoped to a region")


def location_for(session: Session, principal: Principal, code: str) -> Location:
    location = repository.location_by_code(session, code)
    ensure_location_visible(principal, location)
    return location


def visible_locations(session: Session, principal: Principal, *, kind: str | None = None) -> list[Location]:
    if principal.region_code is None:
        return repository.list_locations(session, kind=kind)
    return repository.list_locations(session, region_prefix=principal.region_code, kind=kind)


def locations_with_balances(
    session: Session, principal: Principal, *, kind: str | None = None
) -> list[schemas.LocationBalance]:
    locations = visible_locations(session, principal, kind=kind)
    totals = repository.balances_by_location(session, [loc.id for loc in locations])
    return [
        schemas.LocationBalance(
            **schemas.LocationOut.model_validate(loc).model_dump(), balance=totals.get(loc.id, 0)
        )
        for loc in locations
    ]


def location_detail(session: Session, location: Location) -> schemas.LocationDetail:
    held = ledger.balances_at(session, location)
    return schemas.LocationDetail(
        **schemas.LocationOut.model_validate(location).model_dump(),
        balance=sum(q for _, q in held),
        lots=[
            schemas.LotBalance(
                lot_id=lot.id,
                lot_no=lot.lot_no,
                contract_id=lot.contract_id,
                received_on=lot.received_on,
                quantity=q,
            )
            for lot, q in held
        ],
    )


def stock_card(session: Session, *, location: Location, page: PageParams) -> schemas.StockCardOut:
    card = ledger.stock_card(session, location=location, page=page)
    return schemas.StockCardOut(
        location=schemas.LocationOut.model_validate(location),
        balance=card.balance,
        lines=[
            schemas.StockCardLineOut(
                event_id=line.event_id,
                business_date=line.business_date,
                recorded_at=line.recorded_at,
                reason=line.reason,
                document_no=line.document_no,
                recorded_by=line.recorded_by,
                counterparts=list(line.counterparts),
                quantity_in=line.quantity_in,
                quantity_out=line.quantity_out,
                balance_after=line.balance_after,
                note=line.note,
            )
            for line in card.lines
        ],
        page=card.page,
        size=card.size,
        has_next=card.has_next,
    )


# --------------------------------------------------------------------------------------------------
# contracts


def create_contract(session: Session, *, data: schemas.ContractCreate, actor: Principal) -> Contract:
    supplier = contracts.get_or_create_supplier(session, name=data.supplier_name, actor=actor)
    return contracts.create_contract(
        session,
        number=data.number,
        signed_on=data.signed_on,
        supplier=supplier,
        quantity=data.quantity,
        unit_price_rupiah=data.unit_price_rupiah,
        deliveries=[DeliveryLine(due_on=d.due_on, quantity=d.quantity) for d in data.deliveries],
        actor=actor,
        method=data.method,
        note=data.note,
    )


def contract_detail(session: Session, contract: Contract) -> schemas.ContractDetail:
    supplier = repository.get_supplier(session, contract.supplier_id)
    return schemas.ContractDetail(
        **schemas.ContractOut.model_validate(contract).model_dump(),
        supplier_name=supplier.name,
        received=repository.received_quantity(session, contract),
        deliveries=[
            schemas.DeliveryOut.model_validate(d) for d in repository.deliveries_of(session, contract)
        ],
        lots=[schemas.LotOut.model_validate(lot) for lot in repository.lots_of(session, contract)],
    )


def receive_lot(session: Session, *, contract: Contract, data: schemas.LotReceive, actor: Principal) -> Lot:
    contracts.ensure_locations(session)
    return contracts.receive_lot(
        session,
        contract=contract,
        lot_no=data.lot_no,
        received_on=data.received_on,
        quantity=data.quantity,
        serial_from=data.serial_from,
        actor=actor,
        document_no=data.document_no,
    )


def reconciliation_of(session: Session, contract: Contract) -> schemas.ReconciliationOut:
    figures = reconciliation.contract_figures(session, [contract])[contract.id]
    result = reconcile(figures)
    return schemas.ReconciliationOut(
        contract_id=contract.id,
        contract=contract.number,
        balanced=result.balanced,
        figures={
            name: int(getattr(figures, name))
            for name in (
                "received",
                "distributed",
                "on_hand_centre",
                "printed",
                "spoiled",
                "lost",
                "on_hand_regions",
                "in_transit",
                "adjustments",
            )
        },
        lines=[
            schemas.ReconciliationLineOut(
                name=line.name,
                left_label=line.left_label,
                left=line.left,
                parts=dict(line.parts),
                right=line.right,
                difference=line.difference,
                balanced=line.balanced,
            )
            for line in result.lines
        ],
    )


# --------------------------------------------------------------------------------------------------
# events


def list_events(
    session: Session, principal: Principal, *, page: PageParams, document_no: str | None, reason: str | None
) -> Page[schemas.EventOut]:
    location_ids = None
    if principal.region_code is not None:
        location_ids = [loc.id for loc in visible_locations(session, principal)]
    events = repository.list_events(
        session, page=page, location_ids=location_ids, document_no=document_no, reason=reason
    )
    return Page(
        items=[schemas.EventOut.model_validate(e) for e in events.items],
        page=events.page,
        size=events.size,
        has_next=events.has_next,
    )


def event_for(session: Session, principal: Principal, event_id: int) -> LedgerEvent:
    event = repository.get_event(session, event_id)
    if principal.region_code is not None:
        codes = {code for _, code in repository.entries_with_locations(session, [event.id])}
        locations = repository.locations_by_codes(session, sorted(codes))
        if not any(principal.covers_region(loc.region_code) for loc in locations.values() if loc.region_code):
            raise PermissionDenied(
                f"User {principal.username!r} is scoped to region {principal.region_code}; "
                f"ledger event {event.id} did not touch it."
            )
    return event


def event_detail(session: Session, event: LedgerEvent) -> schemas.EventDetail:
    reversal = repository.reversal_of(session, event)
    return schemas.EventDetail(
        **schemas.EventOut.model_validate(event).model_dump(),
        entries=[
            schemas.EntryOut(location_code=code, lot_id=entry.lot_id, quantity=entry.quantity)
            for entry, code in repository.entries_with_locations(session, [event.id])
        ],
        reversed_by_event_id=None if reversal is None else reversal.id,
    )


def reverse(
    session: Session, *, event: LedgerEvent, data: schemas.ReversalIn, actor: Principal
) -> LedgerEvent:
    if not actor.can(Permission.BLANKO_WRITE) or actor.region_code is not None:
        raise PermissionDenied("only central logistics may reverse a ledger event")
    return ledger.reverse(
        session, event=event, actor=actor, reason_note=data.reason_note, business_date=data.business_date
    )


def count(
    session: Session, *, location: Location, data: schemas.CountIn, actor: Principal
) -> ledger.CountResult:
    central = actor.can(Permission.BLANKO_WRITE) and actor.region_code is None
    own_office = (
        actor.role is Role.REGIONAL_OPERATOR
        and location.region_code is not None
        and location.region_code == actor.region_code
    )
    if not (central or own_office):
        raise PermissionDenied(
            f"User {actor.username!r} may not count {location.code}: central logistics counts anywhere, "
            "a regional operator its own office only"
        )
    if (data.total is None) == (data.lots is None):
        raise invalid("total", "total_or_lots", "give either total or lots, not both and not neither")
    counted: dict[Lot, int] | int
    if data.total is not None:
        counted = data.total
    else:
        assert data.lots is not None
        lots = repository.lots_by_ids(session, [c.lot_id for c in data.lots])
        counted = {}
        for index, line in enumerate(data.lots):
            lot = lots.get(line.lot_id)
            if lot is None:
                raise invalid(f"lots[{index}].lot_id", "exists", f"no lot {line.lot_id}")
            if lot in counted:
                raise invalid(f"lots[{index}].lot_id", "unique", f"lot {line.lot_id} counted twice")
            counted[lot] = line.counted
    return ledger.physical_count(
        session,
        location=location,
        counted=counted,
        business_date=data.business_date,
        actor=actor,
        document_no=data.document_no,
        shortage_to=data.shortage_to,
        note=data.note,
    )
