"""Screens of the adjudication workbench and of duplicate cases (examiners, Permission.ADJUDICATE,
region-scoped by the services): the queue of ADJUDICATE_RECORD recordings oldest first, a case
with both records side by side and the decision forms, the list of duplicate cases and a case's
resolution form. A refused form is shown again with the problems next to its fields, after the
request's transaction has been rolled back."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Depends
from fastapi.responses import RedirectResponse, Response

from ektp.adjudication import service
from ektp.auth.permissions import Permission
from ektp.enrollment.pages import STATUS_LABELS as RECORD_STATUS_LABELS
from ektp.kit.errors import Conflict, DomainError, FieldProblem, InvalidState, NotFound, ValidationFailed
from ektp.kit.time import today_wib
from ektp.web.i18n import N_
from ektp.web.labels import field_errors
from ektp.web.pages import NavItem
from ektp.web.shell import FormData, PageContext, page_requiring, page_router, register_notice

router = page_router()

nav_items = (
    NavItem(
        key="adjudication",
        label=N_("Adjudication"),
        href="/adjudication",
        permission=Permission.ADJUDICATE,
        order=55,
    ),
    NavItem(
        key="duplicate-cases",
        label=N_("Duplicate cases"),
        href="/adjudication/duplicates",
        permission=Permission.ADJUDICATE,
        order=56,
    ),
)

register_notice("adjudication_recorded", N_("Your decision has been recorded."))
register_notice("case_resolved", N_("The duplicate case has been resolved."))

ExaminerPage = Annotated[PageContext, Depends(page_requiring(Permission.ADJUDICATE))]
FORM_ERRORS = (ValidationFailed, InvalidState, Conflict, NotFound)

# The record statuses are the enrollment pages' own labels: one wording for both screens.
STATUS_LABELS = RECORD_STATUS_LABELS
STATE_LABELS: dict[str, str] = {
    "open": N_("Waiting for a first examiner"),
    "pending": N_("Duplicate declared, waiting for a second examiner"),
    "disputed": N_("Examiners disagree, waiting for a third examiner"),
    "decided": N_("Decided"),
}
ACTION_LABELS: dict[str, str] = {
    "NOT_SAME": N_("Not the same person"),
    "DECLARE_DUPLICATE": N_("Declared a duplicate"),
    "CONFIRM_DUPLICATE": N_("Confirmed the duplicate"),
    "DISAGREE": N_("Disagreed with the declaration"),
    "TIEBREAK_DUPLICATE": N_("Third examiner: duplicate"),
    "TIEBREAK_NOT_SAME": N_("Third examiner: not the same person"),
}
CASE_LABELS: dict[str, str] = {
    "OPEN": N_("Open"),
    "RESOLVED": N_("Resolved"),
    "ADJUDICATION": N_("Two examiners"),
    "DEDUP": N_("Dedup worker"),
    "SAME_RESIDENT": N_("Same resident record"),
    "MERGED": N_("Other resident record withdrawn (merged into the kept one)"),
}


def alabel(kind: str, value: str | None) -> str:
    table = {"status": STATUS_LABELS, "state": STATE_LABELS, "action": ACTION_LABELS, "case": CASE_LABELS}[
        kind
    ]
    return table.get(value or "", value or "")


def _age(delta: dt.timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins}m"
    return f"{mins}m"


def _render(page: PageContext, template: str, **context: Any) -> Response:
    return page.render(template, alabel=alabel, age=_age, **context)


def _refused(page: PageContext, exc: DomainError) -> dict[str, list[str]]:
    page.session.rollback()
    problems = exc.problems or [FieldProblem("_form", exc.code, exc.message)]
    errors = field_errors(problems, page.gettext)
    # Rules of the workbench are explained by the service's own message (two examiners...).
    if isinstance(exc, (InvalidState, Conflict)):
        errors.setdefault("_form", []).insert(0, exc.message)
    return errors


def _status_code(exc: DomainError) -> int:
    return 409 if isinstance(exc, (Conflict, InvalidState)) else exc.status_code


# --------------------------------------------------------------------------------------------------
# workbench


@router.get("/adjudication")
def queue_page(page: ExaminerPage) -> Response:
    rows = service.queue(page.session, page.user_principal)
    return _render(page, "adjudication/queue.html", section="adjudication", rows=rows)


def _case_page(
    page: ExaminerPage,
    enrollment_id: int,
    *,
    errors: dict[str, list[str]] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    view = service.case_view(page.session, page.user_principal, enrollment_id)
    me = page.user_principal.username
    state = view.state
    decidable = view.subject.enrollment.status == "ADJUDICATE_RECORD"
    return _render(
        page,
        "adjudication/case.html",
        section="adjudication",
        view=view,
        errors=errors or {},
        values=values or {},
        status_code=status_code,
        decidable=decidable,
        my_declaration=decidable and state.name == "pending" and state.declared_by == me,
        excluded=decidable and state.name == "disputed" and me in (state.declared_by, state.disagreed_by),
    )


@router.get("/adjudication/{enrollment_id:int}")
def case_page(enrollment_id: int, page: ExaminerPage) -> Response:
    return _case_page(page, enrollment_id)


@router.post("/adjudication/{enrollment_id:int}/decide")
def decide_page(enrollment_id: int, page: ExaminerPage, form: FormData) -> Response:
    page.check_csrf(form)
    try:
        service.decide(
            page.session,
            actor=page.user_principal,
            enrollment_id=enrollment_id,
            decision=form.get("decision", ""),
            reason=form.get("reason"),
            expected_seq=int(seq) if (seq := form.get("expected_seq", "").strip()).isdigit() else None,
        )
    except FORM_ERRORS as exc:
        errors = _refused(page, exc)
        return _case_page(page, enrollment_id, errors=errors, values=form, status_code=_status_code(exc))
    return RedirectResponse(f"/adjudication/{enrollment_id}?notice=adjudication_recorded", status_code=303)


# --------------------------------------------------------------------------------------------------
# duplicate cases


@router.get("/adjudication/duplicates")
def duplicates_page(page: ExaminerPage) -> Response:
    rows = service.list_cases(page.session, page.user_principal)
    return _render(page, "adjudication/duplicates.html", section="duplicate-cases", rows=rows)


def _duplicate_page(
    page: ExaminerPage,
    enrollment_id: int,
    *,
    errors: dict[str, list[str]] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    view = service.duplicate_view(page.session, page.user_principal, enrollment_id)
    defaults = {
        "keep_enrollment_id": str(view.first_recorded_id or ""),
        "consent_date": today_wib().isoformat(),
    }
    return _render(
        page,
        "adjudication/duplicate.html",
        section="duplicate-cases",
        view=view,
        errors=errors or {},
        values=values if values is not None else defaults,
        status_code=status_code,
        resolvable=(view.case is None or view.case.status == "OPEN")
        and view.subject.enrollment.status == "DUPLICATE_RECORD",
    )


@router.get("/adjudication/duplicates/{enrollment_id}")
def duplicate_page(enrollment_id: int, page: ExaminerPage) -> Response:
    return _duplicate_page(page, enrollment_id)


def _optional_int(form: dict[str, str], name: str, problems: list[FieldProblem]) -> int | None:
    raw = form.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        problems.append(FieldProblem(name, "integer", f"{name} must be a whole number"))
        return None
    return int(raw)


def _optional_date(form: dict[str, str], name: str, problems: list[FieldProblem]) -> dt.date | None:
    raw = form.get(name, "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        problems.append(FieldProblem(name, "date", f"{name} must be a date (YYYY-MM-DD)"))
        return None


@router.post("/adjudication/duplicates/{enrollment_id}/resolve")
def resolve_page(enrollment_id: int, page: ExaminerPage, form: FormData) -> Response:
    page.check_csrf(form)
    problems: list[FieldProblem] = []
    keep = _optional_int(form, "keep_enrollment_id", problems)
    event_id = _optional_int(form, "move_life_event_id", problems)
    consent_date = _optional_date(form, "consent_date", problems)
    try:
        if problems:
            raise ValidationFailed("the resolution is not valid", problems)
        service.resolve(
            page.session,
            actor=page.user_principal,
            enrollment_id=enrollment_id,
            data=service.Resolution(
                keep_enrollment_id=keep,
                reason=form.get("reason"),
                consent_given_by=form.get("consent_given_by"),
                consent_date=consent_date,
                consent_reference=form.get("consent_reference"),
                move_explanation=form.get("move_explanation"),
                move_life_event_id=event_id,
            ),
        )
    except FORM_ERRORS as exc:
        errors = _refused(page, exc)
        return _duplicate_page(page, enrollment_id, errors=errors, values=form, status_code=_status_code(exc))
    return RedirectResponse(f"/adjudication/duplicates/{enrollment_id}?notice=case_resolved", status_code=303)
