"""Blank logistics screens: a region's stock card (balance, indicators, movements), its requests
with the proof-of-delivery form, and for central logistics the queue of requests, allocation
runs with the proposal per region (sorted server-side by ``?sort=&dir=``) and their approval,
and the reconciliation report per contract.

Everything goes through the services with the logged-in principal, so the rules (region scope,
who may decide) are the services' own; a refused form is shown again with the problems next to
its fields, after the request's transaction has been rolled back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from ektp.auth.permissions import Permission, Principal
from ektp.blanko import allocation_runs as runs
from ektp.blanko import indicators as region_indicators
from ektp.blanko import ledger
from ektp.blanko import requests as service
from ektp.blanko.reconciliation import reconcile_all
from ektp.kit.errors import (
    Conflict,
    DomainError,
    FieldProblem,
    InvalidState,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from ektp.kit.pagination import PageParams
from ektp.kit.time import today_wib
from ektp.models.blanko import Location
from ektp.models.blanko_requests import AllocationRun, BlankRequest, RequestStatus
from ektp.models.regions import Region
from ektp.planning.allocation import AllocationPolicy
from ektp.web.i18n import N_
from ektp.web.labels import field_errors
from ektp.web.pages import NavItem
from ektp.web.shell import FormData, PageContext, page_requiring, page_router, register_notice

router = page_router()

nav_items = (
    NavItem(
        key="blanko-stock",
        label=N_("Blank stock"),
        href="/blanko/stock",
        permission=Permission.BLANKO_READ,
        order=40,
    ),
    NavItem(
        key="blanko-requests",
        label=N_("Blank requests"),
        href="/blanko/requests",
        permission=Permission.BLANKO_READ,
        order=41,
    ),
    NavItem(
        key="blanko-runs",
        label=N_("Allocation runs"),
        href="/blanko/allocation-runs",
        permission=Permission.BLANKO_WRITE,
        order=42,
    ),
    NavItem(
        key="blanko-reconciliation",
        label=N_("Reconciliation"),
        href="/blanko/reconciliation",
        permission=Permission.BLANKO_WRITE,
        order=43,
    ),
)

register_notice("request_created", N_("The request has been saved."))
register_notice("request_updated", N_("The request has been updated."))
register_notice(
    "run_created", N_("The allocation run has been computed. Check the proposal before approving it.")
)
register_notice("run_approved", N_("The allocation run has been approved: the requests are approved."))
register_notice("run_discarded", N_("The allocation run has been discarded."))

ReadPage = Annotated[PageContext, Depends(page_requiring(Permission.BLANKO_READ))]
RequestPage = Annotated[PageContext, Depends(page_requiring(Permission.BLANKO_REQUEST))]
WritePage = Annotated[PageContext, Depends(page_requiring(Permission.BLANKO_WRITE))]

FORM_ERRORS = (ValidationFailed, InvalidState, Conflict, NotFound)

STATUS_LABELS: dict[str, str] = {
    "INITIATED": N_("Draft"),
    "SUBMITTED": N_("Submitted"),
    "APPROVED": N_("Approved"),
    "REJECTED": N_("Rejected"),
    "RELEASED": N_("Released"),
    "COLLECTED": N_("Collected"),
    "SHIPPED": N_("Shipped"),
    "RECEIVED": N_("Received"),
    "PROPOSED": N_("Proposed"),
    "DISCARDED": N_("Discarded"),
}
BAND_LABELS: dict[str, str] = {
    "understock": N_("Understock"),
    "adequate": N_("Adequate"),
    "overstock": N_("Overstock"),
}
REASON_LABELS: dict[str, str] = {
    "RECEIPT_FROM_SUPPLIER": N_("Receipt from supplier"),
    "RETURN_TO_SUPPLIER": N_("Return to supplier"),
    "RELEASE_TO_TRANSIT": N_("Release (in transit)"),
    "RECEIPT_FROM_TRANSIT": N_("Receipt"),
    "TRANSFER": N_("Transfer"),
    "PRINT": N_("Printed"),
    "SPOIL": N_("Spoiled"),
    "LOSS": N_("Lost"),
    "PHYSICAL_COUNT": N_("Physical count"),
    "ADJUSTMENT": N_("Adjustment"),
    "REVERSAL": N_("Reversal"),
}
MODE_LABELS: dict[str, str] = {
    "water_filling": N_("Equalise days of cover"),
    "milp": N_("Optimisation (MILP)"),
}

#: Columns of the proposal table: sort key, heading msgid, numeric.
RUN_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("region", N_("Region"), False),
    ("class", N_("Priority class"), True),
    ("requested", N_("Requested"), True),
    ("stock", N_("Stock on hand"), True),
    ("consumption", N_("Daily consumption"), True),
    ("cover_before", N_("Days of cover before"), True),
    ("allocated", N_("Proposed"), True),
    ("cover_after", N_("Days of cover after"), True),
    ("fill", N_("Fill ratio"), True),
)


def blabel(kind: str, code: str | None) -> str:
    """The msgid naming a blanko code (translate with ``_()``)."""
    table = {"status": STATUS_LABELS, "band": BAND_LABELS, "reason": REASON_LABELS, "mode": MODE_LABELS}[kind]
    return table.get(code or "", code or "")


def _render(page: PageContext, template: str, **context: Any) -> Response:
    return page.render(template, blabel=blabel, **context)


def _refused(page: PageContext, exc: DomainError) -> dict[str, list[str]]:
    page.session.rollback()
    problems = exc.problems or [FieldProblem("_form", exc.code, exc.message)]
    return field_errors(problems, page.gettext)


def _status_code(exc: DomainError) -> int:
    return 409 if isinstance(exc, (Conflict, InvalidState)) else exc.status_code


def _int(
    form: Mapping[str, str], name: str, problems: list[FieldProblem], *, default: int | None = None
) -> int | None:
    raw = form.get(name, "").strip().replace(".", "").replace(",", "")
    if not raw:
        if default is None:
            problems.append(FieldProblem(name, "required", f"{name} is required"))
        return default
    if not raw.lstrip("-").isdigit():
        problems.append(FieldProblem(name, "integer", f"{name} must be a whole number"))
        return None
    return int(raw)


def _date(form: Mapping[str, str], name: str, problems: list[FieldProblem]) -> dt.date | None:
    raw = form.get(name, "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        problems.append(FieldProblem(name, "date", f"{name} must be a date YYYY-MM-DD"))
        return None


def _float(
    form: Mapping[str, str], name: str, problems: list[FieldProblem], default: float | None
) -> float | None:
    raw = form.get(name, "").strip().replace(",", ".")
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        problems.append(FieldProblem(name, "number", f"{name} must be a number"))
        return None


def _region_names(page: PageContext, codes: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    rows = page.session.execute(select(Region.code, Region.name).where(Region.code.in_(wanted))).all()
    return {str(code): str(name) for code, name in rows}


# --------------------------------------------------------------------------------------------------
# stock card


@router.get("/blanko")
def blanko_home(page: ReadPage) -> Response:
    return RedirectResponse("/blanko/stock", status_code=303)


@router.get("/blanko/stock")
def stock(page: ReadPage) -> Response:
    principal = page.user_principal
    query = page.request.query_params
    region = query.get("region", "").strip()[:13] or principal.region_code or ""
    if region:
        service.ensure_reader(principal, region)
        service.office_region(page.session, region, "region")
        code = service.location_of(region)
    else:
        code = service.CENTRE
    number = query.get("page", "1")
    page_no = int(number) if number.isdigit() and 1 <= int(number) <= 100_000 else 1
    location = page.session.scalars(select(Location).where(Location.code == code)).one_or_none()
    card = (
        ledger.stock_card(
            page.session, location=location, page=PageParams(page=page_no, size=50), newest_first=True
        )
        if location is not None
        else None
    )
    figures = None
    if region:
        end = today_wib()
        figures = region_indicators.region_indicators(
            page.session, region_code=region, start=end - dt.timedelta(days=89), end=end
        )
    names = _region_names(page, [region] if region else [])
    open_requests = (
        service.list_requests(
            page.session,
            actor=principal,
            region_code=region,
            status=service.OPEN_STATUSES,
            page=PageParams(page=1, size=10),
        ).items
        if region
        else []
    )
    return _render(
        page,
        "blanko/stock.html",
        section="blanko-stock",
        region=region,
        region_name=names.get(region, ""),
        location_code=code,
        card=card,
        figures=figures,
        open_requests=open_requests,
        may_choose=principal.region_code is None or "." not in principal.region_code,
        base_query=urlencode({"region": region}) if region else "",
    )


# --------------------------------------------------------------------------------------------------
# requests


def _list_context(page: PageContext) -> dict[str, Any]:
    principal = page.user_principal
    query = page.request.query_params
    chosen = query.get("status", "").strip().upper()
    statuses: tuple[RequestStatus, ...]
    if chosen in RequestStatus.__members__:
        statuses = (RequestStatus(chosen),)
    elif chosen == "ALL":
        statuses = ()
    else:
        chosen = "OPEN"
        statuses = service.OPEN_STATUSES
    number = query.get("page", "1")
    page_no = int(number) if number.isdigit() and 1 <= int(number) <= 100_000 else 1
    result = service.list_requests(
        page.session, actor=principal, status=statuses, page=PageParams(page=page_no, size=25)
    )
    return {
        "result": result,
        "chosen_status": chosen,
        "status_choices": ["OPEN", "ALL", *RequestStatus.__members__],
        "region_names": _region_names(page, [r.region_code for r in result.items]),
        "may_request": principal.can(Permission.BLANKO_REQUEST),
        "fixed_region": principal.region_code,
        "base_query": urlencode({"status": chosen}),
    }


@router.get("/blanko/requests")
def request_list(page: ReadPage) -> Response:
    values = {"region_code": page.user_principal.region_code or ""}
    return _render(
        page,
        "blanko/requests.html",
        section="blanko-requests",
        values=values,
        errors={},
        **_list_context(page),
    )


@router.post("/blanko/requests")
def request_create(page: RequestPage, form: FormData) -> Response:
    page.check_csrf(form)
    principal = page.user_principal
    values = {
        name: form.get(name, "").strip() for name in ("region_code", "requested_quantity", "justification")
    }
    if principal.region_code is not None:
        values["region_code"] = principal.region_code
    problems: list[FieldProblem] = []
    quantity = _int(values, "requested_quantity", problems)
    try:
        if problems:
            raise ValidationFailed("the request is not valid", problems)
        assert quantity is not None
        request = service.create_request(
            page.session,
            region_code=values["region_code"],
            quantity=quantity,
            justification=values["justification"],
            actor=principal,
        )
        if form.get("and_submit"):
            service.submit(page.session, request=request, actor=principal)
    except FORM_ERRORS as exc:
        errors = _refused(page, exc)
        return _render(
            page,
            "blanko/requests.html",
            status_code=422 if isinstance(exc, ValidationFailed) else _status_code(exc),
            section="blanko-requests",
            values=values,
            errors=errors,
            **_list_context(page),
        )
    return RedirectResponse(f"/blanko/requests/{request.id}?notice=request_created", status_code=303)


def _request_view(
    page: PageContext,
    request: BlankRequest,
    *,
    errors: dict[str, list[str]] | None = None,
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    principal = page.user_principal
    central = service.is_central_logistics(principal)
    own = principal.can(Permission.BLANKO_REQUEST) and (principal.region_code in (None, request.region_code))
    if principal.region_code is None and not central:
        own = False
    status = RequestStatus(request.status)
    allowed = {target.value for target in service.TRANSITIONS[status]}
    defaults = {
        "approved_quantity": str(request.requested_quantity),
        "accepted_quantity": str(request.approved_quantity or ""),
        "damaged_quantity": "0",
        "missing_quantity": "0",
        "received_on": today_wib().isoformat(),
    }
    defaults.update(values or {})
    return _render(
        page,
        "blanko/request.html",
        status_code=status_code,
        section="blanko-requests",
        blank_request=request,
        history=service.transitions(page.session, request=request),
        pod=service.proof_of_delivery(page.session, request=request),
        region_names=_region_names(page, [request.region_code]),
        may_submit=own and "SUBMITTED" in allowed,
        may_decide=central and "APPROVED" in allowed,
        may_release=central and "RELEASED" in allowed,
        may_dispatch=central and "SHIPPED" in allowed,
        may_receive=own and "RECEIVED" in allowed,
        values=defaults,
        errors=errors or {},
    )


@router.get("/blanko/requests/{request_id}")
def request_detail(request_id: int, page: ReadPage) -> Response:
    return _request_view(
        page, service.get_request(page.session, request_id=request_id, actor=page.user_principal)
    )


ACTIONS: dict[str, Callable[[PageContext, BlankRequest, Mapping[str, str]], object]] = {}


def _action(name: str) -> Callable[[Callable[[PageContext, BlankRequest, Mapping[str, str]], object]], Any]:
    def register(function: Callable[[PageContext, BlankRequest, Mapping[str, str]], object]) -> Any:
        ACTIONS[name] = function
        return function

    return register


@_action("submit")
def _submit(page: PageContext, request: BlankRequest, form: Mapping[str, str]) -> object:
    return service.submit(page.session, request=request, actor=page.user_principal, note=form.get("note"))


@_action("approve")
def _approve(page: PageContext, request: BlankRequest, form: Mapping[str, str]) -> object:
    problems: list[FieldProblem] = []
    quantity = _int(form, "approved_quantity", problems)
    if problems or quantity is None:
        raise ValidationFailed("the approval is not valid", problems)
    return service.approve(
        page.session,
        request=request,
        approved_quantity=quantity,
        reason=form.get("reason"),
        actor=page.user_principal,
    )


@_action("reject")
def _reject(page: PageContext, request: BlankRequest, form: Mapping[str, str]) -> object:
    return service.reject(
        page.session, request=request, reason=form.get("reason", ""), actor=page.user_principal
    )


@_action("release")
def _release(page: PageContext, request: BlankRequest, form: Mapping[str, str]) -> object:
    return service.release(page.session, request=request, actor=page.user_principal)


@_action("dispatch")
def _dispatch(page: PageContext, request: BlankRequest, form: Mapping[str, str]) -> object:
    mode = form.get("mode", "")
    if mode not in ("COLLECTED", "SHIPPED"):
        raise ValidationFailed(
            "the dispatch is not valid", [FieldProblem("mode", "choice", "choose collected or shipped")]
        )
    return service.dispatch(
        page.session,
        request=request,
        mode="COLLECTED" if mode == "COLLECTED" else "SHIPPED",
        carrier=form.get("carrier", ""),
        actor=page.user_principal,
    )


@_action("receive")
def _receive(page: PageContext, request: BlankRequest, form: Mapping[str, str]) -> object:
    problems: list[FieldProblem] = []
    accepted = _int(form, "accepted_quantity", problems)
    damaged = _int(form, "damaged_quantity", problems, default=0)
    missing = _int(form, "missing_quantity", problems, default=0)
    received_on = _date(form, "received_on", problems)
    if problems or accepted is None or damaged is None or missing is None:
        raise ValidationFailed("the proof of delivery is not valid", problems)
    return service.receive(
        page.session,
        request=request,
        counts=service.DeliveryCounts(accepted, damaged, missing),
        rejection_reason=form.get("rejection_reason"),
        received_by=form.get("received_by", ""),
        received_on=received_on,
        actor=page.user_principal,
    )


@router.post("/blanko/requests/{request_id}/{action}")
def request_action(request_id: int, action: str, page: ReadPage, form: FormData) -> Response:
    page.check_csrf(form)
    handler = ACTIONS.get(action)
    if handler is None:
        raise NotFound(f"No action {action!r} on blank requests.")
    request = service.get_request(
        page.session, request_id=request_id, actor=page.user_principal, for_update=True
    )
    try:
        handler(page, request, form)
    except FORM_ERRORS as exc:
        errors = _refused(page, exc)
        request = service.get_request(page.session, request_id=request_id, actor=page.user_principal)
        return _request_view(page, request, errors=errors, values=form, status_code=_status_code(exc))
    return RedirectResponse(f"/blanko/requests/{request.id}", status_code=303)


# --------------------------------------------------------------------------------------------------
# allocation runs


RUN_DEFAULTS = {
    "mode": "water_filling",
    "box_size": "100",
    "central_reserve": "0",
    "floor_boxes": "1",
    "days_of_cover_target": "",
    "max_shipments": "",
    "adc_window_days": "30",
}


def _runs_view(
    page: PageContext, values: Mapping[str, str], errors: dict[str, list[str]], status_code: int = 200
) -> Response:
    principal = page.user_principal
    return _render(
        page,
        "blanko/runs.html",
        status_code=status_code,
        section="blanko-runs",
        runs=runs.list_runs(page.session, actor=principal),
        queue=service.list_requests(
            page.session,
            actor=principal,
            status=(RequestStatus.SUBMITTED,),
            page=PageParams(page=1, size=200),
        ).items,
        centre=service.centre_balance(page.session),
        committed=service.committed_quantity(page.session),
        events=runs.list_priority_events(page.session, active_on=today_wib()),
        values=values,
        errors=errors,
    )


@router.get("/blanko/allocation-runs")
def run_list(page: WritePage) -> Response:
    return _runs_view(page, RUN_DEFAULTS, {})


@router.post("/blanko/allocation-runs")
def run_create(page: WritePage, form: FormData) -> Response:
    page.check_csrf(form)
    values = {name: form.get(name, default).strip() for name, default in RUN_DEFAULTS.items()}
    problems: list[FieldProblem] = []
    box = _int(values, "box_size", problems, default=100)
    reserve = _int(values, "central_reserve", problems, default=0)
    floor = _int(values, "floor_boxes", problems, default=1)
    window = _int(values, "adc_window_days", problems, default=30)
    shipments = _int(values, "max_shipments", problems, default=-1)
    target = _float(values, "days_of_cover_target", problems, None)
    try:
        if problems:
            raise ValidationFailed("the run is not valid", problems)
        if box is None or reserve is None or floor is None or window is None:
            raise ValidationFailed("the run is not valid", problems)
        policy = AllocationPolicy(
            mode="milp" if values["mode"] == "milp" else "water_filling",
            box_size=box,
            central_reserve=reserve,
            floor_boxes=floor,
            days_of_cover_target=target,
            max_shipments=None if shipments is None or shipments < 0 else shipments,
        )
        run = runs.create_run(
            page.session,
            policy=policy,
            actor=page.user_principal,
            options=runs.RunOptions(adc_window_days=window),
        )
    except FORM_ERRORS as exc:
        errors = _refused(page, exc)
        # The core names policy fields "policy.x"; the form's fields are "x".
        errors = {name.removeprefix("policy."): messages for name, messages in errors.items()}
        return _runs_view(page, values, errors, status_code=_status_code(exc))
    return RedirectResponse(f"/blanko/allocation-runs/{run.id}?notice=run_created", status_code=303)


def _run_view(
    page: PageContext, run: AllocationRun, errors: dict[str, list[str]] | None = None, status_code: int = 200
) -> Response:
    query = page.request.query_params
    sort = query.get("sort", "region")
    if sort not in runs.SORT_COLUMNS:
        sort = "region"
    direction: runs.SortDirection = "desc" if query.get("dir") == "desc" else "asc"
    lines = runs.run_lines(page.session, run=run, sort=sort, direction=direction)
    approved = list(
        page.session.scalars(
            select(BlankRequest)
            .where(BlankRequest.allocation_run_id == run.id)
            .order_by(BlankRequest.region_code, BlankRequest.id)
        )
    )
    return _render(
        page,
        "blanko/run.html",
        status_code=status_code,
        section="blanko-runs",
        run=run,
        lines=lines,
        columns=RUN_COLUMNS,
        sort=sort,
        direction=direction,
        approved=approved,
        region_names=_region_names(page, [line.region_code for line in lines]),
        errors=errors or {},
    )


@router.get("/blanko/allocation-runs/{run_id}")
def run_detail(run_id: int, page: WritePage) -> Response:
    return _run_view(page, runs.get_run(page.session, run_id=run_id, actor=page.user_principal))


@router.post("/blanko/allocation-runs/{run_id}/{decision}")
def run_decide(run_id: int, decision: str, page: WritePage, form: FormData) -> Response:
    page.check_csrf(form)
    if decision not in ("approve", "discard"):
        raise NotFound(f"No decision {decision!r} on allocation runs.")
    principal: Principal = page.user_principal
    run = runs.get_run(page.session, run_id=run_id, actor=principal, for_update=True)
    try:
        if decision == "approve":
            runs.approve_run(page.session, run=run, actor=principal, note=form.get("note") or None)
        else:
            runs.discard_run(page.session, run=run, actor=principal, note=form.get("note") or None)
    except FORM_ERRORS as exc:
        errors = _refused(page, exc)
        run = runs.get_run(page.session, run_id=run_id, actor=principal)
        return _run_view(page, run, errors, status_code=_status_code(exc))
    notice = "run_approved" if decision == "approve" else "run_discarded"
    return RedirectResponse(f"/blanko/allocation-runs/{run.id}?notice={notice}", status_code=303)


# --------------------------------------------------------------------------------------------------
# reconciliation


@router.get("/blanko/reconciliation")
def reconciliation(page: WritePage) -> Response:
    if page.user_principal.region_code is not None:
        raise PermissionDenied("The reconciliation per contract is national: only central users may see it.")
    reports = [report for _contract, _figures, report in reconcile_all(page.session)]
    return _render(page, "blanko/reconciliation.html", section="blanko-reconciliation", reports=reports)
