"""HTTP API of the dedup queue: its state (region-scoped) and the operator's retry of a FAILED
job. Thin: parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ektp.auth.dependencies import require
from ektp.auth.permissions import Permission, Principal
from ektp.dedup import schemas, service
from ektp.dependencies import SessionDep

router = APIRouter(prefix="/dedup", tags=["dedup"])

Reader = Annotated[Principal, Depends(require(Permission.REPORT_READ))]
Operator = Annotated[Principal, Depends(require(Permission.RESIDENT_WRITE))]
RegionQuery = Annotated[str | None, Query(max_length=13, pattern=r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")]


@router.get("/queue", response_model=schemas.QueueState)
def queue_state(session: SessionDep, principal: Reader, region: RegionQuery = None) -> schemas.QueueState:
    """Depth by state, age of the oldest waiting recording, FAILED jobs, decisions today by
    outcome and p50/p95 time-to-decision — for the caller's region (or a region inside it)."""
    scope = service.scope_for(principal, region)
    return schemas.QueueState.model_validate(service.queue_figures(session, region_code=scope))


@router.post("/jobs/{job_id}/retry", response_model=schemas.RetryOut)
def retry_job(job_id: int, session: SessionDep, principal: Operator) -> schemas.RetryOut:
    """Put a FAILED job back in the queue with fresh attempts (audited)."""
    job = service.retry_failed(session, job_id=job_id, actor=principal)
    return schemas.RetryOut(job_id=job.id, state=job.state, attempts=job.attempts)
