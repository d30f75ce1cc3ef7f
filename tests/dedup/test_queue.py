"""The job queue: claims, leases, a dead worker's batch retaken, backoff, FAILED after the last
attempt, an operator's retry, and the exactly-once guard against a worker whose lease expired."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ektp.auth.permissions import SYSTEM
from ektp.dedup import queue, service
from ektp.dedup.matcher import Verdict
from ektp.dedup.worker import Worker
from ektp.kit.errors import InvalidState
from ektp.kit.time import utcnow
from ektp.models.audit import AuditEntry
from ektp.models.dedup import DedupDecision, DedupJob, DedupOutcome, JobState
from ektp.models.enrollment import Enrollment
from tests.dedup.conftest import population, record

LEASE = 60.0


def _job(session: Session, enrollment_id: int) -> DedupJob:
    session.expire_all()
    return session.scalars(select(DedupJob).where(DedupJob.enrollment_id == enrollment_id)).one()


def _prr() -> Verdict:
    return Verdict(DedupOutcome.PRINT_READY_RECORD, "test")


class TestClaim:
    def test_claim_takes_due_jobs_oldest_first_and_not_twice(self, session: Session) -> None:
        a, b, c = (record(session, population().gallery[i]) for i in range(3))
        first = queue.claim_batch(session, worker_id="w1", limit=2, lease_seconds=LEASE, max_attempts=3)
        assert [x.enrollment_id for x in first] == [a.id, b.id]
        second = queue.claim_batch(session, worker_id="w2", limit=5, lease_seconds=LEASE, max_attempts=3)
        assert [x.enrollment_id for x in second] == [c.id]
        job = _job(session, a.id)
        assert (job.state, job.claimed_by, job.attempts) == ("CLAIMED", "w1", 1)

    def test_job_not_yet_due_is_not_claimed(self, session: Session) -> None:
        a = record(session, population().gallery[0])
        job = _job(session, a.id)
        job.next_attempt_at = utcnow() + dt.timedelta(minutes=5)
        session.flush()
        assert queue.claim_batch(session, worker_id="w", limit=5, lease_seconds=LEASE, max_attempts=3) == []

    def test_dead_workers_batch_is_retaken_after_its_lease(self, session: Session) -> None:
        a = record(session, population().gallery[0])
        now = utcnow()
        dead = queue.claim_batch(
            session, worker_id="dead", limit=5, lease_seconds=LEASE, max_attempts=3, now=now
        )
        assert len(dead) == 1
        # within the lease nobody else gets it
        assert (
            queue.claim_batch(session, worker_id="w2", limit=5, lease_seconds=LEASE, max_attempts=3, now=now)
            == []
        )
        later = now + dt.timedelta(seconds=LEASE + 1)
        retaken = queue.claim_batch(
            session, worker_id="w2", limit=5, lease_seconds=LEASE, max_attempts=3, now=later
        )
        assert [c.enrollment_id for c in retaken] == [a.id]
        assert retaken[0].attempts == 2
        # the dead worker's claim is stale now: renewal refused
        assert queue.renew(session, claims=dead, lease_seconds=LEASE) == []
        assert queue.renew(session, claims=retaken, lease_seconds=LEASE)[0].job_id == retaken[0].job_id

    def test_retake_after_the_last_attempt_marks_failed(self, session: Session) -> None:
        a = record(session, population().gallery[0])
        now = utcnow()
        for i in range(2):
            at = now + dt.timedelta(seconds=i * (LEASE + 1))
            assert queue.claim_batch(
                session, worker_id=f"w{i}", limit=1, lease_seconds=LEASE, max_attempts=2, now=at
            )
        at = now + dt.timedelta(seconds=3 * (LEASE + 1))
        assert (
            queue.claim_batch(session, worker_id="w9", limit=1, lease_seconds=LEASE, max_attempts=2, now=at)
            == []
        )
        job = _job(session, a.id)
        assert job.state == "FAILED"
        assert "lease expired" in (job.last_error or "")


class TestFailures:
    def test_transient_failure_backs_off_exponentially_then_fails(self, session: Session) -> None:
        a = record(session, population().gallery[0])
        now = utcnow()
        waits = []
        for attempt in range(1, 4):
            at = now + dt.timedelta(hours=attempt * 3)
            (claim,) = queue.claim_batch(
                session, worker_id="w", limit=1, lease_seconds=LEASE, max_attempts=3, now=at
            )
            assert claim.attempts == attempt
            state = queue.fail(
                session, claim=claim, error=f"boom {attempt}", max_attempts=3, backoff_base=10, now=at
            )
            job = _job(session, a.id)
            assert job.last_error == f"boom {attempt}"
            if attempt < 3:
                assert state == "WAITING"
                waits.append((job.next_attempt_at - at).total_seconds())
            else:
                assert state == "FAILED"
                assert job.state == "FAILED"
        assert waits == [10.0, 20.0]
        assert queue.backoff_seconds(30, 10) == queue.MAX_BACKOFF_SECONDS

    def test_worker_retries_an_exception_with_backoff(self, session: Session, worker: Worker) -> None:
        a = record(session, population().gallery[0])

        def broken(*_: object, **__: object) -> Verdict:
            raise OSError("gallery disk unavailable")

        worker.matcher.evaluate = broken  # type: ignore[method-assign]
        result = worker.run_batch()
        assert result.retried == 1
        job = _job(session, a.id)
        assert job.state == "WAITING"
        assert job.last_error == "OSError: gallery disk unavailable"
        assert job.next_attempt_at > utcnow()

    def test_operator_retries_a_failed_job_audited(self, session: Session) -> None:
        a = record(session, population().gallery[0])
        (claim,) = queue.claim_batch(session, worker_id="w", limit=1, lease_seconds=LEASE, max_attempts=1)
        queue.fail(session, claim=claim, error="boom", max_attempts=1, backoff_base=1)
        job = _job(session, a.id)
        service.retry_failed(session, job_id=job.id, actor=SYSTEM)
        job = _job(session, a.id)
        assert (job.state, job.attempts) == ("WAITING", 0)
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
        assert (entry.action, entry.entity_id) == ("dedup.retry", str(job.id))
        with pytest.raises(InvalidState):
            service.retry_failed(session, job_id=job.id, actor=SYSTEM)


class TestExactlyOnce:
    def test_stale_workers_decision_is_refused_and_the_new_owners_counts(self, session: Session) -> None:
        a = record(session, population().gallery[0])
        now = utcnow()
        (stale,) = queue.claim_batch(
            session, worker_id="slow", limit=1, lease_seconds=LEASE, max_attempts=3, now=now
        )
        later = now + dt.timedelta(seconds=LEASE + 1)
        (fresh,) = queue.claim_batch(
            session, worker_id="fast", limit=1, lease_seconds=LEASE, max_attempts=3, now=later
        )
        enrollment = session.get(Enrollment, a.id)
        assert enrollment is not None
        service.record_decision(session, claim=fresh, enrollment=enrollment, verdict=_prr(), worker_id="fast")
        with pytest.raises(queue.LeaseLost):
            service.record_decision(
                session, claim=stale, enrollment=enrollment, verdict=_prr(), worker_id="slow"
            )
        decisions = session.scalars(select(DedupDecision).where(DedupDecision.enrollment_id == a.id)).all()
        assert [d.decided_by for d in decisions] == ["fast"]
        assert _job(session, a.id).state == JobState.DONE.value

    def test_worker_whose_lease_lapsed_unnoticed_may_still_decide(self, session: Session) -> None:
        a = record(session, population().gallery[0])
        # claimed with a lease that has already run out (nobody retook the job meanwhile)
        (claim,) = queue.claim_batch(session, worker_id="slow", limit=1, lease_seconds=-1, max_attempts=3)
        enrollment = session.get(Enrollment, a.id)
        assert enrollment is not None
        service.record_decision(session, claim=claim, enrollment=enrollment, verdict=_prr(), worker_id="slow")
        assert enrollment.status == "PRINT_READY_RECORD"
        # nobody can take the job any more
        assert queue.claim_batch(session, worker_id="w", limit=1, lease_seconds=LEASE, max_attempts=3) == []


class TestGracefulStop:
    def test_stopping_worker_gives_its_untouched_claims_back(self, session: Session, worker: Worker) -> None:
        ids = [record(session, population().gallery[i]).id for i in range(3)]
        decided: list[str] = []

        def stop_after_first(outcome: str) -> None:
            decided.append(outcome)

        worker.stop_event.set()  # SIGTERM arrived just after the claim
        result = worker.run_batch(stop_after_first)
        assert result.claimed == 3
        assert result.decided == 0
        for enrollment_id in ids:
            job = _job(session, enrollment_id)
            assert (job.state, job.attempts, job.claimed_by) == ("WAITING", 0, None)
