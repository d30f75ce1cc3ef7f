"""1:1 biometric verification of a re-issue (BRIEF §4, issue 5 item 3): a fresh capture of the
resident is compared with the capture stored with the resident's print-ready (or later)
recording — one comparison with :func:`ektp.abis.engine.verify`, never a 1:N search.

Threshold
---------
The fused score is the sum of the per-comparison log-likelihood ratios (genuine vs impostor) of
the calibration (:mod:`ektp.reissue.calibration_data`). The verification passes when the fused
score is at least :data:`VERIFY_THRESHOLD` = 12.0, a likelihood ratio of e¹² ≈ 160,000 : 1 in
favour of the same person. On the synthetic population genuine pairs score far above it (≈ 100 –
300 with fingers, irises and face) and impostor pairs far below (≈ −30 … 0), so the threshold sits
in a wide gap; a site with a calibration fitted on real data re-chooses it for its target FMR
(1:1, so FMR itself, not FPIR). Only the modalities present in *both* captures are compared (an
ISO/IEC 19794-2 record carries fingers only).

Captures are accepted as CBEFF XML or an ISO/IEC 19794-2 finger minutiae record (detected by the
``FMR\\0`` magic). :func:`synthetic_sample` makes demo captures without real biometrics.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ektp.abis.engine import verify
from ektp.abis.formats.cbeff import read_cbeff
from ektp.abis.formats.errors import FormatError
from ektp.abis.formats.iso19794_2 import FORMAT_IDENTIFIER, fmr_to_minutiae
from ektp.abis.fusion import Calibration, calibration_from_dict
from ektp.abis.types import BiometricSample
from ektp.kit.errors import invalid
from ektp.models.enrollment import BiometricCapture, CaptureFormat, Enrollment, EnrollmentStatus
from ektp.reissue.calibration_data import CALIBRATION

#: Fused LLR at or above which the fresh capture is the same person (see the module docstring).
VERIFY_THRESHOLD = 12.0

#: Recording statuses whose stored capture is the resident's reference biometrics.
REFERENCE_STATUSES: tuple[str, ...] = (
    EnrollmentStatus.PRINT_READY_RECORD.value,
    EnrollmentStatus.SENT_FOR_PRINTING.value,
    EnrollmentStatus.CARD_PRINTED.value,
    EnrollmentStatus.CARD_ISSUED.value,
)


@lru_cache(maxsize=1)
def default_calibration() -> Calibration:
    return calibration_from_dict(CALIBRATION, source="ektp.reissue.calibration_data")


@dataclass(frozen=True)
class VerificationOutcome:
    passed: bool
    score: float
    threshold: float
    modalities: tuple[str, ...]


def reference_of(session: Session, resident_id: int) -> tuple[Enrollment, BiometricCapture] | None:
    """The resident's newest recording in PRR or later that has a stored capture, or None."""
    row = session.execute(
        select(Enrollment, BiometricCapture)
        .join(BiometricCapture, BiometricCapture.enrollment_id == Enrollment.id)
        .where(Enrollment.resident_id == resident_id, Enrollment.status.in_(REFERENCE_STATUSES))
        .order_by(Enrollment.id.desc())
        .limit(1)
    ).first()
    return None if row is None else (row[0], row[1])


def parse_capture(
    payload: bytes, *, field_name: str = "capture", format: str | None = None
) -> BiometricSample:
    """A capture as uploaded (CBEFF XML or ISO/IEC 19794-2) → a sample; 422 naming ``field_name``."""
    if not payload:
        raise invalid(field_name, "required", "A fresh biometric capture is needed for the 1:1 verification.")
    try:
        if format == CaptureFormat.ISO_19794_2.value or (format is None and payload[:4] == FORMAT_IDENTIFIER):
            return BiometricSample(fingers=fmr_to_minutiae(payload), irises={}, face=None)
        return read_cbeff(payload)
    except (FormatError, ValueError) as exc:
        raise invalid(field_name, "format", f"The capture could not be read: {exc}") from exc


def _modalities(a: BiometricSample, b: BiometricSample) -> tuple[str, ...]:
    mods: list[str] = []
    if a.fingers and b.fingers:
        mods.append("finger")
    if a.irises and b.irises:
        mods.append("iris")
    if a.face is not None and b.face is not None:
        mods.append("face")
    return tuple(mods)


def verify_capture(
    fresh: BiometricSample,
    reference: BiometricSample,
    *,
    calibration: Calibration | None = None,
    threshold: float = VERIFY_THRESHOLD,
) -> VerificationOutcome:
    """Compare ``fresh`` with ``reference`` 1:1 over the modalities both carry."""
    mods = _modalities(fresh, reference)
    if not mods:
        raise invalid("capture", "no_common_modality", "The capture has no trait in common with the record.")
    result = verify(fresh, reference, calibration or default_calibration(), modalities=mods)
    score = float(result.score) if math.isfinite(result.score) else -1e9
    return VerificationOutcome(passed=score >= threshold, score=score, threshold=threshold, modalities=mods)


def synthetic_sample(identity_key: int, capture_no: int, seed: int = 2017) -> BiometricSample:
    """A synthetic capture of person ``identity_key`` (the demo uses the resident's id, as the
    enrollment demo does): the same key is the same person, ``capture_no`` a new capture of them.
    Uses the enrollment generator (:func:`ektp.enrollment.capture.synthetic_sample`) when present,
    so that a demo recording's stored capture and a fresh one come from the same person."""
    try:
        from ektp.enrollment import capture as enrollment_capture
    except ImportError:  # pragma: no cover - the enrollment package is optional here
        return _own_sample(identity_key, capture_no, seed)
    return enrollment_capture.synthetic_sample(identity_key, capture_no, seed)


def _own_sample(identity_key: int, capture_no: int, seed: int) -> BiometricSample:
    from ektp.abis.synth.captures import CaptureRequest, render_samples
    from ektp.abis.synth.config import SynthConfig
    from ektp.abis.synth.identities import generate_identities

    digest = hashlib.sha256(str(identity_key).encode()).digest()
    words = tuple(int.from_bytes(digest[i : i + 4], "big") for i in range(0, 16, 4))
    config = SynthConfig()
    table = generate_identities(config, (seed, *words), 7101, 1)
    rng = np.random.default_rng([seed, *words, 7102, capture_no])
    return render_samples(config, table, [CaptureRequest(0)], rng)[0]
