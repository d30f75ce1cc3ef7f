"""Rules of the dedup queue: the exactly-once decision, the queue's figures, the operator's retry.

:func:`record_decision` writes, in the caller's transaction, (1) the job DONE guarded by the
claim (:func:`ektp.dedup.queue.finish` — the first write, so a stale worker is refused before it
writes anything else), (2) the :class:`DedupDecision` row (unique per recording: a second guard),
(3) the recording's transition out of SENT_FOR_ENROLLMENT (its own optimistic lock: a third).
Services never commit; the worker commits once per decision.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ektp.audit import service as audit
from ektp.auth.permissions import Principal
from ektp.dedup.matcher import Verdict, seconds_between
from ektp.dedup.queue import Claim, finish
from ektp.enrollment.status import transition
from ektp.kit.errors import FieldProblem, InvalidState, NotFound, PermissionDenied
from ektp.kit.time import utcnow
from ektp.models.dedup import DedupDecision, DedupJob, DedupOutcome, JobState
from ektp.models.enrollment import Enrollment, EnrollmentStatus

WIB = dt.timezone(dt.timedelta(hours=7))


def record_decision(
    session: Session,
    *,
    claim: Claim,
    enrollment: Enrollment,
    verdict: Verdict,
    worker_id: str,
    now: dt.datetime | None = None,
) -> DedupDecision:
    now = now or utcnow()
    finish(session, claim=claim, now=now)
    if enrollment.status != EnrollmentStatus.SENT_FOR_ENROLLMENT.value:
        raise InvalidState(
            f"recording {enrollment.id} is {enrollment.status}, not SENT_FOR_ENROLLMENT",
            [FieldProblem("status", "state", "only a recording sent for enrollment is decided")],
        )
    decision = DedupDecision(
        enrollment_id=enrollment.id,
        outcome=verdict.outcome.value,
        matched_enrollment_id=verdict.matched_enrollment_id,
        best_score=verdict.best_score
        if verdict.best_score is None or math.isfinite(verdict.best_score)
        else None,
        candidates=verdict.candidates,
        thresholds=verdict.thresholds,
        demographic=verdict.demographic,
        reason=verdict.reason,
        decided_by=worker_id,
        decided_at=now,
        seconds_from_capture=seconds_between(enrollment.captured_at, now),
    )
    session.add(decision)
    session.flush()
    transition(
        session,
        enrollment=enrollment,
        to=EnrollmentStatus(verdict.outcome.value),
        by=worker_id,
        reason=verdict.reason[:500],
        at=now,
    )
    return decision


def retry_failed(session: Session, *, job_id: int, actor: Principal) -> DedupJob:
    """Operator action: a FAILED job back to WAITING with fresh attempts (audited)."""
    job = session.get(DedupJob, job_id)
    if job is None:
        raise NotFound(f"No dedup job {job_id}.", [FieldProblem("job_id", "unknown", f"no job {job_id}")])
    enrollment = session.get(Enrollment, job.enrollment_id)
    if enrollment is not None and not actor.covers_region(enrollment.region_code):
        raise NotFound(f"No dedup job {job_id}.", [FieldProblem("job_id", "unknown", f"no job {job_id}")])
    if job.state != JobState.FAILED.value:
        raise InvalidState(
            f"dedup job {job_id} is {job.state}; only a FAILED job can be retried",
            [FieldProblem("state", "failed_only", f"job is {job.state}")],
        )
    before = {"state": job.state, "attempts": job.attempts, "last_error": job.last_error}
    now = utcnow()
    changed = session.execute(
        update(DedupJob)
        .where(
            DedupJob.id == job.id, DedupJob.version == job.version, DedupJob.state == JobState.FAILED.value
        )
        .values(
            state=JobState.WAITING.value,
            attempts=0,
            next_attempt_at=now,
            finished_at=None,
            version=job.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidState(f"dedup job {job_id} changed meanwhile; reload and try again")
    session.refresh(job)
    audit.record(
        session,
        actor=actor,
        action="dedup.retry",
        entity_type="dedup_job",
        entity_id=str(job.id),
        before=before,
        after={"state": job.state, "attempts": job.attempts},
    )
    return job


def scope_for(principal: Principal, region: str | None) -> str | None:
    """The region the caller's figures cover: ``region`` if given (and within the caller's own),
    else the caller's region (None: the whole country)."""
    if region:
        if not principal.covers_region(region):
            raise PermissionDenied(
                f"region {region} is outside your region {principal.region_code}",
                [FieldProblem("region", "scope", f"{region} is outside {principal.region_code}")],
            )
        return region
    return principal.region_code


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def queue_figures(
    session: Session, *, region_code: str | None, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Depth by state, age of the oldest waiting job, failed jobs, today's decisions by outcome
    and p50/p95 time-to-decision today (WIB day), for the whole country or one region prefix."""
    now = now or utcnow()

    def scoped(query: Any) -> Any:
        if region_code:
            return query.where(
                (Enrollment.region_code == region_code) | Enrollment.region_code.startswith(region_code + ".")
            )
        return query

    depth = {s.value: 0 for s in JobState}
    rows = session.execute(
        scoped(
            select(DedupJob.state, func.count())
            .join(Enrollment, Enrollment.id == DedupJob.enrollment_id)
            .group_by(DedupJob.state)
        )
    ).all()
    for state, count in rows:
        depth[str(state)] = int(count)
    oldest = session.scalar(
        scoped(
            select(func.min(DedupJob.enqueued_at))
            .join(Enrollment, Enrollment.id == DedupJob.enrollment_id)
            .where(DedupJob.state.in_([JobState.WAITING.value, JobState.CLAIMED.value]))
        )
    )
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    failed = session.execute(
        scoped(
            select(
                DedupJob.id,
                DedupJob.enrollment_id,
                DedupJob.attempts,
                DedupJob.last_error,
                DedupJob.finished_at,
            )
            .join(Enrollment, Enrollment.id == DedupJob.enrollment_id)
            .where(DedupJob.state == JobState.FAILED.value)
            .order_by(DedupJob.id)
            .limit(100)
        )
    ).all()
    start_of_day = dt.datetime.combine(now.astimezone(WIB).date(), dt.time(0), WIB).astimezone(dt.UTC)
    decided = session.execute(
        scoped(
            select(DedupDecision.outcome, DedupDecision.seconds_from_capture)
            .join(Enrollment, Enrollment.id == DedupDecision.enrollment_id)
            .where(DedupDecision.decided_at >= start_of_day)
        )
    ).all()
    by_outcome = {o.value: 0 for o in DedupOutcome}
    for outcome, _ in decided:
        by_outcome[str(outcome)] += 1
    seconds = [float(s) for _, s in decided]
    return {
        "region_code": region_code,
        "as_of": now,
        "depth": depth,
        "oldest_waiting_at": oldest,
        "oldest_waiting_age_seconds": seconds_between(oldest, now) if oldest is not None else None,
        "failed": [
            {"job_id": j, "enrollment_id": e, "attempts": a, "last_error": err, "failed_at": at}
            for j, e, a, err, at in failed
        ],
        "decisions_today": by_outcome,
        "decisions_today_total": len(decided),
        "time_to_decision_p50_seconds": _percentile(seconds, 0.5),
        "time_to_decision_p95_seconds": _percentile(seconds, 0.95),
    }
