"""HTTP API of the blank ledger: contracts and lots, locations and balances, stock cards, ledger
events, reversals, physical counts and reconciliations. Thin: parse, call the service, shape the
answer; domain errors are mapped by the application (422 naming the field, 403, 404, 409)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ektp.auth.dependencies import require
from ektp.auth.permissions import Permission, Principal
from ektp.blanko import repository, schemas, service
from ektp.dependencies import SessionDep
from ektp.kit.pagination import MAX_PAGE_SIZE, Page, PageParams

router = APIRouter(prefix="/blanko", tags=["blanko"])

Reader = Annotated[Principal, Depends(require(Permission.BLANKO_READ))]
Writer = Annotated[Principal, Depends(require(Permission.BLANKO_WRITE))]
PageNo = Annotated[int, Query(ge=1, le=1_000_000)]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]


@router.get("/contracts", response_model=Page[schemas.ContractOut])
def list_contracts(
    session: SessionDep, principal: Reader, page: PageNo = 1, size: PageSize = 20
) -> Page[schemas.ContractOut]:
    found = repository.list_contracts(session, page=PageParams(page=page, size=size))
    return Page(
        items=[schemas.ContractOut.model_validate(c) for c in found.items],
        page=found.page,
        size=found.size,
        has_next=found.has_next,
    )


@router.post("/contracts", status_code=201, response_model=schemas.ContractDetail)
def create_contract(
    body: schemas.ContractCreate, session: SessionDep, principal: Writer
) -> schemas.ContractDetail:
    contract = service.create_contract(session, data=body, actor=principal)
    return service.contract_detail(session, contract)


@router.get("/contracts/{contract_id}", response_model=schemas.ContractDetail)
def get_contract(contract_id: int, session: SessionDep, principal: Reader) -> schemas.ContractDetail:
    return service.contract_detail(session, repository.get_contract(session, contract_id))


@router.post("/contracts/{contract_id}/lots", status_code=201, response_model=schemas.LotOut)
def receive_lot(
    contract_id: int, body: schemas.LotReceive, session: SessionDep, principal: Writer
) -> schemas.LotOut:
    contract = repository.get_contract(session, contract_id)
    return schemas.LotOut.model_validate(
        service.receive_lot(session, contract=contract, data=body, actor=principal)
    )


@router.get("/contracts/{contract_id}/reconciliation", response_model=schemas.ReconciliationOut)
def reconcile_contract(contract_id: int, session: SessionDep, principal: Reader) -> schemas.ReconciliationOut:
    service.ensure_national(principal, "a contract's reconciliation")
    return service.reconciliation_of(session, repository.get_contract(session, contract_id))


@router.get("/locations", response_model=list[schemas.LocationBalance])
def list_locations(
    session: SessionDep,
    principal: Reader,
    kind: Annotated[str | None, Query(max_length=12, pattern="^[a-z_]+$")] = None,
) -> list[schemas.LocationBalance]:
    """Locations the caller may see, with their balances (a regional user: its region's offices)."""
    return service.locations_with_balances(session, principal, kind=kind)


@router.get("/locations/{code}", response_model=schemas.LocationDetail)
def get_location(code: str, session: SessionDep, principal: Reader) -> schemas.LocationDetail:
    return service.location_detail(session, service.location_for(session, principal, code))


@router.get("/locations/{code}/stock-card", response_model=schemas.StockCardOut)
def stock_card(
    code: str, session: SessionDep, principal: Reader, page: PageNo = 1, size: PageSize = 50
) -> schemas.StockCardOut:
    location = service.location_for(session, principal, code)
    return service.stock_card(session, location=location, page=PageParams(page=page, size=size))


@router.post("/locations/{code}/counts", status_code=201, response_model=schemas.CountOut)
def physical_count(
    code: str, body: schemas.CountIn, session: SessionDep, principal: Reader
) -> schemas.CountOut:
    """Post a physical count's discrepancy (central logistics anywhere; an operator its own office)."""
    location = service.location_for(session, principal, code)
    result = service.count(session, location=location, data=body, actor=principal)
    return schemas.CountOut(
        location_code=result.location_code,
        expected=result.expected,
        counted=result.counted,
        difference=result.difference,
        event_id=None if result.event is None else result.event.id,
    )


@router.get("/events", response_model=Page[schemas.EventOut])
def list_events(
    session: SessionDep,
    principal: Reader,
    document_no: Annotated[str | None, Query(max_length=60)] = None,
    reason: Annotated[str | None, Query(max_length=32, pattern="^[A-Z_]+$")] = None,
    page: PageNo = 1,
    size: PageSize = 20,
) -> Page[schemas.EventOut]:
    return service.list_events(
        session, principal, page=PageParams(page=page, size=size), document_no=document_no, reason=reason
    )


@router.get("/events/{event_id}", response_model=schemas.EventDetail)
def get_event(event_id: int, session: SessionDep, principal: Reader) -> schemas.EventDetail:
    return service.event_detail(session, service.event_for(session, principal, event_id))


@router.post("/events/{event_id}/reversal", status_code=201, response_model=schemas.EventDetail)
def reverse_event(
    event_id: int, body: schemas.ReversalIn, session: SessionDep, principal: Writer
) -> schemas.EventDetail:
    event = repository.get_event(session, event_id)
    reversal = service.reverse(session, event=event, data=body, actor=principal)
    return service.event_detail(session, reversal)
