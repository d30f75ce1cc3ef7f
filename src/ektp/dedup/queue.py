"""The dedup job queue: claims with a lease, renewal, backoff, FAILED after too many attempts.

Every state change of a job is one guarded ``UPDATE ... WHERE id = :id AND version = :version``
(plus the state the change starts from): a change made on a stale view of the job touches no
row and is refused. The job's ``version`` is bumped by each claim, release, failure and
completion — but not by a lease renewal — so a claim is identified by ``(job id, version)``:

* a worker whose lease expired and whose job was claimed again by another worker holds an old
  version, so its renewal, its failure report and its decision (:func:`finish`) are refused
  (:class:`LeaseLost`) and its work is discarded;
* a worker whose lease expired but whose job nobody took yet may still finish it: nobody else
  has decided, and the decision stays exactly-once.

Claiming (:func:`claim_batch`) picks due jobs — WAITING with ``next_attempt_at ≤ now``, or
CLAIMED with ``lease_until < now`` (a dead worker's batch) — oldest first. On PostgreSQL the
candidate rows are read ``FOR UPDATE SKIP LOCKED``, so concurrent claimers skip each other's rows
instead of waiting or taking the same job. SQLite has one writer at a time and no row locks; the
guarded update is enough there (a row changed since it was read is simply not claimed).

A retake after an expired lease counts as an attempt: a job that kills its worker each time
(a poison record) ends FAILED after ``max_attempts`` instead of killing workers for ever.
Functions here take the caller's session and never commit (the worker owns the transactions).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from ektp.kit.errors import Conflict
from ektp.kit.time import utcnow
from ektp.models.dedup import DedupJob, JobState

#: Longest backoff between two attempts.
MAX_BACKOFF_SECONDS = 3600.0
#: last_error is cut to this length (a traceback's last line is what an operator needs).
MAX_ERROR_CHARS = 2000


class LeaseLost(Conflict):
    """The job was claimed again (or finished, released) since this worker claimed it."""


@dataclass(frozen=True)
class Claim:
    """A worker's claim on one job: valid while the job still has this ``version``."""

    job_id: int
    enrollment_id: int
    version: int
    worker_id: str
    attempts: int
    lease_until: dt.datetime


def backoff_seconds(attempts: int, base: float) -> float:
    """Wait before attempt ``attempts + 1``: base · 2^(attempts − 1), capped at an hour."""
    return float(min(MAX_BACKOFF_SECONDS, base * 2 ** max(0, attempts - 1)))


def _due(now: dt.datetime) -> object:
    return or_(
        and_(DedupJob.state == JobState.WAITING.value, DedupJob.next_attempt_at <= now),
        and_(DedupJob.state == JobState.CLAIMED.value, DedupJob.lease_until < now),
    )


def claim_batch(
    session: Session,
    *,
    worker_id: str,
    limit: int,
    lease_seconds: float,
    max_attempts: int,
    now: dt.datetime | None = None,
) -> list[Claim]:
    """Claim up to ``limit`` due jobs for ``worker_id`` (oldest first). A lease-expired job that
    has used up its attempts is marked FAILED instead of being claimed again."""
    now = now or utcnow()
    lease_until = now + dt.timedelta(seconds=lease_seconds)
    query = (
        select(DedupJob.id, DedupJob.enrollment_id, DedupJob.version, DedupJob.attempts, DedupJob.state)
        .where(_due(now))  # type: ignore[arg-type]
        .order_by(DedupJob.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claims: list[Claim] = []
    for job_id, enrollment_id, version, attempts, state in session.execute(query).all():
        if state == JobState.CLAIMED.value and attempts >= max_attempts:
            session.execute(
                update(DedupJob)
                .where(DedupJob.id == job_id, DedupJob.version == version)
                .values(
                    state=JobState.FAILED.value,
                    version=version + 1,
                    claimed_by=None,
                    lease_until=None,
                    finished_at=now,
                    last_error=f"the worker's lease expired on attempt {attempts} of {max_attempts} "
                    "(the worker died or hung); no more attempts",
                )
                .execution_options(synchronize_session=False)
            )
            continue
        changed = session.execute(
            update(DedupJob)
            .where(DedupJob.id == job_id, DedupJob.version == version, DedupJob.state == state)
            .values(
                state=JobState.CLAIMED.value,
                version=version + 1,
                attempts=attempts + 1,
                claimed_by=worker_id,
                claimed_at=now,
                lease_until=lease_until,
            )
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount == 1:  # type: ignore[attr-defined]
            claims.append(Claim(job_id, enrollment_id, version + 1, worker_id, attempts + 1, lease_until))
    return claims


def _guard(claim: Claim) -> tuple[object, ...]:
    return (
        DedupJob.id == claim.job_id,
        DedupJob.version == claim.version,
        DedupJob.state == JobState.CLAIMED.value,
        DedupJob.claimed_by == claim.worker_id,
    )


def renew(
    session: Session, *, claims: Sequence[Claim], lease_seconds: float, now: dt.datetime | None = None
) -> list[Claim]:
    """Extend the lease of ``claims``; returns those still held (the others were taken again)."""
    now = now or utcnow()
    until = now + dt.timedelta(seconds=lease_seconds)
    kept = []
    for claim in claims:
        changed = session.execute(
            update(DedupJob)
            .where(*_guard(claim))  # type: ignore[arg-type]
            .values(lease_until=until)
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount == 1:  # type: ignore[attr-defined]
            kept.append(
                Claim(
                    claim.job_id, claim.enrollment_id, claim.version, claim.worker_id, claim.attempts, until
                )
            )
    return kept


def finish(session: Session, *, claim: Claim, now: dt.datetime | None = None) -> None:
    """Mark the claimed job DONE — the first statement of the decision's transaction: on
    PostgreSQL it also locks the job row, so a worker retaking the job waits for this
    transaction and then sees a new version. Raises :class:`LeaseLost` when the claim is stale."""
    changed = session.execute(
        update(DedupJob)
        .where(*_guard(claim))  # type: ignore[arg-type]
        .values(
            state=JobState.DONE.value,
            version=claim.version + 1,
            finished_at=now or utcnow(),
            lease_until=None,
            last_error=None,
        )
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseLost(
            f"dedup job {claim.job_id} is no longer claimed by {claim.worker_id} "
            f"(version {claim.version}): its lease expired and it was taken again"
        )


def fail(
    session: Session,
    *,
    claim: Claim,
    error: str,
    max_attempts: int,
    backoff_base: float,
    now: dt.datetime | None = None,
) -> str:
    """A transient failure: back to WAITING after a backoff, or FAILED once ``max_attempts`` are
    used. Returns the new state; raises :class:`LeaseLost` when the claim is stale."""
    now = now or utcnow()
    failed = claim.attempts >= max_attempts
    state = JobState.FAILED if failed else JobState.WAITING
    changed = session.execute(
        update(DedupJob)
        .where(*_guard(claim))  # type: ignore[arg-type]
        .values(
            state=state.value,
            version=claim.version + 1,
            claimed_by=None,
            lease_until=None,
            last_error=error[-MAX_ERROR_CHARS:],
            next_attempt_at=now + dt.timedelta(seconds=backoff_seconds(claim.attempts, backoff_base)),
            finished_at=now if failed else None,
        )
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseLost(f"dedup job {claim.job_id} is no longer claimed by {claim.worker_id}")
    return state.value


def release(session: Session, *, claims: Sequence[Claim]) -> None:
    """Give claimed jobs back untouched (a worker stopping): WAITING at once, the attempt not
    counted."""
    for claim in claims:
        session.execute(
            update(DedupJob)
            .where(*_guard(claim))  # type: ignore[arg-type]
            .values(
                state=JobState.WAITING.value,
                version=claim.version + 1,
                attempts=max(0, claim.attempts - 1),
                claimed_by=None,
                lease_until=None,
            )
            .execution_options(synchronize_session=False)
        )


def enqueue(session: Session, *, enrollment_id: int, now: dt.datetime | None = None) -> DedupJob:
    """A WAITING job for a recording (the enrollment service does this when it sends a recording
    for enrollment; tests and the benchmark use it directly)."""
    now = now or utcnow()
    job = DedupJob(
        enrollment_id=enrollment_id, state=JobState.WAITING.value, enqueued_at=now, next_attempt_at=now
    )
    session.add(job)
    session.flush()
    return job


def due_count(session: Session, *, now: dt.datetime | None = None) -> int:
    from sqlalchemy import func

    return int(
        session.scalar(select(func.count()).select_from(DedupJob).where(_due(now or utcnow()))) or 0  # type: ignore[arg-type]
    )
