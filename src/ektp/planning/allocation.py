"""Allocation of scarce central blank stock to regions: a pure function from the open requests,
the central stock and a policy to a proposal per region.

Two modes share the same preparation (effective priority classes, bounds, floors):

``water_filling`` (default)
    Equalise *days of cover* ((stock on hand + allocation) ÷ daily consumption) class by class.

``milp``
    Three successive mixed-integer programmes (``scipy.optimize.milp``, HiGHS) for constraints
    that interact — a limit on the number of shipments above all.

The rules, in the order they are applied (all quantities are blanks unless said otherwise):

1. **Effective class.** A region's ``priority_class`` (0 = top) is raised to the class of every
   :class:`PriorityEvent` active on the run date (``starts_on ≤ run_date ≤ ends_on``, both
   inclusive) whose ``region_prefix`` the region code starts with (plain string prefix:
   ``"31"`` matches ``"31.71"``); the best (lowest) class wins. Events never lower a class.
2. **Consumption rate.** ``c = max(avg_daily_consumption, policy.min_daily_consumption)`` so a
   region that reports no consumption gets a finite days-of-cover figure and neither all the
   stock nor an undefined share.
3. **Upper bound.** Only regions with ``requested > 0`` receive anything. A region may receive at
   most ``min(requested, cap)`` rounded *down* to whole boxes — never more than it asked for or
   its cap. With ``days_of_cover_target`` the bound is further limited to the boxes that bring it
   to the target (rounded *up* to a whole box), but never below its floor.
4. **Floor.** Every requesting region has a floor: ``min_floor`` when given (it replaces the
   policy floor), else ``max(floor_boxes boxes, floor_days_of_cover·c − stock)``; rounded *up* to
   whole boxes and limited to the upper bound of rule 3 (a floor never exceeds a request).
5. **Allocatable supply.** ``supply − central_reserve`` (never negative), rounded *down* to whole
   boxes. The sub-box remainder stays at the centre and is reported in ``unallocated``.
6. **Floors first.** If the allocatable supply covers every floor, every floor is given. If not,
   floors are served class by class (class 0's floors in full, then class 1's, …); in the class
   where supply runs out each floor gets the same share (proportional to the floor) and later
   classes get nothing.
7. **Water-filling, class by class** (mode ``water_filling``). With the remaining supply, class 0
   is filled first: if it can take all its regions to their upper bounds, it does and the rest
   goes to class 1, and so on; in the first class that cannot be filled, the level *L* (days of
   cover) is found such that ``Σ clamp(L·c_i − stock_i, floor_i, upper_i) = floors + remaining``
   (sorted breakpoints, O(n log n)). Classes after it get their floors only. So a class gets
   nothing beyond its floors until every higher class is fully served (floors come first).
8. **Whole boxes by largest remainder.** The continuous allocation (in boxes) is rounded down;
   the boxes left over — exactly enough that the total equals the allocatable supply, or the sum
   of the upper bounds when supply exceeds them — go one each to the regions with the largest
   fractional remainder; ties (remainders equal to 9 decimals) go to the lower region code. No
   region is rounded above its upper bound or below its floor (floors and bounds are whole boxes).
9. **MILP mode** (instead of 7 and 8), with the floors of rule 6 as lower bounds and the same
   upper bounds, integer boxes, the allocatable supply, ``max_shipments`` and (with
   ``strict_priority``) the class order of rule 7 as constraints, lexicographically:
   (1) maximise the worst fill ratio (allocated ÷ requested) among the top class's regions that
   are still below their upper bound; (2) maximise the total allocated (need served, as every
   allocated blank is within a request); (3) minimise the number of shipments (regions receiving
   at least one box). Each optimum is fixed as a constraint for the next stage, exactly: the
   stage-1 ratio *t* as lower bounds ``b_i ≥ min(upper_i, ⌈t·requested_i / box⌉)`` on the top
   class, the stage-2 total as ``Σ b ≥ total`` (whole boxes, so no tolerance is needed).
   Stage 1 is solved as a bisection over the candidate ratios (k boxes ÷ request) with one
   feasibility MILP per step — exact, and fast where the direct max-min MILP over integer boxes
   ran into its 10 s time limit at 514 regions without closing the gap. Stages 2 and 3 are
   single MILPs solved by HiGHS to ``milp_gap``.

The result echoes inputs and policy and carries a ``fingerprint`` — the SHA-256 of the canonical
JSON of inputs and policy (needs sorted by region code, events sorted) — so that equal inputs are
recognisable across runs. Equal inputs, in any order, give equal results.

``box_size`` = 100 blanks per box is an *(approx.)* packing figure, configurable per policy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt

from ektp.kit.errors import InvalidState, invalid

from ._checks import day, real, text, whole

AllocationMode = Literal["water_filling", "milp"]
ClassStatus = Literal["fully_served", "partly_served", "floors_only", "floors_partial", "nothing"]
BoundReason = Literal["no_request", "request", "cap", "target"]

#: Bumped when a rule above changes, so fingerprints of different algorithms never collide.
ALGORITHM_VERSION = "ektp.planning.allocation/1"

_FloatArray = npt.NDArray[np.float64]
_IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class RegionNeed:
    """One region's position on the run date: its open request and its stock."""

    region_code: str
    requested: int
    stock_on_hand: int
    avg_daily_consumption: float
    priority_class: int = 0
    cap: int | None = None
    min_floor: int | None = None

    def __post_init__(self) -> None:
        code = text(self.region_code, "region_code")
        whole(self.requested, f"needs[{code}].requested")
        whole(self.stock_on_hand, f"needs[{code}].stock_on_hand")
        rate = real(self.avg_daily_consumption, f"needs[{code}].avg_daily_consumption")
        object.__setattr__(self, "avg_daily_consumption", rate)
        whole(self.priority_class, f"needs[{code}].priority_class")
        if self.cap is not None:
            whole(self.cap, f"needs[{code}].cap")
        if self.min_floor is not None:
            whole(self.min_floor, f"needs[{code}].min_floor")


@dataclass(frozen=True)
class PriorityEvent:
    """A dated reason to raise every region under a code prefix to a class (e.g. an election
    run-off in one province)."""

    region_prefix: str
    starts_on: dt.date
    ends_on: dt.date
    priority_class: int
    reason: str

    def __post_init__(self) -> None:
        text(self.region_prefix, "events.region_prefix")
        day(self.starts_on, "events.starts_on")
        day(self.ends_on, "events.ends_on")
        if self.ends_on < self.starts_on:
            raise invalid(
                "events.ends_on",
                "not_before_start",
                f"event {self.reason!r} ends on {self.ends_on} before it starts on {self.starts_on}",
            )
        whole(self.priority_class, "events.priority_class")
        text(self.reason, "events.reason")

    def applies(self, region_code: str, on: dt.date) -> bool:
        """Active on ``on`` (inclusive) and covering ``region_code``."""
        return self.starts_on <= on <= self.ends_on and region_code.startswith(self.region_prefix)


@dataclass(frozen=True)
class AllocationPolicy:
    """How supply is shared. See the module docstring for the exact rules."""

    mode: AllocationMode = "water_filling"
    #: Blanks per box; releases are whole boxes *(approx. packing figure, configurable)*.
    box_size: int = 100
    #: Blanks kept back at the centre, never allocated.
    central_reserve: int = 0
    #: Boxes every requesting region gets first (when supply allows).
    floor_boxes: int = 1
    #: Days of cover every requesting region is raised to first (when supply allows); 0 = none.
    floor_days_of_cover: float = 0.0
    #: No region is filled beyond this many days of cover (rounded up to a box); None = no limit.
    days_of_cover_target: float | None = None
    #: At most this many regions receive blanks (MILP mode only); None = no limit.
    max_shipments: int | None = None
    #: Consumption below this (blanks/day) counts as this, so days of cover stay finite.
    min_daily_consumption: float = 1.0
    #: MILP: a class gets nothing beyond its floors until every higher class is at its upper bound.
    strict_priority: bool = True
    #: MILP: relative optimality gap passed to HiGHS for every stage.
    milp_gap: float = 1e-7
    #: MILP: time limit per stage, seconds.
    milp_time_limit_s: float = 10.0

    def __post_init__(self) -> None:
        if self.mode not in ("water_filling", "milp"):
            raise invalid(
                "policy.mode", "choice", f"policy.mode must be 'water_filling' or 'milp', got {self.mode!r}"
            )
        whole(self.box_size, "policy.box_size", minimum=1)
        whole(self.central_reserve, "policy.central_reserve")
        whole(self.floor_boxes, "policy.floor_boxes")
        object.__setattr__(
            self, "floor_days_of_cover", real(self.floor_days_of_cover, "policy.floor_days_of_cover")
        )
        if self.days_of_cover_target is not None:
            target = real(self.days_of_cover_target, "policy.days_of_cover_target", above=True)
            object.__setattr__(self, "days_of_cover_target", target)
        if self.max_shipments is not None:
            whole(self.max_shipments, "policy.max_shipments")
            if self.mode != "milp":
                raise invalid(
                    "policy.max_shipments",
                    "requires_milp",
                    "policy.max_shipments can only be honoured in mode 'milp'",
                )
        object.__setattr__(
            self,
            "min_daily_consumption",
            real(self.min_daily_consumption, "policy.min_daily_consumption", above=True),
        )
        if not isinstance(self.strict_priority, bool):
            raise invalid("policy.strict_priority", "boolean", "policy.strict_priority must be true or false")
        object.__setattr__(self, "milp_gap", real(self.milp_gap, "policy.milp_gap"))
        object.__setattr__(
            self,
            "milp_time_limit_s",
            real(self.milp_time_limit_s, "policy.milp_time_limit_s", above=True),
        )


@dataclass(frozen=True)
class RegionAllocation:
    """The proposal for one region, with the figures that justify it."""

    region_code: str
    requested: int
    stock_on_hand: int
    #: Daily consumption used (after ``min_daily_consumption``).
    consumption_rate: float
    base_class: int
    #: Effective class after priority events.
    priority_class: int
    #: Reasons of the events that raised the class (empty when none did).
    raised_by: tuple[str, ...]
    #: The region's floor in blanks (rule 4), before supply is considered.
    floor: int
    #: The most it may receive, in blanks (rule 3).
    upper_bound: int
    bound_reason: BoundReason
    allocated: int
    days_of_cover_before: float
    days_of_cover_after: float
    #: allocated ÷ requested (None when nothing was requested).
    fill_ratio: float | None
    explanation: str


@dataclass(frozen=True)
class ClassOutcome:
    """What one effective priority class received."""

    priority_class: int
    #: Requesting regions in the class.
    regions: int
    requested: int
    floors: int
    allocated: int
    status: ClassStatus
    #: Water-filling level (days of cover) of the class that was partly served, else None.
    level_days: float | None


@dataclass(frozen=True)
class SolverStage:
    """One MILP stage as HiGHS reported it."""

    name: str
    status: int
    message: str
    objective: float


@dataclass(frozen=True)
class AllocationResult:
    """A proposal: per-region allocations (whole boxes), justification, and the inputs echoed."""

    #: Region code → blanks (multiples of ``policy.box_size``), every region given, sorted by code.
    allocations: dict[str, int]
    regions: tuple[RegionAllocation, ...]
    classes: tuple[ClassOutcome, ...]
    supply: int
    #: ``supply − central_reserve`` (never negative).
    available: int
    #: ``available`` rounded down to whole boxes.
    allocatable: int
    allocated: int
    #: ``available − allocated``: blanks left at the centre on top of the reserve.
    unallocated: int
    #: Worst allocated ÷ requested among the top class's requesting regions still below their upper
    #: bound (1.0 when all of them reached it; None when the top class cannot receive anything).
    top_class_worst_fill_ratio: float | None
    policy: AllocationPolicy
    needs: tuple[RegionNeed, ...]
    events: tuple[PriorityEvent, ...]
    run_date: dt.date
    fingerprint: str
    #: MILP stages (empty for water-filling).
    solver: tuple[SolverStage, ...] = field(default=())

    @property
    def days_of_cover_before(self) -> dict[str, float]:
        return {r.region_code: r.days_of_cover_before for r in self.regions}

    @property
    def days_of_cover_after(self) -> dict[str, float]:
        return {r.region_code: r.days_of_cover_after for r in self.regions}

    @property
    def class_levels(self) -> dict[int, float]:
        """Water-filling level (days of cover) per partly served class."""
        return {c.priority_class: c.level_days for c in self.classes if c.level_days is not None}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (for storing a run): inputs, policy, outputs, fingerprint."""
        data = _canonical_inputs(self.needs, self.events, self.supply, self.policy, self.run_date)
        data.update(
            fingerprint=self.fingerprint,
            allocations=dict(self.allocations),
            available=self.available,
            allocatable=self.allocatable,
            allocated=self.allocated,
            unallocated=self.unallocated,
            top_class_worst_fill_ratio=self.top_class_worst_fill_ratio,
            regions=[_jsonable(asdict(r)) for r in self.regions],
            classes=[asdict(c) for c in self.classes],
            solver=[asdict(s) for s in self.solver],
        )
        return data


# --------------------------------------------------------------------------------------------------
# canonical form and fingerprint


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in record.items()}


def _canonical_inputs(
    needs: Sequence[RegionNeed],
    events: Sequence[PriorityEvent],
    supply: int,
    policy: AllocationPolicy,
    run_date: dt.date,
) -> dict[str, Any]:
    return {
        "algorithm": ALGORITHM_VERSION,
        "run_date": run_date.isoformat(),
        "supply": supply,
        "policy": asdict(policy),
        "needs": [
            {name: getattr(n, name) for name in _NEED_FIELDS}
            for n in sorted(needs, key=lambda n: n.region_code)
        ],
        "events": [
            {**asdict(e), "starts_on": e.starts_on.isoformat(), "ends_on": e.ends_on.isoformat()}
            for e in sorted(events, key=_event_key)
        ],
    }


_NEED_FIELDS = tuple(f.name for f in fields(RegionNeed))


def _event_key(e: PriorityEvent) -> tuple[str, dt.date, dt.date, int, str]:
    return (e.region_prefix, e.starts_on, e.ends_on, e.priority_class, e.reason)


def allocation_fingerprint(
    needs: Sequence[RegionNeed],
    *,
    supply: int,
    policy: AllocationPolicy,
    run_date: dt.date,
    events: Sequence[PriorityEvent] = (),
) -> str:
    """SHA-256 (hex) of the canonical JSON of inputs and policy; independent of input order."""
    payload = _canonical_inputs(needs, events, supply, policy, run_date)
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(blob.encode("ascii")).hexdigest()


# --------------------------------------------------------------------------------------------------
# preparation shared by both modes


@dataclass(frozen=True)
class _Prepared:
    needs: tuple[RegionNeed, ...]
    codes: tuple[str, ...]
    requested: _IntArray
    stock: _FloatArray
    rate: _FloatArray
    base_class: _IntArray
    klass: _IntArray
    raised_by: tuple[tuple[str, ...], ...]
    #: Boxes.
    floor: _IntArray
    upper: _IntArray
    bound_reason: tuple[BoundReason, ...]


def _prepare(
    needs: Sequence[RegionNeed], events: Sequence[PriorityEvent], policy: AllocationPolicy, run_date: dt.date
) -> _Prepared:
    ordered = tuple(sorted(needs, key=lambda n: n.region_code))
    for previous, current in itertools.pairwise(ordered):
        if previous.region_code == current.region_code:
            raise invalid(
                "needs.region_code",
                "unique",
                f"region {current.region_code} appears more than once in the needs",
            )
    box = policy.box_size
    n = len(ordered)
    requested = np.array([r.requested for r in ordered], dtype=np.int64)
    stock = np.array([r.stock_on_hand for r in ordered], dtype=np.float64)
    rate = np.maximum(
        np.array([r.avg_daily_consumption for r in ordered], dtype=np.float64), policy.min_daily_consumption
    )
    base_class = np.array([r.priority_class for r in ordered], dtype=np.int64)
    klass = base_class.copy()
    raised: list[tuple[str, ...]] = []
    active = [e for e in sorted(events, key=_event_key) if e.starts_on <= run_date <= e.ends_on]
    for i, need in enumerate(ordered):
        reasons: list[str] = []
        for event in active:
            if (
                need.region_code.startswith(event.region_prefix)
                and event.priority_class < need.priority_class
            ):
                reasons.append(event.reason)
                klass[i] = min(int(klass[i]), event.priority_class)
        raised.append(tuple(reasons))

    floor = np.zeros(n, dtype=np.int64)
    upper = np.zeros(n, dtype=np.int64)
    reasons_bound: list[BoundReason] = []
    target = policy.days_of_cover_target
    for i, need in enumerate(ordered):
        if need.requested == 0:
            reasons_bound.append("no_request")
            continue
        limit = need.requested // box
        reason: BoundReason = "request"
        if need.cap is not None and need.cap // box < limit:
            limit = need.cap // box
            reason = "cap"
        if need.min_floor is not None:
            floor_i = math.ceil(need.min_floor / box)
        else:
            short = policy.floor_days_of_cover * rate[i] - stock[i]
            floor_i = max(policy.floor_boxes, math.ceil(max(0.0, short) / box))
        floor_i = min(floor_i, limit)
        if target is not None:
            to_target = math.ceil(max(0.0, target * rate[i] - stock[i]) / box)
            if max(floor_i, to_target) < limit:
                limit = max(floor_i, to_target)
                reason = "target"
        floor[i] = floor_i
        upper[i] = limit
        reasons_bound.append(reason)
    return _Prepared(
        needs=ordered,
        codes=tuple(r.region_code for r in ordered),
        requested=requested,
        stock=stock,
        rate=rate,
        base_class=base_class,
        klass=klass,
        raised_by=tuple(raised),
        floor=floor,
        upper=upper,
        bound_reason=tuple(reasons_bound),
    )


def _floor_phase(prep: _Prepared, allocatable_boxes: int) -> tuple[_FloatArray, int]:
    """Rule 6: floors (in boxes, possibly fractional in the class where supply runs out) and the
    boxes that remain after them."""
    floors = prep.floor.astype(np.float64)
    total = int(prep.floor.sum())
    if total <= allocatable_boxes:
        return floors, allocatable_boxes - total
    given = np.zeros_like(floors)
    remaining = allocatable_boxes
    for k in np.unique(prep.klass):
        members = prep.klass == k
        need = int(prep.floor[members].sum())
        if need == 0:
            continue
        if need <= remaining:
            given[members] = floors[members]
            remaining -= need
        else:
            given[members] = floors[members] * (remaining / need)
            remaining = 0
            break
    return given, 0


def _water_level(
    rate: _FloatArray, stock: _FloatArray, lo: _FloatArray, hi: _FloatArray, total: float
) -> float:
    """The level L (days of cover) with Σ clamp(L·rate − stock, lo, hi) = total, by a sweep over
    the sorted breakpoints. Requires Σ lo < total < Σ hi."""
    rising = hi > lo
    base = float(lo.sum())
    start = (lo[rising] + stock[rising]) / rate[rising]
    stop = (hi[rising] + stock[rising]) / rate[rising]
    points = np.concatenate([start, stop])
    deltas = np.concatenate([rate[rising], -rate[rising]])
    order = np.argsort(points, kind="stable")
    points, deltas = points[order], deltas[order]
    slope = np.cumsum(deltas)
    sums = np.empty(points.size, dtype=np.float64)
    sums[0] = base
    sums[1:] = base + np.cumsum(slope[:-1] * np.diff(points))
    k = int(np.searchsorted(sums, total, side="left"))
    if k == 0:
        return float(points[0])
    k = min(k, points.size - 1)
    if slope[k - 1] <= 0.0:  # only reachable through rounding noise at a flat stretch
        return float(points[k - 1])
    return float(points[k - 1] + (total - sums[k - 1]) / slope[k - 1])


def _largest_remainder(values: _FloatArray, upper: _IntArray, total: int) -> _IntArray:
    """Rule 8: round ``values`` (boxes, sorted by region code) to integers summing to ``total``:
    round down, then one extra box each by remainder (desc), ties to the lower index (code)."""
    nearest = np.round(values)
    snapped = np.where(np.abs(values - nearest) < 1e-9, nearest, values)
    result = np.floor(snapped).astype(np.int64)
    extra = total - int(result.sum())
    if extra < 0:
        raise InvalidState(f"allocation rounding overshot the total by {-extra} boxes")
    if extra == 0:
        return result
    remainder = np.round(snapped - result, 9)
    order = np.lexsort((np.arange(values.size), -remainder))
    ceiling = np.minimum(upper, np.ceil(snapped).astype(np.int64))
    for limit in (ceiling, upper):  # the second pass only absorbs floating-point noise
        for i in order:
            if extra == 0:
                return result
            if result[i] < limit[i]:
                result[i] += 1
                extra -= 1
    if extra:
        raise InvalidState(f"allocation rounding could not place {extra} boxes within the bounds")
    return result


def _water_fill(
    prep: _Prepared, start: _FloatArray, remaining: int, box: int
) -> tuple[_FloatArray, dict[int, float]]:
    """Rule 7 on top of the floor phase; returns continuous boxes and the level of the partly
    served class."""
    values = start.copy()
    levels: dict[int, float] = {}
    for k in np.unique(prep.klass[prep.requested > 0]):
        if remaining == 0:
            break
        members = (prep.klass == k) & (prep.requested > 0)
        room = int((prep.upper[members] - prep.floor[members]).sum())
        if room <= remaining:
            values[members] = prep.upper[members]
            remaining -= room
            continue
        lo = prep.floor[members].astype(np.float64) * box
        hi = prep.upper[members].astype(np.float64) * box
        rate, stock = prep.rate[members], prep.stock[members]
        level = _water_level(rate, stock, lo, hi, float(lo.sum()) + remaining * box)
        values[members] = np.clip(level * rate - stock, lo, hi) / box
        levels[int(k)] = level
        remaining = 0
    return values, levels


# --------------------------------------------------------------------------------------------------
# MILP mode


def _solve_milp(
    prep: _Prepared, lower: _IntArray, allocatable_boxes: int, policy: AllocationPolicy
) -> tuple[_IntArray, tuple[SolverStage, ...]]:
    """Rule 9. Variables: boxes b_i (integer), shipped z_i (binary), and with strict priority one
    binary per class but the last, "class saturated"."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_array

    n = len(prep.codes)
    upper = prep.upper
    box = policy.box_size
    requesting = (prep.requested > 0) & (upper > 0)
    top = np.zeros(n, dtype=bool)
    if requesting.any():
        top = requesting & (prep.klass == prep.klass[requesting].min())
    raisable = requesting & (upper > lower)
    classes = [int(k) for k in np.unique(prep.klass[raisable])]
    n_sat = max(0, len(classes) - 1) if policy.strict_priority else 0
    b0, z0, s0 = 0, n, 2 * n
    n_vars = 2 * n + n_sat

    rows: list[int] = []
    cols: list[int] = []
    coef: list[float] = []
    row_lo: list[float] = []
    row_hi: list[float] = []

    def add_row(entries: list[tuple[int, float]], lo: float, hi: float) -> None:
        r = len(row_lo)
        for col, value in entries:
            rows.append(r)
            cols.append(col)
            coef.append(value)
        row_lo.append(lo)
        row_hi.append(hi)

    add_row([(b0 + i, 1.0) for i in range(n)], -np.inf, float(allocatable_boxes))
    for i in np.flatnonzero(upper > 0).tolist():
        add_row([(b0 + i, 1.0), (z0 + i, -float(upper[i]))], -np.inf, 0.0)  # b ≤ upper·z
        add_row([(b0 + i, 1.0), (z0 + i, -1.0)], 0.0, np.inf)  # shipped ⇒ at least one box
    if policy.max_shipments is not None:
        add_row([(z0 + i, 1.0) for i in range(n)], -np.inf, float(policy.max_shipments))
    for j in range(n_sat):
        # Class j saturated (s_j = 1) ⇔ its regions at their upper bounds; later classes may rise
        # above their floors only when s_j = 1.
        for i in np.flatnonzero(raisable & (prep.klass == classes[j])).tolist():
            add_row([(b0 + i, 1.0), (s0 + j, -float(upper[i]))], 0.0, np.inf)
        later = np.flatnonzero(raisable & (prep.klass > classes[j])).tolist()
        headroom = float((upper[later] - lower[later]).sum())
        add_row([(b0 + i, 1.0) for i in later] + [(s0 + j, -headroom)], -np.inf, float(lower[later].sum()))
    matrix = coo_array((coef, (rows, cols)), shape=(len(row_lo), n_vars)).tocsr()
    base_rows = LinearConstraint(matrix, np.array(row_lo), np.array(row_hi))
    integrality = np.ones(n_vars, dtype=np.int64)
    options = {"mip_rel_gap": policy.milp_gap, "time_limit": policy.milp_time_limit_s, "presolve": True}
    lb_z = (lower > 0).astype(np.float64)
    ub_z = (upper > 0).astype(np.float64)

    def solve(
        name: str, objective: _FloatArray, min_boxes: _IntArray, extra: LinearConstraint | None = None
    ) -> tuple[_FloatArray | None, int, str, float]:
        lb = np.concatenate([min_boxes.astype(np.float64), lb_z, np.zeros(n_sat)])
        ub = np.concatenate([upper.astype(np.float64), ub_z, np.ones(n_sat)])
        constraints = [base_rows] if extra is None else [base_rows, extra]
        res = milp(
            objective,
            integrality=integrality,
            bounds=Bounds(lb, ub),
            constraints=constraints,
            options=options,
        )
        status, message = int(res.status), str(res.message)
        if res.x is None:
            if name == "feasibility" and status == 2:
                return None, status, message, math.nan
            raise InvalidState(f"MILP stage '{name}' found no solution (HiGHS status {status}: {message})")
        return np.asarray(res.x, dtype=np.float64), status, message, float(res.fun)

    stages: list[SolverStage] = []
    nothing = np.zeros(n_vars)

    # Stage 1: the worst top-class fill ratio t is the largest candidate ratio (k boxes ÷ request of
    # some top-class region) for which "every top-class region has ratio ≥ t or is at its upper
    # bound" is feasible, i.e. b_i ≥ min(upper_i, ceil(t·requested_i / box)). Feasibility is monotone
    # in t, so bisection over the sorted candidates finds it with a few feasibility MILPs. (The
    # direct max-min MILP over integer boxes needs the solver to close a gap of ~n/boxes by
    # branching and does not finish in seconds at 514 regions; this is exact and fast.)
    requested = prep.requested.astype(np.float64)

    def min_boxes_for(t: float) -> _IntArray:
        need = np.ceil(t * requested / box - 1e-9).astype(np.int64)
        wanted = np.clip(need, lower, upper)
        return cast(_IntArray, np.where(top, wanted, lower))

    candidates: list[float] = [1.0]
    for i in np.flatnonzero(top).tolist():
        k = np.arange(int(lower[i]), int(upper[i]) + 1, dtype=np.float64)
        candidates.extend((k * box / requested[i]).tolist())
    ratios = np.unique(np.array(candidates))
    feasible_x, _, _, _ = solve("feasibility", nothing, min_boxes_for(0.0))
    if feasible_x is None:
        raise InvalidState("MILP: the floors alone are infeasible under the policy's constraints")
    good, bad, checks = 0, ratios.size, 1  # ratios[good] is feasible (0 or the lowest), bad is not
    if top.any():
        good = int(np.searchsorted(ratios, 0.0, side="right")) - 1 if ratios[0] <= 0.0 else -1
        while bad - good > 1:
            mid = (good + bad) // 2
            x, _, _, _ = solve("feasibility", nothing, min_boxes_for(float(ratios[mid])))
            checks += 1
            if x is None:
                bad = mid
            else:
                good = mid
    worst = float(ratios[good]) if good >= 0 else 0.0
    floor_boxes = min_boxes_for(worst) if top.any() else lower
    stages.append(
        SolverStage(
            name="max_worst_top_class_fill_ratio",
            status=0,
            message=f"bisection over {ratios.size} candidate ratios, {checks} feasibility MILPs",
            objective=worst,
        )
    )

    # Stage 2: need served (total boxes), the stage-1 optimum fixed through the lower bounds.
    objective = np.zeros(n_vars)
    objective[b0 : b0 + n] = -1.0
    x2, status, message, value = solve("max_need_served", objective, floor_boxes)
    assert x2 is not None
    stages.append(SolverStage("max_need_served", status, message, -value))
    served = round(float(x2[b0 : b0 + n].sum()))

    # Stage 3: fewest shipments with the total fixed (whole boxes, so exactly).
    total_row = np.zeros((1, n_vars))
    total_row[0, b0 : b0 + n] = 1.0
    objective = np.zeros(n_vars)
    objective[z0 : z0 + n] = 1.0
    x3, status, message, value = solve(
        "min_shipments", objective, floor_boxes, LinearConstraint(total_row, float(served), np.inf)
    )
    assert x3 is not None
    stages.append(SolverStage("min_shipments", status, message, value))
    boxes = np.round(x3[b0 : b0 + n]).astype(np.int64)
    if (boxes < lower).any() or (boxes > upper).any() or int(boxes.sum()) > allocatable_boxes:
        raise InvalidState("MILP solution violates its bounds after rounding to whole boxes")
    return boxes, tuple(stages)


# --------------------------------------------------------------------------------------------------
# the entry point


def allocate(
    needs: Sequence[RegionNeed],
    *,
    supply: int,
    policy: AllocationPolicy,
    run_date: dt.date,
    events: Sequence[PriorityEvent] = (),
) -> AllocationResult:
    """Propose a release per region from ``supply`` blanks at the centre (see module docstring).

    Raises ``ValidationFailed`` for bad input (naming the field and rule) and ``InvalidState`` if
    the MILP solver finds no solution."""
    whole(supply, "supply")
    day(run_date, "run_date")
    for i, need in enumerate(needs):
        if not isinstance(need, RegionNeed):
            raise invalid(
                f"needs[{i}]", "type", f"needs[{i}] must be a RegionNeed, got {type(need).__name__}"
            )
    for i, event in enumerate(events):
        if not isinstance(event, PriorityEvent):
            raise invalid(
                f"events[{i}]", "type", f"events[{i}] must be a PriorityEvent, got {type(event).__name__}"
            )
    if not isinstance(policy, AllocationPolicy):
        raise invalid("policy", "type", f"policy must be an AllocationPolicy, got {type(policy).__name__}")

    prep = _prepare(needs, events, policy, run_date)
    box = policy.box_size
    available = max(0, supply - policy.central_reserve)
    allocatable_boxes = available // box
    start, remaining = _floor_phase(prep, allocatable_boxes)
    levels: dict[int, float] = {}
    stages: tuple[SolverStage, ...] = ()
    if policy.mode == "milp":
        lower = _largest_remainder(start, prep.floor, allocatable_boxes - remaining)
        if policy.max_shipments is not None and int((lower > 0).sum()) > policy.max_shipments:
            raise invalid(
                "policy.max_shipments",
                "below_floors",
                f"policy.max_shipments ({policy.max_shipments}) is below the {int((lower > 0).sum())} "
                "regions whose floors must be shipped; lower policy.floor_boxes or raise max_shipments",
            )
        if remaining > 0 and bool((prep.upper > lower).any()):
            boxes, stages = _solve_milp(prep, lower, allocatable_boxes, policy)
        else:  # nothing left to decide beyond the floors
            boxes = lower
    else:
        values, levels = _water_fill(prep, start, remaining, box)
        total = min(allocatable_boxes, int(prep.upper.sum()))
        boxes = _largest_remainder(values, prep.upper, total)

    allocated = boxes * box
    worst = _worst_fill_ratio(prep, boxes, box)
    regions = tuple(
        _describe(prep, i, int(allocated[i]), box, levels, policy.mode) for i in range(len(prep.codes))
    )
    classes = _class_outcomes(prep, boxes, box, levels)
    allocated_total = int(allocated.sum())
    ordered_events = tuple(sorted(events, key=_event_key))
    return AllocationResult(
        allocations={code: int(a) for code, a in zip(prep.codes, allocated, strict=True)},
        regions=regions,
        classes=classes,
        supply=supply,
        available=available,
        allocatable=allocatable_boxes * box,
        allocated=allocated_total,
        unallocated=available - allocated_total,
        top_class_worst_fill_ratio=worst,
        policy=policy,
        needs=prep.needs,
        events=ordered_events,
        run_date=run_date,
        fingerprint=allocation_fingerprint(
            prep.needs, supply=supply, policy=policy, run_date=run_date, events=ordered_events
        ),
        solver=stages,
    )


def _worst_fill_ratio(prep: _Prepared, boxes: _IntArray, box: int) -> float | None:
    """Worst allocated ÷ requested among the top class's requesting regions below their upper
    bound; 1.0 when every one of them reached it; None when none can receive anything."""
    requesting = (prep.requested > 0) & (prep.upper > 0)
    if not requesting.any():
        return None
    top = requesting & (prep.klass == prep.klass[requesting].min())
    below = top & (boxes < prep.upper)
    if not below.any():
        return 1.0
    return float((boxes[below] * box / prep.requested[below].astype(np.float64)).min())


def _describe(
    prep: _Prepared, i: int, allocated: int, box: int, levels: dict[int, float], mode: str
) -> RegionAllocation:
    need = prep.needs[i]
    rate = float(prep.rate[i])
    before = need.stock_on_hand / rate
    after = (need.stock_on_hand + allocated) / rate
    klass = int(prep.klass[i])
    floor = int(prep.floor[i]) * box
    upper = int(prep.upper[i]) * box
    reason = prep.bound_reason[i]
    parts = [f"class {klass}"]
    if prep.raised_by[i]:
        parts[0] += f" (raised from {need.priority_class} by {'; '.join(prep.raised_by[i])})"
    if need.requested == 0:
        outcome = "no request"
    elif upper == 0:
        outcome = (
            f"cap {need.cap} is below one box of {box}"
            if reason == "cap"
            else f"request {need.requested} is below one box of {box}"
        )
    else:
        parts.append(f"floor {floor}")
        label = {"request": "its request", "cap": "its cap", "target": "the days-of-cover target"}[reason]
        if allocated == upper:
            outcome = f"received all it may ({upper}, limited by {label})"
        elif allocated < floor:
            outcome = f"floor only partly covered ({allocated} of {floor}): supply is below the floors"
        elif allocated == floor and mode == "water_filling":
            level = levels.get(klass)
            if level is not None:
                outcome = f"floor only: already above the class level of {level:.1f} days of cover"
            else:
                outcome = "floor only: supply taken by higher classes"
        elif mode == "water_filling":
            outcome = f"filled to {after:.1f} days of cover"
        else:
            outcome = f"fill ratio {allocated / need.requested:.0%}"
    parts.append(outcome)
    parts.append(f"{before:.1f} → {after:.1f} days of cover")
    return RegionAllocation(
        region_code=need.region_code,
        requested=need.requested,
        stock_on_hand=need.stock_on_hand,
        consumption_rate=rate,
        base_class=need.priority_class,
        priority_class=klass,
        raised_by=prep.raised_by[i],
        floor=floor,
        upper_bound=upper,
        bound_reason=reason,
        allocated=allocated,
        days_of_cover_before=before,
        days_of_cover_after=after,
        fill_ratio=(allocated / need.requested) if need.requested else None,
        explanation="; ".join(parts),
    )


def _class_outcomes(
    prep: _Prepared, boxes: _IntArray, box: int, levels: dict[int, float]
) -> tuple[ClassOutcome, ...]:
    outcomes = []
    requesting = prep.requested > 0
    for k in np.unique(prep.klass[requesting]):
        members = requesting & (prep.klass == k)
        got, floor, upper = boxes[members], prep.floor[members], prep.upper[members]
        status: ClassStatus
        if (got == upper).all():
            status = "fully_served"
        elif (got < floor).any():
            status = "floors_partial" if got.any() else "nothing"
        elif (got == floor).all():
            status = "floors_only"
        else:
            status = "partly_served"
        outcomes.append(
            ClassOutcome(
                priority_class=int(k),
                regions=int(members.sum()),
                requested=int(prep.requested[members].sum()),
                floors=int(floor.sum()) * box,
                allocated=int(got.sum()) * box,
                status=status,
                level_days=levels.get(int(k)) if status == "partly_served" else None,
            )
        )
    return tuple(outcomes)
