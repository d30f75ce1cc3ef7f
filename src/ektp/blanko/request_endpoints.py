"""HTTP API of blank requests, loans, priority events, allocation runs and region indicators.
Thin: parse, call the service, shape the answer. Permissions: reading needs ``blanko:read``
(and the region in scope); creating, submitting and receiving a request needs
``blanko:request`` (the requesting office itself or central logistics); deciding, releasing,
dispatching and allocation runs need ``blanko:write`` and a national user (the services check the
region rules and answer 403 with the reason)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from ektp.auth.dependencies import ensure_region, require
from ektp.auth.permissions import Permission, Principal
from ektp.blanko import allocation_runs as runs
from ektp.blanko import indicators as region_indicators
from ektp.blanko import request_schemas as schemas
from ektp.blanko import requests as service
from ektp.dependencies import SessionDep
from ektp.kit.errors import invalid
from ektp.kit.pagination import MAX_PAGE_SIZE, Page, PageParams
from ektp.kit.time import today_wib
from ektp.models.blanko_requests import AllocationRun, BlankRequest, RequestStatus
from ektp.planning.allocation import AllocationPolicy
from ektp.planning.indicators import CoverBands

router = APIRouter(prefix="/blanko", tags=["blanko"])

Reader = Annotated[Principal, Depends(require(Permission.BLANKO_READ))]
Requester = Annotated[Principal, Depends(require(Permission.BLANKO_REQUEST))]
Writer = Annotated[Principal, Depends(require(Permission.BLANKO_WRITE))]


def _out(request: BlankRequest) -> schemas.RequestOut:
    return schemas.RequestOut.model_validate(request)


def _detail(session: SessionDep, request: BlankRequest) -> schemas.RequestDetail:
    pod = service.proof_of_delivery(session, request=request)
    return schemas.RequestDetail(
        **schemas.RequestOut.model_validate(request).model_dump(),
        transitions=[
            schemas.TransitionOut.model_validate(t) for t in service.transitions(session, request=request)
        ],
        proof_of_delivery=schemas.ProofOfDeliveryOut.model_validate(pod) if pod is not None else None,
    )


# --------------------------------------------------------------------------------------------------
# requests


@router.post("/requests", status_code=201, response_model=schemas.RequestDetail)
def create_request(
    body: schemas.RequestCreate, session: SessionDep, principal: Requester
) -> schemas.RequestDetail:
    """A new request (INITIATED) for the caller's own office (central logistics: any office)."""
    request = service.create_request(
        session,
        region_code=body.region_code,
        quantity=body.requested_quantity,
        justification=body.justification,
        requested_on=body.requested_on,
        actor=principal,
    )
    return _detail(session, request)


@router.get("/requests", response_model=Page[schemas.RequestOut])
def list_requests(
    session: SessionDep,
    principal: Reader,
    status: Annotated[list[RequestStatus] | None, Query(description="Filter by status (repeatable).")] = None,
    region: Annotated[str | None, Query(max_length=13, pattern=r"^\d{2}(\.\d{2})?$")] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
) -> Page[schemas.RequestOut]:
    result = service.list_requests(
        session,
        actor=principal,
        status=status or (),
        region_code=region,
        page=PageParams(page=page, size=size),
    )
    return Page(
        items=[_out(r) for r in result.items], page=result.page, size=result.size, has_next=result.has_next
    )


@router.get("/requests/{request_id}", response_model=schemas.RequestDetail)
def get_request(request_id: int, session: SessionDep, principal: Reader) -> schemas.RequestDetail:
    return _detail(session, service.get_request(session, request_id=request_id, actor=principal))


@router.patch("/requests/{request_id}", response_model=schemas.RequestDetail)
def update_request(
    request_id: int, body: schemas.RequestUpdate, session: SessionDep, principal: Requester
) -> schemas.RequestDetail:
    request = service.get_request(session, request_id=request_id, actor=principal, for_update=True)
    service.update_request(
        session,
        request=request,
        actor=principal,
        quantity=body.requested_quantity,
        justification=body.justification,
    )
    return _detail(session, request)


@router.post("/requests/{request_id}/submit", response_model=schemas.RequestDetail)
def submit_request(
    request_id: int, body: schemas.TransitionNote, session: SessionDep, principal: Requester
) -> schemas.RequestDetail:
    request = service.get_request(session, request_id=request_id, actor=principal, for_update=True)
    service.submit(session, request=request, actor=principal, note=body.note)
    return _detail(session, request)


@router.post("/requests/{request_id}/approve", response_model=schemas.RequestDetail)
def approve_request(
    request_id: int, body: schemas.ApproveBody, session: SessionDep, principal: Writer
) -> schemas.RequestDetail:
    """Approve all or part; less than requested needs a ``reason``."""
    request = service.get_request(session, request_id=request_id, actor=principal, for_update=True)
    service.approve(
        session,
        request=request,
        approved_quantity=body.approved_quantity,
        reason=body.reason,
        approved_on=body.approved_on,
        actor=principal,
    )
    return _detail(session, request)


@router.post("/requests/{request_id}/reject", response_model=schemas.RequestDetail)
def reject_request(
    request_id: int, body: schemas.RejectBody, session: SessionDep, principal: Writer
) -> schemas.RequestDetail:
    request = service.get_request(session, request_id=request_id, actor=principal, for_update=True)
    service.reject(session, request=request, reason=body.reason, actor=principal)
    return _detail(session, request)


@router.post("/requests/{request_id}/release", response_model=schemas.RequestDetail)
def release_request(
    request_id: int, body: schemas.ReleaseBody, session: SessionDep, principal: Writer
) -> schemas.RequestDetail:
    """Post the approved blanks CENTRE → IN_TRANSIT under the request's number."""
    request = service.get_request(session, request_id=request_id, actor=principal, for_update=True)
    service.release(session, request=request, actor=principal, released_on=body.released_on)
    return _detail(session, request)


@router.post("/requests/{request_id}/dispatch", response_model=schemas.RequestDetail)
def dispatch_request(
    request_id: int, body: schemas.DispatchBody, session: SessionDep, principal: Writer
) -> schemas.RequestDetail:
    """Collected by the region at the warehouse, or shipped by a carrier."""
    request = service.get_request(session, request_id=request_id, actor=principal, for_update=True)
    service.dispatch(
        session,
        request=request,
        mode=body.mode,
        carrier=body.carrier,
        dispatched_on=body.dispatched_on,
        actor=principal,
    )
    return _detail(session, request)


@router.post("/requests/{request_id}/receive", response_model=schemas.RequestDetail)
def receive_request(
    request_id: int, body: schemas.ReceiveBody, session: SessionDep, principal: Requester
) -> schemas.RequestDetail:
    """Proof of delivery (accepted + damaged + missing = released)."""
    request = service.get_request(session, request_id=request_id, actor=principal, for_update=True)
    service.receive(
        session,
        request=request,
        counts=service.DeliveryCounts(body.accepted_quantity, body.damaged_quantity, body.missing_quantity),
        rejection_reason=body.rejection_reason,
        received_by=body.received_by,
        received_on=body.received_on,
        actor=principal,
    )
    return _detail(session, request)


# --------------------------------------------------------------------------------------------------
# loans


@router.post("/loans", status_code=201, response_model=schemas.LoanOut)
def create_loan(body: schemas.LoanCreate, session: SessionDep, principal: Requester) -> schemas.LoanOut:
    """Lend blanks between two regencies/cities of one province (province users, central logistics)."""
    loan = service.lend(
        session,
        from_region=body.from_region,
        to_region=body.to_region,
        quantity=body.quantity,
        business_date=body.business_date,
        note=body.note,
        actor=principal,
    )
    return schemas.LoanOut.model_validate(loan)


@router.get("/loans", response_model=list[schemas.LoanOut])
def list_loans(
    session: SessionDep,
    principal: Reader,
    region: Annotated[str | None, Query(max_length=13, pattern=r"^\d{2}(\.\d{2})?$")] = None,
) -> list[schemas.LoanOut]:
    return [
        schemas.LoanOut.model_validate(x)
        for x in service.list_loans(session, actor=principal, region_code=region)
    ]


# --------------------------------------------------------------------------------------------------
# priority events


@router.get("/priority-events", response_model=list[schemas.PriorityEventOut])
def list_priority_events(
    session: SessionDep, principal: Reader, active_on: dt.date | None = None
) -> list[schemas.PriorityEventOut]:
    return [
        schemas.PriorityEventOut.model_validate(e)
        for e in runs.list_priority_events(session, active_on=active_on)
    ]


@router.post("/priority-events", status_code=201, response_model=schemas.PriorityEventOut)
def create_priority_event(
    body: schemas.PriorityEventCreate, session: SessionDep, principal: Writer
) -> schemas.PriorityEventOut:
    event = runs.create_priority_event(
        session,
        region_prefix=body.region_prefix,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        priority_class=body.priority_class,
        reason=body.reason,
        actor=principal,
    )
    return schemas.PriorityEventOut.model_validate(event)


# --------------------------------------------------------------------------------------------------
# allocation runs


def _run_detail(
    session: SessionDep, run: AllocationRun, sort: str = "region", direction: Literal["asc", "desc"] = "asc"
) -> schemas.RunDetail:
    lines = runs.run_lines(session, run=run, sort=sort, direction=direction)
    return schemas.RunDetail(
        **schemas.RunOut.model_validate(run).model_dump(),
        inputs=run.inputs,
        sources=run.sources,
        unallocated=run.outputs["unallocated"],
        top_class_worst_fill_ratio=run.outputs["top_class_worst_fill_ratio"],
        classes=run.outputs["classes"],
        lines=[schemas.LineOut.model_validate(line) for line in lines],
    )


@router.post("/allocation-runs", status_code=201, response_model=schemas.RunDetail)
def create_run(body: schemas.RunCreate, session: SessionDep, principal: Writer) -> schemas.RunDetail:
    """Propose a release per region from the SUBMITTED requests and the central stock."""
    policy = AllocationPolicy(**body.policy.model_dump())
    run = runs.create_run(
        session,
        policy=policy,
        run_date=body.run_date,
        options=runs.RunOptions(
            adc_window_days=body.adc_window_days,
            default_priority_class=body.default_priority_class,
            cap_per_region=body.cap_per_region,
        ),
        actor=principal,
    )
    return _run_detail(session, run)


@router.get("/allocation-runs", response_model=list[schemas.RunOut])
def list_runs(session: SessionDep, principal: Reader) -> list[schemas.RunOut]:
    return [schemas.RunOut.model_validate(r) for r in runs.list_runs(session, actor=principal)]


@router.get("/allocation-runs/{run_id}", response_model=schemas.RunDetail)
def get_run(
    run_id: int,
    session: SessionDep,
    principal: Reader,
    sort: Annotated[
        str, Query(max_length=20, description=f"One of: {', '.join(runs.SORT_COLUMNS)}.")
    ] = "region",
    direction: Literal["asc", "desc"] = "asc",
) -> schemas.RunDetail:
    return _run_detail(session, runs.get_run(session, run_id=run_id, actor=principal), sort, direction)


@router.get("/allocation-runs/{run_id}/verify", response_model=schemas.RunVerification)
def verify_run(run_id: int, session: SessionDep, principal: Reader) -> schemas.RunVerification:
    """Re-run the core on the stored inputs and compare."""
    run = runs.get_run(session, run_id=run_id, actor=principal)
    again = runs.recompute(run)
    equal = runs.outputs_equal(run, again)
    return schemas.RunVerification(
        fingerprint=run.fingerprint,
        recomputed_fingerprint=again.fingerprint,
        outputs_equal=equal,
        reproducible=equal and again.fingerprint == run.fingerprint,
    )


@router.post("/allocation-runs/{run_id}/approve", response_model=schemas.RunApproved)
def approve_run(
    run_id: int, body: schemas.RunDecision, session: SessionDep, principal: Writer
) -> schemas.RunApproved:
    """Approve the proposal: each region's requests become APPROVED (partially where short)."""
    run = runs.get_run(session, run_id=run_id, actor=principal, for_update=True)
    approved = runs.approve_run(session, run=run, actor=principal, note=body.note)
    return schemas.RunApproved(
        run=schemas.RunOut.model_validate(run), approved_requests=[_out(r) for r in approved]
    )


@router.post("/allocation-runs/{run_id}/discard", response_model=schemas.RunOut)
def discard_run(
    run_id: int, body: schemas.RunDecision, session: SessionDep, principal: Writer
) -> schemas.RunOut:
    run = runs.get_run(session, run_id=run_id, actor=principal, for_update=True)
    return schemas.RunOut.model_validate(runs.discard_run(session, run=run, actor=principal, note=body.note))


# --------------------------------------------------------------------------------------------------
# indicators


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


@router.get("/indicators/{region_code}", response_model=schemas.IndicatorsOut)
def get_indicators(
    region_code: Annotated[str, Path(max_length=13, pattern=r"^\d{2}(\.\d{2})?$")],
    session: SessionDep,
    principal: Reader,
    start: dt.date | None = None,
    end: dt.date | None = None,
    window_days: Annotated[int, Query(ge=1, le=366)] = 30,
    understock_below: Annotated[float, Query(ge=0)] = 7.0,
    overstock_above: Annotated[float, Query(ge=0)] = 60.0,
) -> schemas.IndicatorsOut:
    """Stock on hand, adjusted ADC, days of cover with bands, stock-out days, fill rate and lead
    time of one office at ``end`` (default today), with the stock card for every day from
    ``start`` (default ``end`` − 89 days)."""
    ensure_region(principal, region_code)
    service.office_region(session, region_code)
    last = end or today_wib()
    first = start or last - dt.timedelta(days=89)
    if first > last:
        raise invalid("start", "not_after_end", f"start {first} is after end {last}")
    bands = CoverBands(understock_below=understock_below, overstock_above=overstock_above)
    series, daily = region_indicators.region_daily(
        session, region_code=region_code, start=first, end=last, window_days=window_days, bands=bands
    )
    figures = region_indicators.region_indicators(
        session,
        region_code=region_code,
        start=first,
        end=last,
        window_days=window_days,
        bands=bands,
        series=series,
    )
    days = [
        schemas.DayOut(
            date=first + dt.timedelta(days=i),
            stock_on_hand=int(series.stock_on_hand[i]),
            consumption=int(series.consumption[i]),
            receipts=int(series.receipts[i]),
            adjusted_daily_consumption=float(daily.adjusted_daily_consumption[i]),
            days_of_cover=_finite(float(daily.days_of_cover[i])),
            band=daily.bands[i],
        )
        for i in range(series.days)
    ]
    return schemas.IndicatorsOut(
        region_code=region_code,
        period_start=figures.period_start,
        period_end=figures.period_end,
        window_days=figures.window_days,
        stock_on_hand=figures.stock_on_hand,
        consumption=figures.consumption,
        receipts=figures.receipts,
        stock_out_days=figures.stock_out_days,
        adjusted_daily_consumption=figures.adjusted_daily_consumption,
        days_of_cover=_finite(figures.days_of_cover),
        band=figures.band,
        fill=schemas.FillRatesOut(**asdict(figures.fill)),
        lead_time=schemas.LeadTimesOut(**asdict(figures.lead_time)),
        prr_backlog=figures.prr_backlog,
        sukets_outstanding=figures.sukets_outstanding,
        days=days,
    )
