"""The dedup worker loop, and a background-thread worker for the web process (demo).

One batch: claim up to ``batch`` due jobs (one short transaction), apply gallery removals, then
per job: read the recording and match it (one read-only transaction; on SQLite it takes no write
lock, so it blocks no writer), ``threads`` jobs at a time with their searches taking turns in claim
order; then, in claim order, decide (one write transaction each:
:func:`ektp.dedup.service.record_decision`).
Leases are renewed as the batch goes; a stop request (SIGTERM, :meth:`BackgroundWorker.stop`)
ends the batch after the current job and gives the untouched claims back.

Transient failures (any exception but a stale claim) put the job back with backoff; a stale claim
(:class:`~ektp.dedup.queue.LeaseLost`: the lease expired and another worker took the job) is
logged and its work discarded — the other worker's decision is the one.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ektp.config import Settings
from ektp.db.session import unit_of_work
from ektp.dedup import queue
from ektp.dedup.matcher import DedupMatcher, Verdict, gallery_dir
from ektp.dedup.service import record_decision
from ektp.kit.errors import DomainError
from ektp.models.enrollment import BiometricCapture, Enrollment
from ektp.models.population import Resident

log = logging.getLogger(__name__)


def new_worker_id() -> str:
    return f"dedup-worker:{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class BatchResult:
    claimed: int = 0
    decided: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    retried: int = 0
    failed: int = 0
    discarded: int = 0
    removed_from_gallery: int = 0


@dataclass
class Worker:
    engine: Engine
    matcher: DedupMatcher
    worker_id: str = field(default_factory=new_worker_id)
    batch: int = 50
    lease_seconds: float = 120.0
    max_attempts: int = 5
    backoff_seconds: float = 30.0
    stop_event: threading.Event = field(default_factory=threading.Event)
    #: Recordings of a batch evaluated at once (threads of this process). Templating a probe
    #: (numba, without the GIL), faiss's stage 1 and the database reads of one overlap another's;
    #: the searches themselves still run one at a time in claim order. Decisions are written one by
    #: one, in claim order, as with one thread.
    threads: int = 1
    #: One transaction (default: a unit of work on ``engine``; tests pass their own session's).
    session_scope: Callable[[], AbstractContextManager[Session]] | None = None

    def transaction(self) -> AbstractContextManager[Session]:
        if self.session_scope is not None:
            return self.session_scope()
        return unit_of_work(self.engine)

    def read_transaction(self) -> AbstractContextManager[Session]:
        """Evaluating a recording only reads: on SQLite no write lock, so evaluation threads
        and the web process's writers do not wait for one another."""
        if self.session_scope is not None:
            return self.session_scope()
        return unit_of_work(self.engine, read_only=True)

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine, matcher: DedupMatcher, **kw: object) -> Worker:
        options: dict[str, object] = {
            "lease_seconds": settings.dedup_lease_seconds,
            "max_attempts": settings.dedup_max_attempts,
            "backoff_seconds": settings.dedup_backoff_seconds,
            "threads": settings.dedup_threads,
            **kw,  # what the caller names wins over the settings
        }
        return cls(engine, matcher, **options)  # type: ignore[arg-type]

    def run_batch(self, on_decided: Callable[[str], None] | None = None) -> BatchResult:
        result = BatchResult()
        with self.transaction() as session:
            claims = queue.claim_batch(
                session,
                worker_id=self.worker_id,
                limit=self.batch,
                lease_seconds=self.lease_seconds,
                max_attempts=self.max_attempts,
            )
        result.claimed = len(claims)
        if not claims:
            return result
        with self.transaction() as session:
            result.removed_from_gallery = self.matcher.sync_removals(session)
        if self.threads > 1 and self.session_scope is None:
            evaluated = self._evaluate_in_threads(claims, result)
        else:
            evaluated = self._evaluate_in_order(claims, result)
        try:
            self.matcher.flush()  # the batch's recordings into the gallery, one durable write
        except Exception as exc:
            self.matcher.discard_pending()
            for claim, _, _ in evaluated:
                self._fail(claim, f"gallery insert failed: {type(exc).__name__}: {exc}", result)
            return result
        for claim, verdict, resident in evaluated:
            self._decide(claim, verdict, resident, result, on_decided)
        return result

    def _evaluate_in_order(
        self, claims: list[queue.Claim], result: BatchResult
    ) -> list[tuple[queue.Claim, Verdict, Resident]]:
        pending = list(claims)
        evaluated: list[tuple[queue.Claim, Verdict, Resident]] = []
        while pending:
            if self.stop_event.is_set():
                with self.transaction() as session:
                    queue.release(session, claims=pending)
                break
            claim = pending.pop(0)
            done = self._evaluate(claim, result)
            if done is not None:
                evaluated.append(done)
            if pending and pending[0].lease_until.timestamp() - time.time() < self.lease_seconds / 2:
                with self.transaction() as session:
                    pending = queue.renew(session, claims=pending, lease_seconds=self.lease_seconds)
        return evaluated

    def _evaluate_in_threads(
        self, claims: list[queue.Claim], result: BatchResult
    ) -> list[tuple[queue.Claim, Verdict, Resident]]:
        """The batch's evaluations ``threads`` at a time, each in its own read transaction. The
        searches take turns in claim order (:class:`_Turnstile`), so the outcome is the one a
        single thread reaches: of two recordings of one person in the batch, the earlier-claimed
        is searched first and the later one finds it among the pending recordings."""
        turns = _Turnstile(len(claims))

        def task(index: int, claim: queue.Claim) -> tuple[queue.Claim, Verdict, Resident] | str | None:
            try:
                if self.stop_event.is_set():
                    return None  # not started: given back below
                return self._evaluate_one(claim, search_turn=turns.turn(index))
            finally:
                turns.done(index)  # also when it failed or never reached its search

        evaluated: list[tuple[queue.Claim, Verdict, Resident]] = []
        unstarted: list[queue.Claim] = []
        lease_until = min(c.lease_until for c in claims)
        with ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="ektp-dedup") as pool:
            futures = [pool.submit(task, i, claim) for i, claim in enumerate(claims)]
            for i, (claim, future) in enumerate(zip(claims, futures, strict=True)):
                outcome = future.result()
                if outcome is None:
                    unstarted.append(claim)
                elif isinstance(outcome, str):
                    self._fail(claim, outcome, result)
                else:
                    evaluated.append(outcome)
                rest = [c for c, f in zip(claims[i + 1 :], futures[i + 1 :], strict=True) if not f.done()]
                if rest and lease_until.timestamp() - time.time() < self.lease_seconds / 2:
                    # the running evaluations only read their claim's recording id; a renewed
                    # claim keeps its version, so the claims they hold stay valid for the decision
                    with self.transaction() as session:
                        renewed = queue.renew(session, claims=rest, lease_seconds=self.lease_seconds)
                    if renewed:
                        lease_until = min(c.lease_until for c in renewed)
        if unstarted:
            with self.transaction() as session:
                queue.release(session, claims=unstarted)
        return evaluated

    def _evaluate(
        self, claim: queue.Claim, result: BatchResult
    ) -> tuple[queue.Claim, Verdict, Resident] | None:
        outcome = self._evaluate_one(claim)
        if isinstance(outcome, str):
            self._fail(claim, outcome, result)
            return None
        return outcome

    def _evaluate_one(
        self, claim: queue.Claim, search_turn: AbstractContextManager[object] | None = None
    ) -> tuple[queue.Claim, Verdict, Resident] | str:
        """Match one recording (a read transaction); an error comes back as its message."""
        try:
            with self.read_transaction() as session:
                enrollment = session.get(Enrollment, claim.enrollment_id)
                if enrollment is None:
                    raise LookupError(f"recording {claim.enrollment_id} does not exist")
                capture = session.get(BiometricCapture, claim.enrollment_id)
                resident = session.get(Resident, enrollment.resident_id)
                assert resident is not None
                verdict = self.matcher.evaluate(
                    session,
                    enrollment=enrollment,
                    capture=capture,
                    resident=resident,
                    defer=True,
                    search_turn=search_turn,
                )
        except Exception as exc:
            return str(exc) if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
        return claim, verdict, resident

    def _fail(self, claim: queue.Claim, message: str, result: BatchResult) -> None:
        log.warning("dedup: job %s attempt %s failed: %s", claim.job_id, claim.attempts, message)
        try:
            with self.transaction() as session:
                state = queue.fail(
                    session,
                    claim=claim,
                    error=message,
                    max_attempts=self.max_attempts,
                    backoff_base=self.backoff_seconds,
                )
        except queue.LeaseLost:
            result.discarded += 1
            return
        if state == "FAILED":
            result.failed += 1
        else:
            result.retried += 1

    def _decide(
        self,
        claim: queue.Claim,
        verdict: Verdict,
        resident: Resident,
        result: BatchResult,
        on_decided: Callable[[str], None] | None,
    ) -> None:
        try:
            with self.transaction() as session:
                fresh = session.get(Enrollment, claim.enrollment_id)
                assert fresh is not None
                record_decision(
                    session, claim=claim, enrollment=fresh, verdict=verdict, worker_id=self.worker_id
                )
        except queue.LeaseLost as exc:
            log.warning("dedup: work on job %s discarded: %s", claim.job_id, exc)
            result.discarded += 1
            return
        except IntegrityError as exc:  # a decision already exists: someone else decided first
            log.warning("dedup: decision for job %s refused by the database: %s", claim.job_id, exc.orig)
            result.discarded += 1
            return
        except Exception as exc:
            message = str(exc) if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
            self._fail(claim, message, result)
            return
        self.matcher.after_decision(resident, verdict.outcome)
        result.decided += 1
        result.outcomes[verdict.outcome.value] = result.outcomes.get(verdict.outcome.value, 0) + 1
        if on_decided is not None:
            on_decided(verdict.outcome.value)

    def run(
        self,
        *,
        once: bool = False,
        max_seconds: float | None = None,
        idle_sleep: float = 2.0,
        on_decided: Callable[[str], None] | None = None,
        on_batch: Callable[[BatchResult], None] | None = None,
    ) -> BatchResult:
        """Work until stopped (or, with ``once``, until no job is due; or ``max_seconds``)."""
        total = BatchResult()
        started = time.monotonic()
        while not self.stop_event.is_set():
            if max_seconds is not None and time.monotonic() - started >= max_seconds:
                break
            result = self.run_batch(on_decided)
            _add(total, result)
            if on_batch is not None:
                on_batch(result)
            if result.claimed == 0:
                if once:
                    break
                self.stop_event.wait(idle_sleep)
        return total


class _Turnstile:
    """Lets task ``i`` through only once tasks ``0 … i−1`` are done with their turn (searched,
    failed, or stopped before searching): the searches of a batch run in claim order."""

    def __init__(self, count: int) -> None:
        self._finished = [False] * count
        self._next = 0  # every task before this one is done
        self._changed = threading.Condition()

    @contextmanager
    def turn(self, index: int) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: self._next >= index)
        try:
            yield
        finally:
            self.done(index)

    def done(self, index: int) -> None:
        with self._changed:
            if self._finished[index]:
                return
            self._finished[index] = True
            while self._next < len(self._finished) and self._finished[self._next]:
                self._next += 1
            self._changed.notify_all()


def _add(total: BatchResult, one: BatchResult) -> None:
    total.claimed += one.claimed
    total.decided += one.decided
    total.retried += one.retried
    total.failed += one.failed
    total.discarded += one.discarded
    total.removed_from_gallery += one.removed_from_gallery
    for key, value in one.outcomes.items():
        total.outcomes[key] = total.outcomes.get(key, 0) + value


class BackgroundWorker:
    """A worker in a daemon thread (demo / single-node web process). :meth:`stop` ends it and
    closes the gallery."""

    def __init__(self, worker: Worker, *, owns_engine: bool, idle_sleep: float) -> None:
        self.worker = worker
        self._owns_engine = owns_engine
        self._idle_sleep = idle_sleep
        self.thread = threading.Thread(target=self._run, name="ektp-dedup-worker", daemon=True)

    def _run(self) -> None:
        while not self.worker.stop_event.is_set():
            try:
                self.worker.run(idle_sleep=self._idle_sleep)
            except Exception:
                log.exception("dedup background worker: batch failed; retrying shortly")
                self.worker.stop_event.wait(self._idle_sleep)

    def start(self) -> BackgroundWorker:
        self.thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self.worker.stop_event.set()
        self.thread.join(timeout)
        self.worker.matcher.close()
        if self._owns_engine:
            self.worker.engine.dispose()


def start_background_worker(
    settings: Settings,
    *,
    engine: Engine | None = None,
    batch: int = 20,
    idle_sleep: float = 2.0,
    demographic: bool = True,
) -> BackgroundWorker:
    """Start a dedup worker thread for this process (the gallery under ``settings``); returns the
    handle whose ``stop()`` ends it. Only one process may own a gallery directory."""
    from ektp.db.engine import make_engine

    owns = engine is None
    engine = engine or make_engine(settings.database_url)
    matcher = DedupMatcher.open(gallery_dir(settings), demographic=demographic)
    worker = Worker.from_settings(settings, engine, matcher, batch=batch)
    return BackgroundWorker(worker, owns_engine=owns, idle_sleep=idle_sleep).start()
