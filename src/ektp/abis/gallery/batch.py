"""A day's batch deduplication: every probe (CBEFF files) against a persistent gallery, one
decision per probe, written as CSV. Two engines give the same decisions:

* ``inprocess`` — :meth:`PersistentGallery.identify` per probe in this process;
* ``spark`` — :mod:`.spark`: one task per gallery partition scans all probes, the driver merges.

Both use the search semantics of :mod:`.persistent` (exact stage-1 top-K₁ in (distance, id)
order, stage 2, top-k by fused score), so the merged candidate lists and hence the decisions are
identical (tested).

CSV columns: ``probe_id`` (file name without ``.xml``), ``decision`` (unique / adjudicate /
duplicate), ``best_score`` (fused LLR of the best candidate, ``-inf`` when none), ``best_reference_id``,
``candidates`` (``id:score`` of the top-k, ``|``-separated, best first; scores as Python ``repr``).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ektp.abis.decision import Decision, Thresholds, decide
from ektp.abis.engine import PreparedProbe, prepare_probe
from ektp.abis.formats import FormatError
from ektp.abis.formats.cbeff import read_cbeff
from ektp.abis.fusion import Calibration
from ektp.abis.gallery.persistent import DEFAULT_CANDIDATES, Hit, PersistentGallery, Stage1Encoder
from ektp.abis.types import BiometricSample
from ektp.kit.errors import invalid

__all__ = [
    "BatchDecision",
    "decide_all",
    "dedup_inprocess",
    "load_probes",
    "prepare_probes",
    "read_decisions",
    "write_decisions",
]

ENGINES = ("inprocess", "spark")


@dataclass(frozen=True)
class BatchDecision:
    probe_id: str
    decision: Decision
    best_score: float
    best_reference_id: str | None
    candidates: tuple[Hit, ...]


def load_probes(directory: str | Path) -> list[tuple[str, BiometricSample]]:
    """``*.xml`` CBEFF files of ``directory`` in name order; a malformed file is an error naming it."""
    path = Path(directory)
    if not path.is_dir():
        raise invalid("--probes", "directory", f"{path} is not a directory")
    out = []
    for f in sorted(path.glob("*.xml")):
        try:
            out.append((f.stem, read_cbeff(f.read_bytes())))
        except FormatError as exc:
            raise invalid("--probes", "cbeff", f"{f.name}: {exc}") from None
    if not out:
        raise invalid("--probes", "empty", f"{path} holds no *.xml CBEFF files")
    return out


def prepare_probes(
    encoder: Stage1Encoder, probes: Sequence[tuple[str, BiometricSample]]
) -> list[tuple[PreparedProbe, npt.NDArray[np.uint8]]]:
    """Templates and stage-1 code of each probe (built once, on the driver)."""
    return [
        (
            prepare_probe(sample, field_name=f"probes[{pid}]"),
            np.asarray(encoder.encode(sample), dtype=np.uint8).reshape(-1),
        )
        for pid, sample in probes
    ]


def decide_all(
    probe_ids: Sequence[str], merged: Sequence[Sequence[Hit]], thresholds: Thresholds
) -> list[BatchDecision]:
    """A decision per probe on its best fused score."""
    out = []
    for pid, hits in zip(probe_ids, merged, strict=True):
        best = hits[0].score if hits else -math.inf
        out.append(
            BatchDecision(
                pid, decide(best, thresholds), best, hits[0].reference_id if hits else None, tuple(hits)
            )
        )
    return out


def dedup_inprocess(
    gallery: PersistentGallery,
    probes: Sequence[tuple[str, BiometricSample]],
    thresholds: Thresholds,
    *,
    calibration: Calibration | None = None,
    top_k: int = 10,
    candidates: int = DEFAULT_CANDIDATES,
) -> list[BatchDecision]:
    if gallery.encoder is None:
        raise invalid("encoder", "required", "the gallery must be opened with its stage-1 encoder")
    prepared = prepare_probes(gallery.encoder, probes)
    merged = [
        gallery.identify(p, top_k=top_k, candidates=candidates, calibration=calibration) for p in prepared
    ]
    return decide_all([pid for pid, _ in probes], merged, thresholds)


def write_decisions(path: str | Path, decisions: Sequence[BatchDecision]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["probe_id", "decision", "best_score", "best_reference_id", "candidates"])
        for d in decisions:
            w.writerow(
                [
                    d.probe_id,
                    d.decision.value,
                    repr(d.best_score),
                    d.best_reference_id or "",
                    "|".join(f"{h.reference_id}:{h.score!r}" for h in d.candidates),
                ]
            )


def read_decisions(path: str | Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
