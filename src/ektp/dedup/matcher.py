"""Matching of one recording: capture → quality gate → ABIS 1:N → decision → demographic check.

One :class:`DedupMatcher` per process owns the persistent gallery (a writer lock on its
directory: a second process cannot open it for writing) and, in memory, the demographic linked
master. The gallery is not thread-safe, so every gallery call goes through ``self._lock``; the
workers of one process share the matcher (a background thread and a CLI loop alike).

Gallery upkeep (what makes the 1:N search see the right persons)
----------------------------------------------------------------
* A recording is inserted into the gallery when it is processed (ENROLL_FAILURE excepted), under
  its ``biometric_ref``, after it has been searched. Insertion is idempotent: a recording retried
  after a crash finds itself already there and is neither inserted twice nor matched with itself.
* Candidates that are REMOVED, ENROLL_FAILURE or the probe itself are ignored. A candidate
  recorded *after* the probe (processed earlier, out of order — several workers) is not ignored,
  since that would let both recordings of one person through: a biometric match with a later
  recording goes to ADJUDICATE (the first-recorded record is the one to keep, an examiner sorts
  the pair out), never to DUPLICATE.
* Recordings moved to REMOVED (a resolved duplicate case) are deleted from the gallery at the
  start of every batch (:meth:`DedupMatcher.sync_removals`, reading ``enrollment_status_changes``
  after the last change seen).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from ektp.abis.decision import Decision, Thresholds, choose_thresholds, decide
from ektp.abis.engine import PreparedProbe, QualityGate
from ektp.abis.formats.cbeff import read_cbeff
from ektp.abis.formats.errors import FormatError
from ektp.abis.formats.iso19794_2 import fmr_to_minutiae
from ektp.abis.fusion import Calibration, calibration_from_dict, load_calibration
from ektp.abis.gallery.persistent import (
    Hit,
    PersistentGallery,
    default_encoder,
    hamming_distances,
    merge_hits,
    score_templates,
)
from ektp.abis.gallery.store import encode_templates
from ektp.abis.types import BiometricSample
from ektp.config import Settings
from ektp.kit.errors import DomainError
from ektp.models.dedup import DedupOutcome
from ektp.models.enrollment import (
    BiometricCapture,
    CaptureFormat,
    Enrollment,
    EnrollmentStatus,
    EnrollmentStatusChange,
)
from ektp.models.population import Resident

log = logging.getLogger(__name__)
S = EnrollmentStatus

#: Candidates never considered as a match.
IGNORED = frozenset({S.REMOVED.value, S.ENROLL_FAILURE.value})
#: Recordings whose resident counts as holding an active record (demographic check).
ACTIVE = frozenset(
    {
        S.PRINT_READY_RECORD.value,
        S.SENT_FOR_PRINTING.value,
        S.CARD_PRINTED.value,
        S.CARD_ISSUED.value,
        S.ADJUDICATE_RECORD.value,
        S.DUPLICATE_RECORD.value,
    }
)
#: FPIR the DUPLICATE threshold is chosen for (the grey zone is 10× wider), at
#: :data:`OPERATIONAL_GALLERY` persons (wajib KTP), so thresholds do not move as the gallery grows.
TARGET_FPIR = 1e-3
OPERATIONAL_GALLERY = 190_000_000
#: Demographic match probability above which an unsupported match is sent to an examiner.
DEMOGRAPHIC_THRESHOLD = 0.99
TOP_K = 10
#: Floors under the thresholds (fused LLR). The FPIR-chosen thresholds assume every trait was
#: compared (13 LLR terms whose impostor sum is strongly negative, so they come out *negative*);
#: a pair sharing only a few traits — or none: fused score 0, no evidence at all — would then
#: pass. A match needs positive evidence: LLR ≥ 10 (odds ≈ 22,000 : 1) for DUPLICATE, ≥ 2 for
#: the grey zone. Found by ``bench_dedup_day.py``: partial captures matched each other at 0.0.
DUPLICATE_FLOOR = 10.0
ADJUDICATE_FLOOR = 2.0
#: Stage-1 shortlist K₁ per search. Stage 2 reads and decodes every candidate's templates (the
#: dominant cost: ~0.35 ms CPU per candidate), so K₁ = 50 rather than the gallery's 200 — a
#: penetration of 5·10⁻⁵ at 10⁶ persons (``bench_stage1.py``: pre-selection error ≈ 2 %, nearly
#: all of it iris-less "subset" captures).
CANDIDATES = 50


def default_calibration() -> Calibration:
    """The calibration shipped with the package (``ektp abis calibrate --n 1000 --seed 7``)."""
    import json

    text = resources.files("ektp.dedup").joinpath("default_calibration.json").read_text("utf-8")
    return calibration_from_dict(json.loads(text), source="ektp.dedup/default_calibration.json")


def gallery_dir(settings: Settings) -> Path:
    return (
        Path(settings.dedup_gallery_dir)
        if settings.dedup_gallery_dir
        else settings.data_dir / "dedup" / "gallery"
    )


class CaptureUnusable(Exception):
    """The capture cannot be searched: the recording is an enrollment failure (the rule says why)."""


@dataclass
class Verdict:
    """What the matcher found for one recording (the decision's content)."""

    outcome: DedupOutcome
    reason: str
    matched_enrollment_id: int | None = None
    best_score: float | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    thresholds: dict[str, Any] = field(default_factory=dict)
    demographic: dict[str, Any] = field(default_factory=dict)


def parse_capture(capture: BiometricCapture | None) -> BiometricSample:
    if capture is None:
        raise CaptureUnusable("no biometric capture was stored with the recording")
    try:
        if capture.format == CaptureFormat.CBEFF_XML.value:
            return read_cbeff(capture.payload)
        if capture.format == CaptureFormat.ISO_19794_2.value:
            return BiometricSample(fingers=fmr_to_minutiae(capture.payload))
    except FormatError as exc:
        raise CaptureUnusable(f"capture ({capture.format}) is not readable: {exc}") from exc
    raise CaptureUnusable(f"capture format {capture.format!r} is not supported")


def resident_record(resident: Resident) -> dict[str, Any]:
    """The linkage input columns of a resident."""
    return {
        "record_id": resident.id,
        "nik": resident.nik,
        "name": resident.full_name,
        "sex": resident.sex,
        "birth_date": resident.birth_date.isoformat(),
        "birth_place": resident.birth_place,
        "province_code": resident.province_code,
        "regency_code": resident.regency_code,
        "district_code": resident.district_code,
        "village_code": resident.village_code,
    }


class DedupMatcher:
    """The process's gallery owner; see the module docstring."""

    def __init__(
        self,
        gallery: PersistentGallery,
        *,
        calibration: Calibration,
        thresholds: Thresholds,
        gate: QualityGate | None = None,
        demographic: bool = True,
        candidates: int = CANDIDATES,
    ) -> None:
        self.gallery = gallery
        self.candidates = candidates
        self.calibration = calibration
        self.fpir_thresholds = thresholds
        self.thresholds = Thresholds(
            duplicate=max(thresholds.duplicate, DUPLICATE_FLOOR),
            adjudicate=max(thresholds.adjudicate, ADJUDICATE_FLOOR),
        )
        self.gate = gate or QualityGate()
        self._lock = threading.RLock()
        self._last_change_id = 0
        self._master: Any = None
        self._master_loaded = False
        self.demographic = demographic
        #: Searched but not yet in the gallery: (reference id, templates, stage-1 code).
        self._pending: list[tuple[str, PreparedProbe, npt.NDArray[np.uint8]]] = []

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        calibration: Calibration | str | Path | None = None,
        thresholds: Thresholds | None = None,
        demographic: bool = True,
        candidates: int = CANDIDATES,
    ) -> DedupMatcher:
        cal = (
            calibration
            if isinstance(calibration, Calibration)
            else load_calibration(calibration)
            if calibration is not None
            else default_calibration()
        )
        if thresholds is None:
            thresholds = choose_thresholds(
                cal, target_fpir=TARGET_FPIR, gallery_size=OPERATIONAL_GALLERY
            ).thresholds
        Path(path).mkdir(parents=True, exist_ok=True)
        gallery = PersistentGallery.open(path, encoder=default_encoder(), calibration=cal)
        return cls(
            gallery, calibration=cal, thresholds=thresholds, demographic=demographic, candidates=candidates
        )

    def close(self) -> None:
        with self._lock:
            self.gallery.close()
            if self._master is not None:
                self._master.close()

    # -- gallery upkeep -----------------------------------------------------------------------

    def flush(self) -> int:
        """Insert the pending recordings into the gallery (durable on return); returns how many."""
        with self._lock:
            if not self._pending:
                return 0
            # the templates and codes made for the search, not made again from the samples
            items = [(ref, encode_templates(templates), code) for ref, templates, code in self._pending]
            self.gallery.insert_encoded_many(items)
            self._pending.clear()
            return len(items)

    def discard_pending(self) -> None:
        with self._lock:
            self._pending.clear()

    def _search(self, probe: PreparedProbe, code: npt.NDArray[np.uint8]) -> list[Hit]:
        """The ``TOP_K`` hits of the gallery and of the pending recordings together, exactly as
        if the pending ones were already in the gallery: a pending recording reaches stage 2 only
        when its stage-1 distance would have put it among the K₁ shortlist."""
        shortlist = (
            self.gallery.scan(probe, code, candidates=self.candidates)[0] if self.gallery.count() else []
        )
        if self._pending:
            codes = np.stack([c for _, _, c in self._pending])
            distances = hamming_distances(codes, code).tolist()
            # a full shortlist admits only what is no farther than its farthest member
            cutoff = max(h.stage1_distance for h in shortlist) if len(shortlist) >= self.candidates else None
            near = [
                (ref, int(d), templates)
                for (ref, templates, _), d in zip(self._pending, distances, strict=True)
                if cutoff is None or d <= cutoff
            ]
            shortlist = [*shortlist, *score_templates(probe, near, self.calibration)]
        if not shortlist:
            return []
        return merge_hits([shortlist], candidates=self.candidates, top_k=TOP_K)

    def sync_removals(self, session: Session) -> int:
        """Delete from the gallery the recordings moved to REMOVED since the last call."""
        rows = session.execute(
            select(EnrollmentStatusChange.id, Enrollment.biometric_ref)
            .join(Enrollment, Enrollment.id == EnrollmentStatusChange.enrollment_id)
            .where(
                EnrollmentStatusChange.to_status == S.REMOVED.value,
                EnrollmentStatusChange.id > self._last_change_id,
            )
            .order_by(EnrollmentStatusChange.id)
        ).all()
        removed = 0
        with self._lock:
            for change_id, ref in rows:
                if ref in self.gallery:
                    self.gallery.delete(ref)
                    removed += 1
                self._last_change_id = max(self._last_change_id, int(change_id))
        return removed

    def _ensure_master(self, session: Session) -> Any:
        """The demographic master (in memory), loaded once with the residents holding an active
        record; later PRR decisions add their resident."""
        if self._master_loaded:
            return self._master
        with self._lock:  # evaluation threads: one loads it, the others wait for it
            if not self._master_loaded:
                self._load_master(session)
        return self._master

    def _load_master(self, session: Session) -> None:
        from ektp.linkage.incremental import LinkedMaster

        master = LinkedMaster(None)
        residents = session.scalars(
            select(Resident)
            .where(Resident.id.in_(select(Enrollment.resident_id).where(Enrollment.status.in_(ACTIVE))))
            .order_by(Resident.id)
        ).all()
        if residents:
            master.load([resident_record(r) for r in residents])
        self._master, self._master_loaded = master, True

    # -- one recording --------------------------------------------------------------------------

    def evaluate(
        self,
        session: Session,
        *,
        enrollment: Enrollment,
        capture: BiometricCapture | None,
        resident: Resident,
        defer: bool = False,
        search_turn: AbstractContextManager[object] | None = None,
    ) -> Verdict:
        """Search and decide (reads the database, writes only the gallery). With ``defer`` the
        recording's insertion into the gallery waits for :meth:`flush` (one durable write per
        batch instead of one per recording); until then later probes also search the pending
        recordings, as if they were in the gallery (:meth:`_search`), so two recordings of one
        person in one batch still meet. ``search_turn`` is entered around the search: the
        worker's evaluation threads use it to search in claim order."""
        thresholds = {
            "upper": self.thresholds.duplicate,
            "lower": self.thresholds.adjudicate,
            "calibration": self.calibration.fitted_on.get("source", "ektp.dedup default")
            if isinstance(self.calibration.fitted_on, dict)
            else "ektp.dedup default",
            "target_fpir": TARGET_FPIR,
            "fpir_upper": self.fpir_thresholds.duplicate,
            "fpir_lower": self.fpir_thresholds.adjudicate,
            "floors": {"upper": DUPLICATE_FLOOR, "lower": ADJUDICATE_FLOOR},
            "at_gallery_size": OPERATIONAL_GALLERY,
        }
        try:
            sample = parse_capture(capture)
            verdict = self.gate.assess(sample)
            if not verdict.enrolable:
                raise CaptureUnusable(f"quality gate: {verdict.reason}")
            # templating and the stage-1 code are pure (no gallery state): outside the lock, so
            # that worker threads of one process overlap this part
            prepared = self.gallery.prepare(sample)
            with search_turn or contextlib.nullcontext(), self._lock:
                hits = self._search(*prepared)
                if enrollment.biometric_ref not in self.gallery and all(
                    ref != enrollment.biometric_ref for ref, _, _ in self._pending
                ):
                    self._pending.append((enrollment.biometric_ref, prepared[0], prepared[1]))
                    if not defer:
                        self.flush()
        except CaptureUnusable as exc:
            return Verdict(DedupOutcome.ENROLL_FAILURE, str(exc), thresholds=thresholds)
        except DomainError as exc:  # the ABIS refused the sample (dimension, quality...)
            return Verdict(
                DedupOutcome.ENROLL_FAILURE, f"ABIS refused the capture: {exc}", thresholds=thresholds
            )
        candidates = self._candidates(session, enrollment, hits)
        best = candidates[0] if candidates else None
        best_score = best["score"] if best else None
        decision = decide(best_score if best_score is not None else float("-inf"), self.thresholds)
        if best is not None and decision is not Decision.UNIQUE:
            other = int(best["enrollment_id"])
            score_text = f"fused score {best_score:.2f}"
            if decision is Decision.DUPLICATE and not best["later_recorded"]:
                return Verdict(
                    DedupOutcome.DUPLICATE_RECORD,
                    f"biometric match with recording {other} ({score_text} ≥ upper threshold "
                    f"{self.thresholds.duplicate:.2f})",
                    other,
                    best_score,
                    candidates,
                    thresholds,
                )
            why = (
                f"biometric match with recording {other} recorded later and decided first ({score_text})"
                if decision is Decision.DUPLICATE
                else f"grey zone: {score_text} between {self.thresholds.adjudicate:.2f} and "
                f"{self.thresholds.duplicate:.2f} (recording {other})"
            )
            return Verdict(DedupOutcome.ADJUDICATE_RECORD, why, other, best_score, candidates, thresholds)
        demographic: dict[str, Any] = {}
        if self.demographic:
            demographic = self._demographic(session, resident)
            strong = demographic.get("strong")
            if strong:
                return Verdict(
                    DedupOutcome.ADJUDICATE_RECORD,
                    f"demographic match (p={strong['match_probability']:.3f}) with resident "
                    f"{strong['resident_id']} who holds active recording {strong['enrollment_id']}, "
                    "without biometric support: an examiner decides whether they are one person",
                    strong["enrollment_id"],
                    best_score,
                    candidates,
                    thresholds,
                    demographic,
                )
        return Verdict(
            DedupOutcome.PRINT_READY_RECORD,
            "no biometric or demographic match"
            + (f" (best fused score {best_score:.2f})" if best_score is not None else " (empty gallery)"),
            None,
            best_score,
            candidates,
            thresholds,
            demographic,
        )

    def after_decision(self, resident: Resident, outcome: DedupOutcome) -> None:
        """A PRR resident joins the demographic master (after the decision is committed)."""
        if outcome is not DedupOutcome.PRINT_READY_RECORD or self._master is None:
            return
        # a second recording of the same resident: already in the master
        with contextlib.suppress(DomainError):
            self._master.check_record(resident_record(resident), add=True)

    def _candidates(self, session: Session, probe: Enrollment, hits: list[Hit]) -> list[dict[str, Any]]:
        refs = [h.reference_id for h in hits if h.reference_id != probe.biometric_ref]
        if not refs:
            return []
        rows = {
            e.biometric_ref: e
            for e in session.scalars(select(Enrollment).where(Enrollment.biometric_ref.in_(refs))).all()
        }
        out = []
        for hit in hits:
            other = rows.get(hit.reference_id)
            if other is None or other.id == probe.id or other.status in IGNORED:
                continue
            if not (hit.finger_scores or hit.iris_scores or hit.face_score is not None):
                continue  # no trait in common: the score carries no evidence
            later = (other.captured_at, other.id) > (probe.captured_at, probe.id)
            doc = hit.to_dict()
            doc.update(
                {
                    "enrollment_id": other.id,
                    "resident_id": other.resident_id,
                    "status": other.status,
                    "later_recorded": later,
                }
            )
            out.append(doc)
        out.sort(key=lambda c: -float(c["score"]))
        return out

    def _demographic(self, session: Session, resident: Resident) -> dict[str, Any]:
        master = self._ensure_master(session)
        matches = master.score(resident_record(resident), record_id=resident.id)
        others = [m for m in matches if m.record_id != resident.id][:5]
        evidence: dict[str, Any] = {
            "threshold": DEMOGRAPHIC_THRESHOLD,
            "matches": [
                {
                    "resident_id": m.record_id,
                    "cluster_id": m.cluster_id,
                    "match_probability": m.match_probability,
                }
                for m in others
            ],
        }
        for match in others:
            if match.match_probability < DEMOGRAPHIC_THRESHOLD:
                break
            active = session.scalar(
                select(Enrollment.id)
                .where(Enrollment.resident_id == match.record_id, Enrollment.status.in_(ACTIVE))
                .order_by(Enrollment.id)
                .limit(1)
            )
            if active is not None:
                evidence["strong"] = {
                    "resident_id": match.record_id,
                    "enrollment_id": int(active),
                    "match_probability": match.match_probability,
                }
                break
        return evidence


def seconds_between(start: dt.datetime, end: dt.datetime) -> float:
    return max(0.0, (end - start).total_seconds())
