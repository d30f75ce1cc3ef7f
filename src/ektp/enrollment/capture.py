"""The biometric capture of a recording: reading an uploaded file (CBEFF XML or one ISO/IEC
19794-2 finger minutiae record), the synthetic capture of the demo, and the quality gate with the
operator's recorded exceptions. Pure: no ORM, no web.

Quality gate (per trait). Traits are named ``finger:<POSITION>`` (the ten ISO finger positions),
``iris:RIGHT`` / ``iris:LEFT`` and ``face``. A trait *fails* when it is missing, or (finger) has
fewer than ``QualityGate.min_minutiae`` minutiae or an impression quality below
:data:`MIN_IMPRESSION_QUALITY`, or (iris) fewer than ``min_iris_bits`` usable
bits. Every failing trait needs an operator exception (reason from :data:`EXCEPTION_REASONS`, a
note); otherwise the capture is refused with one problem per failing trait
(``capture.<trait>``, rule ``missing`` or ``low_quality``). Independently of exceptions, the
sample must be enrolable by the ABIS's failure-to-enrol rule (:meth:`QualityGate.assess`: at
least ``min_fingers`` usable fingers, or a usable iris, or a face) — otherwise rule
``not_enrolable``. An ISO 19794-2 record carries fingers only, so irises and face are not
expected from it (recorded in the quality summary as ``"expects": ["finger"]``).
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from ektp.abis.engine import QualityGate
from ektp.abis.formats import FormatError, read_cbeff, read_fmr, write_cbeff
from ektp.abis.formats.iso19794_2 import view_minutiae
from ektp.abis.synth.captures import CaptureRequest, render_samples
from ektp.abis.synth.config import SynthConfig
from ektp.abis.synth.identities import IdentityTable, _generate_block
from ektp.abis.types import TEN_FINGERS, BiometricSample, EyePosition, FingerPosition, Minutiae
from ektp.kit.errors import FieldProblem, ValidationFailed, invalid
from ektp.models.enrollment import CaptureFormat

#: Largest accepted capture file (a ten-print CBEFF with irises and face is ~20 KB).
MAX_CAPTURE_BYTES = 2 * 1024 * 1024

GATE = QualityGate()
#: A finger impression whose quality (ISO/IEC 19794-2 finger quality, 0–100) is below this is
#: treated as unusable (capture again, or record an exception).
MIN_IMPRESSION_QUALITY = 40


class ExceptionReason(enum.StrEnum):
    AMPUTATED = "AMPUTATED"
    BANDAGED = "BANDAGED"
    SCARRED = "SCARRED"
    PERMANENT_DISABILITY = "PERMANENT_DISABILITY"
    TEMPORARY_INJURY = "TEMPORARY_INJURY"
    OTHER = "OTHER"


EXCEPTION_REASONS: tuple[str, ...] = tuple(r.value for r in ExceptionReason)

FINGER_TRAITS: tuple[str, ...] = tuple(f"finger:{p.name}" for p in TEN_FINGERS)
IRIS_TRAITS: tuple[str, ...] = ("iris:RIGHT", "iris:LEFT")
TRAITS: tuple[str, ...] = (*FINGER_TRAITS, *IRIS_TRAITS, "face")


@dataclass(frozen=True)
class TraitException:
    """An operator's recorded exception for one trait that could not be captured usably."""

    trait: str
    reason: str
    note: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"trait": self.trait, "reason": self.reason, "note": self.note}


@dataclass(frozen=True)
class TraitProblem:
    trait: str
    rule: str  # "missing" | "low_quality"
    message: str


@dataclass(frozen=True)
class GateResult:
    """What the gate found: the failing traits, the accepted exceptions, the quality summary."""

    problems: tuple[TraitProblem, ...]
    quality: dict[str, Any]


# ------------------------------------------------------------------------------------------
# reading uploads


def detect_format(payload: bytes) -> CaptureFormat:
    """CBEFF XML if the payload starts (after whitespace or a BOM) with ``<``; an ISO/IEC
    19794-2 record if it starts with ``FMR\\0``; else 422 on ``capture``."""
    head = payload[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return CaptureFormat.CBEFF_XML
    if head.startswith(b"FMR\x00"):
        return CaptureFormat.ISO_19794_2
    raise invalid("capture", "format", "the capture is neither CBEFF XML nor an ISO/IEC 19794-2 record (FMR)")


def decode_base64(text: str, field_name: str = "capture_base64") -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise invalid(field_name, "base64", f"{field_name} is not valid base64") from None


def read_capture(
    payload: bytes, capture_format: CaptureFormat | None = None
) -> tuple[CaptureFormat, BiometricSample]:
    """Parse an uploaded capture. Format errors become 422 with the field ``capture.<field>``
    and rule ``format``; the message names where (byte offset / XML path) and the rule broken."""
    if not payload:
        raise invalid("capture", "required", "the capture file is empty")
    if len(payload) > MAX_CAPTURE_BYTES:
        raise invalid("capture", "max_size", f"the capture is larger than {MAX_CAPTURE_BYTES} bytes")
    fmt = capture_format or detect_format(payload)
    try:
        if fmt is CaptureFormat.CBEFF_XML:
            sample = read_cbeff(payload)
        else:
            record = read_fmr(payload, keep_extended=False)
            fingers: dict[FingerPosition, Minutiae] = {}
            for view in record.views:
                if view.position not in fingers:
                    fingers[view.position] = view_minutiae(view)
            sample = BiometricSample(fingers=dict(sorted(fingers.items())))
    except FormatError as exc:
        message = f"{fmt.value}: {exc}"
        raise ValidationFailed(
            f"the capture is not a valid {fmt.value} document: {exc}",
            [FieldProblem(f"capture.{exc.field}", "format", message)],
        ) from None
    return fmt, sample


# ------------------------------------------------------------------------------------------
# quality gate


def _expected_traits(capture_format: CaptureFormat) -> tuple[str, ...]:
    return TRAITS if capture_format is CaptureFormat.CBEFF_XML else FINGER_TRAITS


def parse_exceptions(raw: Sequence[dict[str, Any] | TraitException]) -> list[TraitException]:
    """Check the operator's exceptions: known trait, known reason, a note for OTHER, one per
    trait. Problems name ``exceptions[i].<field>``."""
    problems: list[FieldProblem] = []
    out: list[TraitException] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        entry = (
            item
            if isinstance(item, TraitException)
            else TraitException(
                trait=str(item.get("trait", "")).strip(),
                reason=str(item.get("reason", "")).strip().upper(),
                note=str(item.get("note", "") or "").strip(),
            )
        )
        if entry.trait not in TRAITS:
            problems.append(
                FieldProblem(
                    f"exceptions[{i}].trait",
                    "choice",
                    f"unknown trait {entry.trait[:40]!r}; one of {', '.join(TRAITS)}",
                )
            )
        elif entry.trait in seen:
            problems.append(
                FieldProblem(f"exceptions[{i}].trait", "unique", f"a second exception for {entry.trait}")
            )
        seen.add(entry.trait)
        if entry.reason not in EXCEPTION_REASONS:
            problems.append(
                FieldProblem(
                    f"exceptions[{i}].reason",
                    "choice",
                    f"unknown reason {entry.reason[:40]!r}; one of {', '.join(EXCEPTION_REASONS)}",
                )
            )
        if entry.reason == ExceptionReason.OTHER and not entry.note:
            problems.append(
                FieldProblem(
                    f"exceptions[{i}].note", "required", "a note is required when the reason is OTHER"
                )
            )
        if len(entry.note) > 500:
            problems.append(
                FieldProblem(f"exceptions[{i}].note", "max_length", "the note is longer than 500 characters")
            )
        out.append(entry)
    if problems:
        raise ValidationFailed("the capture exceptions are not valid", problems)
    return out


def trait_problems(sample: BiometricSample, capture_format: CaptureFormat) -> list[TraitProblem]:
    """Every expected trait that is missing or unusable (see the module docstring)."""
    found: list[TraitProblem] = []
    for position in TEN_FINGERS:
        trait = f"finger:{position.name}"
        minutiae = sample.fingers.get(position)
        if minutiae is None:
            found.append(TraitProblem(trait, "missing", f"{trait} was not captured"))
        elif len(minutiae) < GATE.min_minutiae:
            found.append(
                TraitProblem(
                    trait,
                    "low_quality",
                    f"{trait} has {len(minutiae)} minutiae (at least {GATE.min_minutiae} needed)",
                )
            )
        elif minutiae.impression_quality < MIN_IMPRESSION_QUALITY:
            found.append(
                TraitProblem(
                    trait,
                    "low_quality",
                    f"{trait} has impression quality {minutiae.impression_quality} "
                    f"(at least {MIN_IMPRESSION_QUALITY} needed)",
                )
            )
    if capture_format is CaptureFormat.CBEFF_XML:
        for eye in (EyePosition.RIGHT, EyePosition.LEFT):
            trait = f"iris:{eye.name}"
            code = sample.irises.get(eye)
            if code is None:
                found.append(TraitProblem(trait, "missing", f"{trait} was not captured"))
                continue
            bits = int(np.unpackbits(np.asarray(code.mask, dtype=np.uint8)).sum())
            if bits < GATE.min_iris_bits:
                found.append(
                    TraitProblem(
                        trait,
                        "low_quality",
                        f"{trait} has {bits} usable bits (at least {GATE.min_iris_bits} needed)",
                    )
                )
        if sample.face is None:
            found.append(TraitProblem("face", "missing", "face was not captured"))
    return found


def quality_gate(
    sample: BiometricSample, capture_format: CaptureFormat, exceptions: Sequence[TraitException]
) -> dict[str, Any]:
    """Apply the gate; return the quality summary to store, or raise 422 listing every failing
    trait without an exception (``capture.<trait>``), every exception for a trait that did not
    fail (``exceptions[i].trait``, rule ``not_needed``), and ``capture`` / ``not_enrolable``."""
    failing = trait_problems(sample, capture_format)
    excused = {e.trait for e in exceptions}
    problems = [
        FieldProblem(f"capture.{p.trait}", p.rule, p.message + " and no exception was recorded for it")
        for p in failing
        if p.trait not in excused
    ]
    failing_traits = {p.trait for p in failing}
    for i, entry in enumerate(exceptions):
        if entry.trait not in failing_traits:
            problems.append(
                FieldProblem(
                    f"exceptions[{i}].trait",
                    "not_needed",
                    f"{entry.trait} was captured usably: remove the exception",
                )
            )
    assessment = GATE.assess(sample)
    if not assessment.enrolable:
        problems.append(
            FieldProblem("capture", "not_enrolable", f"the capture cannot be enrolled: {assessment.reason}")
        )
    if problems:
        raise ValidationFailed("the capture does not pass the quality gate", problems)
    return {
        "fingers": assessment.usable_fingers,
        "irises": assessment.usable_irises,
        "face": assessment.has_face,
        "enrolable": assessment.enrolable,
        "expects": ["finger", "iris", "face"] if capture_format is CaptureFormat.CBEFF_XML else ["finger"],
        "finger_minutiae": {p.name: len(m) for p, m in sample.fingers.items()},
        "failing": [{"trait": p.trait, "rule": p.rule} for p in failing],
        "gate": {
            "min_minutiae": GATE.min_minutiae,
            "min_fingers": GATE.min_fingers,
            "min_iris_bits": GATE.min_iris_bits,
            "min_impression_quality": MIN_IMPRESSION_QUALITY,
        },
    }


def exceptions_for_failing(
    sample: BiometricSample, capture_format: CaptureFormat, *, reason: str = "OTHER", note: str
) -> list[TraitException]:
    """One exception per failing trait (the demo's synthetic captures: a generated person may
    lack a finger or the face)."""
    return [TraitException(p.trait, reason, note) for p in trait_problems(sample, capture_format)]


# ------------------------------------------------------------------------------------------
# synthetic captures (demo)

#: Why a synthetic capture is refused where ``Settings.allow_synthetic_capture`` is off.
SYNTHETIC_REFUSED = FieldProblem(
    "synthetic",
    "not_allowed",
    "synthetic captures are accepted only on demo and test installations "
    "(EKTP_ALLOW_SYNTHETIC_CAPTURE); upload the capture device's CBEFF or ISO/IEC 19794-2 record",
)

#: Random-stream tags of the demo's synthetic persons and their captures.
_STREAM_IDENTITY = 7001
_STREAM_CAPTURE = 7002


@lru_cache(maxsize=4096)
def _identity(identity_key: int, seed: int) -> IdentityTable:
    return _generate_block(SynthConfig(), np.random.default_rng([seed, _STREAM_IDENTITY, identity_key]), 1)


def synthetic_sample(identity_key: int, capture_no: int = 0, seed: int = 2017) -> BiometricSample:
    """A deterministic synthetic capture: the same ``identity_key`` is the same person (same
    fingers, irises, face), each ``capture_no`` a fresh capture of that person (new noise, new
    placement). ~20 ms. Plant a duplicate by recording resident B with resident A's key."""
    if identity_key < 0 or capture_no < 0 or seed < 0:
        raise invalid("identity_key", "non_negative", "identity_key, capture_no and seed must be >= 0")
    table = _identity(int(identity_key), int(seed))
    rng = np.random.default_rng([seed, _STREAM_CAPTURE, identity_key, capture_no])
    return render_samples(SynthConfig(), table, [CaptureRequest(0)], rng)[0]


def synthetic_capture(identity_key: int, capture_no: int = 0, seed: int = 2017) -> bytes:
    """:func:`synthetic_sample` as a CBEFF XML document (what the demo stores as the payload)."""
    return write_cbeff(synthetic_sample(identity_key, capture_no, seed))
