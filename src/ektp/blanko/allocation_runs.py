"""Allocation runs: the planning core (:func:`ektp.planning.allocation.allocate`) over the open
requests and the ledger, stored so that a run can be checked, reproduced and approved.

Inputs gathered on the run date:

* **needs**, one per region with SUBMITTED requests: ``requested`` = the sum of its submitted
  requests; ``stock_on_hand`` = its ledger balance; ``avg_daily_consumption`` = the adjusted ADC
  (printed + spoiled per stocked day, :func:`ektp.blanko.indicators.region_indicators`) over the
  ``adc_window_days`` days ending the day before the run date; ``priority_class`` = the run's
  ``default_priority_class`` (1 by default, so that events can raise a region to 0); ``cap`` =
  the run's ``cap_per_region`` (None: no cap);
* **supply** = the CENTRE balance minus the blanks already approved but not yet released (they
  are promised; counting them again would allocate them twice). The policy's
  ``central_reserve`` is then kept back by the core;
* **events**: the :class:`~ektp.models.blanko_requests.PriorityEvent` rows active on the run date.

Stored: ``inputs`` — exactly what the core was given, in its canonical form (the part of
``AllocationResult.as_dict()`` that the fingerprint hashes); ``sources`` — how they were
gathered (request ids per region, centre balance, committed, window); ``outputs`` — the full
``as_dict()``; and one :class:`AllocationLine` per region. :func:`recompute` rebuilds the core's
arguments from ``inputs`` alone, so a stored run is reproducible bit for bit (same fingerprint,
same outputs) without the database state it was computed from.

Approval (central logistics, PROPOSED runs only) turns the proposal into approvals: each region's
allocation is shared over its requests oldest first (each at most its request); every request
that receives blanks is APPROVED with reason "allocation run #n" (partial where less than
requested); a request that receives nothing stays SUBMITTED for the next run. A run is refused
(409) when one of its requests is no longer SUBMITTED or the centre no longer holds what it
allocated: discard it and run again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ektp.audit.service import record
from ektp.auth.permissions import Permission, Principal
from ektp.blanko import indicators
from ektp.blanko.requests import (
    approve,
    centre_balance,
    committed_quantity,
    ensure_central_logistics,
    office_balance,
)
from ektp.kit.errors import Conflict, InvalidState, NotFound, PermissionDenied, invalid
from ektp.kit.time import today_wib, utcnow
from ektp.models.blanko_requests import (
    AllocationLine,
    AllocationRun,
    BlankRequest,
    PriorityEvent,
    RequestStatus,
    RunStatus,
)
from ektp.planning.allocation import (
    AllocationPolicy,
    AllocationResult,
    RegionNeed,
    allocate,
)
from ektp.planning.allocation import PriorityEvent as CorePriorityEvent

#: Keys of ``AllocationResult.as_dict()`` that are inputs (hashed by the fingerprint).
INPUT_KEYS = ("algorithm", "run_date", "supply", "policy", "needs", "events")

#: Columns the proposal table may be sorted by.
SORT_COLUMNS: dict[str, Any] = {
    "region": AllocationLine.region_code,
    "requested": AllocationLine.requested,
    "stock": AllocationLine.stock_on_hand,
    "consumption": AllocationLine.consumption_rate,
    "class": AllocationLine.priority_class,
    "allocated": AllocationLine.allocated,
    "cover_before": AllocationLine.days_of_cover_before,
    "cover_after": AllocationLine.days_of_cover_after,
    "fill": AllocationLine.fill_ratio,
}


@dataclass(frozen=True)
class RunOptions:
    """How the needs are gathered (the policy says how they are served)."""

    adc_window_days: int = 30
    default_priority_class: int = 1
    cap_per_region: int | None = None

    def __post_init__(self) -> None:
        for name, value, low in (
            ("adc_window_days", self.adc_window_days, 1),
            ("default_priority_class", self.default_priority_class, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise invalid(name, "minimum", f"{name} must be a whole number ≥ {low}")
        if self.adc_window_days > 366:
            raise invalid("adc_window_days", "maximum", "adc_window_days must be at most 366")
        cap = self.cap_per_region
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 0):
            raise invalid("cap_per_region", "minimum", "cap_per_region must be a whole number ≥ 0")


# --------------------------------------------------------------------------------------------------
# priority events


def create_priority_event(
    session: Session,
    *,
    region_prefix: str,
    starts_on: dt.date,
    ends_on: dt.date,
    priority_class: int,
    reason: str,
    actor: Principal,
) -> PriorityEvent:
    ensure_central_logistics(actor, "record priority events for")
    prefix = (region_prefix or "").strip()
    if not prefix or len(prefix) > 13 or not all(part.isdigit() for part in prefix.split(".")):
        raise invalid(
            "region_prefix", "region_code", "region_prefix must be a dotted region code such as 31 or 32.04"
        )
    text = (reason or "").strip()
    if not text:
        raise invalid("reason", "required", "reason is required")
    if len(text) > 200:
        raise invalid("reason", "max_length", "reason must be at most 200 characters")
    # The core validates dates and class and names the field.
    CorePriorityEvent(prefix, starts_on, ends_on, priority_class, text)
    event = PriorityEvent(
        region_prefix=prefix,
        starts_on=starts_on,
        ends_on=ends_on,
        priority_class=priority_class,
        reason=text,
        created_by_user_id=actor.user_id,
    )
    session.add(event)
    session.flush()
    record(
        session,
        actor=actor,
        action="priority_event.create",
        entity_type="priority_event",
        entity_id=str(event.id),
        before=None,
        after={
            "region_prefix": prefix,
            "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat(),
            "priority_class": priority_class,
            "reason": text,
        },
    )
    return event


def list_priority_events(session: Session, *, active_on: dt.date | None = None) -> list[PriorityEvent]:
    query = select(PriorityEvent)
    if active_on is not None:
        query = query.where(PriorityEvent.starts_on <= active_on, PriorityEvent.ends_on >= active_on)
    return list(session.scalars(query.order_by(PriorityEvent.starts_on, PriorityEvent.id)))


# --------------------------------------------------------------------------------------------------
# gathering inputs


@dataclass(frozen=True)
class GatheredInputs:
    needs: tuple[RegionNeed, ...]
    events: tuple[CorePriorityEvent, ...]
    supply: int
    sources: dict[str, Any]


def gather_inputs(session: Session, *, run_date: dt.date, options: RunOptions) -> GatheredInputs:
    """The needs, events and supply on ``run_date`` (see the module docstring)."""
    submitted = list(
        session.scalars(
            select(BlankRequest)
            .where(BlankRequest.status == RequestStatus.SUBMITTED.value)
            .order_by(BlankRequest.region_code, BlankRequest.id)
        )
    )
    by_region: dict[str, list[BlankRequest]] = {}
    for request in submitted:
        by_region.setdefault(request.region_code, []).append(request)
    window_end = run_date - dt.timedelta(days=1)
    window_start = run_date - dt.timedelta(days=options.adc_window_days)
    needs = []
    for code, requests in sorted(by_region.items()):
        stock = office_balance(session, code)
        figures = indicators.region_indicators(
            session, region_code=code, start=window_start, end=window_end, window_days=options.adc_window_days
        )
        needs.append(
            RegionNeed(
                region_code=code,
                requested=sum(r.requested_quantity for r in requests),
                stock_on_hand=stock,
                avg_daily_consumption=figures.adjusted_daily_consumption,
                priority_class=options.default_priority_class,
                cap=options.cap_per_region,
            )
        )
    events = tuple(
        CorePriorityEvent(e.region_prefix, e.starts_on, e.ends_on, e.priority_class, e.reason)
        for e in list_priority_events(session, active_on=run_date)
    )
    centre = centre_balance(session)
    committed = committed_quantity(session)
    supply = max(0, centre - committed)
    sources = {
        "request_ids": {code: [r.id for r in requests] for code, requests in sorted(by_region.items())},
        "centre_balance": centre,
        "committed": committed,
        "adc_window": [window_start.isoformat(), window_end.isoformat()],
        "options": asdict(options),
    }
    return GatheredInputs(needs=tuple(needs), events=events, supply=supply, sources=sources)


# --------------------------------------------------------------------------------------------------
# runs


def _jsonable(data: Mapping[str, Any]) -> dict[str, Any]:
    """What the JSON column gives back (tuples → lists, exact float round trip)."""
    loaded: dict[str, Any] = json.loads(json.dumps(data, allow_nan=False))
    return loaded


def create_run(
    session: Session,
    *,
    policy: AllocationPolicy,
    actor: Principal,
    run_date: dt.date | None = None,
    options: RunOptions = RunOptions(),
) -> AllocationRun:
    """Gather the inputs, run the core and store the run as PROPOSED (central logistics only)."""
    ensure_central_logistics(actor, "run allocations for")
    day = run_date or today_wib()
    if day > today_wib():
        raise invalid("run_date", "not_in_future", f"run_date {day} is in the future")
    gathered = gather_inputs(session, run_date=day, options=options)
    if not gathered.needs:
        raise InvalidState("No SUBMITTED requests to allocate: nothing to run.")
    result = allocate(
        gathered.needs, supply=gathered.supply, policy=policy, run_date=day, events=gathered.events
    )
    outputs = _jsonable(result.as_dict())
    run = AllocationRun(
        status=RunStatus.PROPOSED.value,
        run_date=day,
        mode=policy.mode,
        fingerprint=result.fingerprint,
        supply=result.supply,
        allocated=result.allocated,
        inputs={key: outputs[key] for key in INPUT_KEYS},
        sources=_jsonable(gathered.sources),
        outputs=outputs,
        created_by_user_id=actor.user_id,
        created_by_username=actor.username,
    )
    session.add(run)
    session.flush()
    session.add_all(
        AllocationLine(
            run_id=run.id,
            region_code=r.region_code,
            requested=r.requested,
            stock_on_hand=r.stock_on_hand,
            consumption_rate=r.consumption_rate,
            priority_class=r.priority_class,
            floor=r.floor,
            upper_bound=r.upper_bound,
            allocated=r.allocated,
            days_of_cover_before=r.days_of_cover_before,
            days_of_cover_after=r.days_of_cover_after,
            fill_ratio=r.fill_ratio,
            explanation=r.explanation,
        )
        for r in result.regions
    )
    session.flush()
    record(
        session,
        actor=actor,
        action="allocation_run.create",
        entity_type="allocation_run",
        entity_id=str(run.id),
        before=None,
        after={
            "status": run.status,
            "run_date": day.isoformat(),
            "mode": run.mode,
            "fingerprint": run.fingerprint,
            "supply": run.supply,
            "allocated": run.allocated,
            "allocations": outputs["allocations"],
        },
    )
    return run


def stored_arguments(
    run: AllocationRun,
) -> tuple[tuple[RegionNeed, ...], int, AllocationPolicy, dt.date, tuple[CorePriorityEvent, ...]]:
    """The core's arguments, rebuilt from the stored ``inputs`` only: (needs, supply, policy,
    run_date, events)."""
    data = run.inputs
    needs = tuple(RegionNeed(**need) for need in data["needs"])
    events = tuple(
        CorePriorityEvent(
            region_prefix=e["region_prefix"],
            starts_on=dt.date.fromisoformat(e["starts_on"]),
            ends_on=dt.date.fromisoformat(e["ends_on"]),
            priority_class=e["priority_class"],
            reason=e["reason"],
        )
        for e in data["events"]
    )
    policy = AllocationPolicy(**data["policy"])
    return needs, int(data["supply"]), policy, dt.date.fromisoformat(data["run_date"]), events


def recompute(run: AllocationRun) -> AllocationResult:
    """Run the core again on the stored inputs (reproducibility check)."""
    needs, supply, policy, run_date, events = stored_arguments(run)
    return allocate(needs, supply=supply, policy=policy, run_date=run_date, events=events)


def outputs_equal(run: AllocationRun, again: AllocationResult) -> bool:
    """True if ``again`` (a recomputation) returned exactly the stored outputs."""
    return _jsonable(again.as_dict()) == run.outputs


def is_reproducible(run: AllocationRun) -> bool:
    """Recompute from the stored inputs: same fingerprint and same outputs."""
    again = recompute(run)
    return again.fingerprint == run.fingerprint and outputs_equal(run, again)


def get_run(session: Session, *, run_id: int, actor: Principal, for_update: bool = False) -> AllocationRun:
    if not actor.can(Permission.BLANKO_READ):
        raise PermissionDenied(f"Role {actor.role.value!r} lacks permission 'blanko:read'.")
    if actor.region_code is not None:
        raise PermissionDenied("Allocation runs are national: only central users may read them.")
    query = select(AllocationRun).where(AllocationRun.id == run_id)
    if for_update:
        query = query.with_for_update()
    run = session.scalars(query).one_or_none()
    if run is None:
        raise NotFound(f"No allocation run with id {run_id}.")
    return run


def list_runs(session: Session, *, actor: Principal, limit: int = 50) -> list[AllocationRun]:
    if actor.region_code is not None or not actor.can(Permission.BLANKO_READ):
        raise PermissionDenied("Allocation runs are national: only central users may read them.")
    return list(session.scalars(select(AllocationRun).order_by(AllocationRun.id.desc()).limit(limit)))


SortDirection = Literal["asc", "desc"]


def run_lines(
    session: Session, *, run: AllocationRun, sort: str = "region", direction: SortDirection = "asc"
) -> list[AllocationLine]:
    """The proposal per region, sorted in SQL by ``sort`` (a key of :data:`SORT_COLUMNS`), ties by
    region code."""
    column = SORT_COLUMNS.get(sort)
    if column is None:
        raise invalid("sort", "choice", f"sort must be one of {', '.join(SORT_COLUMNS)}, got {sort!r}")
    if direction not in ("asc", "desc"):
        raise invalid("direction", "choice", f"direction must be 'asc' or 'desc', got {direction!r}")
    order = column.desc() if direction == "desc" else column.asc()
    # NULL fill ratios (no request) sort last either way.
    nulls = column.is_(None).asc()
    return list(
        session.scalars(
            select(AllocationLine)
            .where(AllocationLine.run_id == run.id)
            .order_by(nulls, order, AllocationLine.region_code)
        )
    )


def _ensure_proposed(run: AllocationRun, verb: str) -> None:
    if run.status != RunStatus.PROPOSED.value:
        raise InvalidState(f"Allocation run #{run.id} is {run.status}: only a PROPOSED run can be {verb}.")


def _decide(run: AllocationRun, status: RunStatus, actor: Principal, note: str | None) -> dict[str, Any]:
    _ensure_proposed(run, "approved" if status == RunStatus.APPROVED else "discarded")
    before = {"status": run.status}
    run.status = status.value
    run.decided_by_username = actor.username
    run.decided_at = utcnow()
    run.decision_note = note
    return before


def approve_run(
    session: Session,
    *,
    run: AllocationRun,
    actor: Principal,
    note: str | None = None,
    approved_on: dt.date | None = None,
) -> list[BlankRequest]:
    """Turn the proposal into approvals (see the module docstring); returns the approved requests.

    ``approved_on`` is the business date of the approvals (default: today), for recording a
    decision taken on an earlier day."""
    ensure_central_logistics(actor, "approve allocation runs for")
    _ensure_proposed(run, "approved")
    allocations: dict[str, int] = run.outputs["allocations"]
    request_ids: dict[str, list[int]] = run.sources["request_ids"]
    wanted = [i for code, ids in request_ids.items() if allocations.get(code, 0) > 0 for i in ids]
    requests = {
        r.id: r
        for r in session.scalars(select(BlankRequest).where(BlankRequest.id.in_(wanted)).with_for_update())
    }
    stale = sorted(
        (r for r in requests.values() if r.status != RequestStatus.SUBMITTED.value), key=lambda r: r.id
    )
    if stale or len(requests) != len(wanted):
        names = ", ".join(f"{r.number} ({r.status})" for r in stale) or "a request no longer exists"
        raise Conflict(
            f"Allocation run #{run.id} is out of date: {names} no longer SUBMITTED. Discard it and run again."
        )
    available = centre_balance(session) - committed_quantity(session)
    if available < run.allocated:
        raise Conflict(
            f"Allocation run #{run.id} allocated {run.allocated} blanks but the centre now has only "
            f"{max(available, 0)} uncommitted. Discard it and run again."
        )
    before = _decide(run, RunStatus.APPROVED, actor, note)
    approved: list[BlankRequest] = []
    reason = f"allocation run #{run.id}"
    for code, ids in sorted(request_ids.items()):
        left = allocations.get(code, 0)
        for request_id in ids:
            if left <= 0:
                break
            request = requests[request_id]
            give = min(left, request.requested_quantity)
            approve(
                session,
                request=request,
                approved_quantity=give,
                reason=reason,
                actor=actor,
                approved_on=approved_on or today_wib(),
                allocation_run_id=run.id,
            )
            approved.append(request)
            left -= give
    session.flush()
    record(
        session,
        actor=actor,
        action="allocation_run.approve",
        entity_type="allocation_run",
        entity_id=str(run.id),
        before=before,
        after={"status": run.status, "approved_requests": [r.number for r in approved], "note": note},
    )
    return approved


def discard_run(
    session: Session, *, run: AllocationRun, actor: Principal, note: str | None = None
) -> AllocationRun:
    ensure_central_logistics(actor, "discard allocation runs for")
    before = _decide(run, RunStatus.DISCARDED, actor, note)
    session.flush()
    record(
        session,
        actor=actor,
        action="allocation_run.discard",
        entity_type="allocation_run",
        entity_id=str(run.id),
        before=before,
        after={"status": run.status, "note": note},
    )
    return run


def lines_by_region(lines: Sequence[AllocationLine]) -> dict[str, AllocationLine]:
    return {line.region_code: line for line in lines}
