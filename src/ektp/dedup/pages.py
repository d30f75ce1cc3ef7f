"""The dedup queue screen: depth by state, the oldest waiting recording, today's decisions and
time-to-decision, and the FAILED jobs with a retry button (operators; audited). Region-scoped
like the API: a regional user sees the recordings of their region."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.responses import RedirectResponse, Response

from ektp.auth.permissions import Permission
from ektp.dedup import service
from ektp.kit.errors import DomainError, FieldProblem
from ektp.models.dedup import DedupOutcome, JobState
from ektp.web.i18n import N_
from ektp.web.labels import field_errors
from ektp.web.pages import NavItem
from ektp.web.shell import FormData, PageContext, page_requiring, page_router, register_notice

router = page_router()

nav_items = (
    NavItem(key="dedup", label=N_("Dedup queue"), href="/dedup", permission=Permission.REPORT_READ, order=25),
)

register_notice("dedup_retried", N_("The job is back in the queue."))

ReadPage = Annotated[PageContext, Depends(page_requiring(Permission.REPORT_READ))]

STATE_LABELS: dict[str, str] = {
    JobState.WAITING.value: N_("Waiting"),
    JobState.CLAIMED.value: N_("Being processed"),
    JobState.DONE.value: N_("Decided"),
    JobState.FAILED.value: N_("Failed"),
}
OUTCOME_LABELS: dict[str, str] = {
    DedupOutcome.PRINT_READY_RECORD.value: N_("Print-ready (PRR)"),
    DedupOutcome.DUPLICATE_RECORD.value: N_("Duplicate"),
    DedupOutcome.ADJUDICATE_RECORD.value: N_("To adjudicate"),
    DedupOutcome.ENROLL_FAILURE.value: N_("Enrollment failure"),
}


def _view(
    page: PageContext, *, errors: dict[str, list[str]] | None = None, status_code: int = 200
) -> Response:
    principal = page.user_principal
    region = page.request.query_params.get("region", "").strip()[:13] or None
    scope = service.scope_for(principal, region)
    figures = service.queue_figures(page.session, region_code=scope)
    return page.render(
        "dedup/queue.html",
        section="dedup",
        figures=figures,
        scope=scope,
        state_labels=STATE_LABELS,
        outcome_labels=OUTCOME_LABELS,
        may_retry=principal.can(Permission.RESIDENT_WRITE),
        errors=errors or {},
        status_code=status_code,
    )


@router.get("/dedup")
def queue_page(page: ReadPage) -> Response:
    return _view(page)


@router.post("/dedup/jobs/{job_id}/retry")
def retry_page(job_id: int, page: ReadPage, form: FormData) -> Response:
    page.check_csrf(form)
    principal = page.user_principal
    try:
        if not principal.can(Permission.RESIDENT_WRITE):
            from ektp.kit.errors import PermissionDenied

            raise PermissionDenied("Only an operator may put a failed job back in the queue.")
        service.retry_failed(page.session, job_id=job_id, actor=principal)
    except DomainError as exc:
        page.session.rollback()
        problems = exc.problems or [FieldProblem("_form", exc.code, exc.message)]
        return _view(page, errors=field_errors(problems, page.gettext), status_code=exc.status_code)
    return RedirectResponse("/dedup?notice=dedup_retried", status_code=303)
