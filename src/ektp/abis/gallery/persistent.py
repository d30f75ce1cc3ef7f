"""Persistent gallery: templates on disk in the append-only store of :mod:`.store`, stage-1 codes
in RAM (a faiss binary index saved next to them), stage 2 by the engine's matchers and fusion.

Search semantics (the same for one process, shards and Spark)
-------------------------------------------------------------
1. **Stage 1** keeps the ``candidates`` (K₁) live persons whose stage-1 code is nearest to the
   probe's in Hamming distance, in the *total* order (distance, reference id). The scan is exact
   (faiss ``IndexBinaryFlat`` plus a range search when ties straddle the K₁-th place), so the set
   does not depend on how the gallery is split.
2. **Stage 2** compares the probe with each of those persons (engine :func:`~ektp.abis.engine.
   score_gallery`: finger by finger, eye by eye, face; missing traits omitted) and fuses the
   per-modality LLRs with the calibration.
3. The result is the ``top_k`` of them by fused score, ties by reference id.

A partition (a shard, a segment, a row range) returns its *local* stage-1 top-K₁ with their
stage-2 scores (:meth:`PersistentGallery.scan`, :func:`scan_partition`); every member of the
global top-K₁ is in its own partition's local top-K₁, so :func:`merge_hits` — keep the K₁ best
by (distance, reference id) of the union, then rank by fused score — gives exactly the
one-process answer. Scores of a pair do not depend on the other candidates (every matcher scores
row by row), so the figures are identical too.

Durability and crash behaviour are those of :class:`~ektp.abis.gallery.store.Store`: ``insert``
/ ``insert_many`` / ``delete`` return only once their records and the manifest are on disk.
"""

from __future__ import annotations

import json
import math
import os
import time
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import faiss
import numpy as np
import numpy.typing as npt

from ektp.abis.decision import Thresholds, decide
from ektp.abis.engine import (
    EYES,
    FingerColumn,
    Gallery,
    GalleryScores,
    PreparedProbe,
    QualityGate,
    VerifyResult,
    prepare_probe,
    score_gallery,
    top_candidates,
)
from ektp.abis.fusion import Calibration, fuse_many
from ektp.abis.gallery.store import (
    KIND_INSERT,
    KIND_TOMBSTONE,
    CorruptStore,
    Manifest,
    PendingRecord,
    SegmentState,
    Store,
    check_reference_id,
    decode_templates,
    encode_templates,
    write_json_atomic,
)
from ektp.abis.match import fingerprint as fp
from ektp.abis.types import IRIS_CODE_BYTES, BiometricSample, EyePosition, FingerPosition
from ektp.kit.errors import Conflict, FieldProblem, NotFound, invalid

__all__ = [
    "DEFAULT_CANDIDATES",
    "Hit",
    "OpenStats",
    "PartitionSpec",
    "PersistentGallery",
    "Stage1Encoder",
    "default_encoder",
    "exact_top",
    "hamming_distances",
    "merge_hits",
    "scan_partition",
    "score_templates",
    "templates_gallery",
]

#: Stage-1 shortlist K₁ per search (per partition when the gallery is split).
DEFAULT_CANDIDATES = 200


class Stage1Encoder(Protocol):
    """What the gallery needs from stage 1: a fixed-size binary code per person."""

    @property
    def name(self) -> str: ...

    @property
    def code_bytes(self) -> int: ...

    def encode(self, sample: BiometricSample) -> npt.NDArray[np.uint8]: ...


@dataclass(frozen=True)
class _ModuleEncoder:
    name: str
    code_bytes: int
    fn: Callable[[BiometricSample], npt.NDArray[np.uint8]]

    def encode(self, sample: BiometricSample) -> npt.NDArray[np.uint8]:
        return self.fn(sample)


def default_encoder() -> Stage1Encoder:
    """The project's stage-1 encoder (:mod:`ektp.abis.gallery.stage1`)."""
    from ektp.abis.gallery import stage1

    return _ModuleEncoder(f"ektp.stage1/{stage1.encoder_version()}", int(stage1.CODE_BYTES), stage1.encode)


# ------------------------------------------------------------------------------------------
# hits and merging
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One candidate of a search: stage-1 Hamming distance, fused score (sum of LLRs) and the raw
    per-comparison scores (fingers: MCC LSS-R similarity; irises: normalised Hamming distance;
    face: cosine) with each modality's LLR. ``rank`` is 1-based after :func:`merge_hits`
    (0 in a partition's unmerged list)."""

    reference_id: str
    stage1_distance: int
    score: float
    finger_scores: dict[FingerPosition, float] = field(default_factory=dict)
    iris_scores: dict[EyePosition, float] = field(default_factory=dict)
    face_score: float | None = None
    llr: dict[str, float] = field(default_factory=dict)
    rank: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form (floats survive a JSON round trip exactly)."""
        return {
            "reference_id": self.reference_id,
            "stage1_distance": self.stage1_distance,
            "score": self.score,
            "finger_scores": {str(int(k)): v for k, v in self.finger_scores.items()},
            "iris_scores": {str(int(k)): v for k, v in self.iris_scores.items()},
            "face_score": self.face_score,
            "llr": dict(self.llr),
            "rank": self.rank,
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Hit:
        return cls(
            reference_id=str(doc["reference_id"]),
            stage1_distance=int(doc["stage1_distance"]),
            score=float(doc["score"]),
            finger_scores={FingerPosition(int(k)): float(v) for k, v in doc["finger_scores"].items()},
            iris_scores={EyePosition(int(k)): float(v) for k, v in doc["iris_scores"].items()},
            face_score=None if doc["face_score"] is None else float(doc["face_score"]),
            llr={str(k): float(v) for k, v in doc["llr"].items()},
            rank=int(doc.get("rank", 0)),
        )


def _check_positive(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or int(value) < 1:
        raise invalid(name, "positive", f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def merge_hits(parts: Iterable[Sequence[Hit]], *, candidates: int, top_k: int) -> list[Hit]:
    """Merge partitions' local hits: the ``candidates`` best by (stage-1 distance, reference id),
    then the ``top_k`` of those by fused score (ties by reference id), ranked from 1."""
    _check_positive(candidates, "candidates")
    _check_positive(top_k, "top_k")
    union = [h for part in parts for h in part]
    stage1 = sorted(union, key=lambda h: (h.stage1_distance, h.reference_id))[:candidates]
    best = sorted(stage1, key=lambda h: (-h.score, h.reference_id))[:top_k]
    return [_ranked(h, r + 1) for r, h in enumerate(best)]


def _ranked(hit: Hit, rank: int) -> Hit:
    return Hit(
        hit.reference_id,
        hit.stage1_distance,
        hit.score,
        hit.finger_scores,
        hit.iris_scores,
        hit.face_score,
        hit.llr,
        rank,
    )


# ------------------------------------------------------------------------------------------
# stage 1: exact Hamming top-K in (distance, reference id) order
# ------------------------------------------------------------------------------------------

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint16)


def hamming_distances(codes: npt.NDArray[np.uint8], query: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """Hamming distance of ``query`` (B,) to each row of ``codes`` (n, B) (byte lookup table)."""
    if codes.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    return _POPCOUNT[np.bitwise_xor(codes, query[None, :])].sum(axis=1, dtype=np.int64)


def _order(
    rows: npt.NDArray[np.int64], dists: npt.NDArray[np.int64], keys: Sequence[str], k: int
) -> list[tuple[int, int]]:
    pairs = sorted(zip(dists.tolist(), rows.tolist(), strict=True), key=lambda p: (p[0], keys[p[1]]))
    return [(r, d) for d, r in pairs[:k]]


def exact_top(
    index: faiss.IndexBinary,
    queries: npt.NDArray[np.uint8],
    k: int,
    live: npt.NDArray[np.bool_],
    keys: Sequence[str],
) -> list[list[tuple[int, int]]]:
    """Per query, the ``k`` live rows of ``index`` nearest in Hamming distance, as (row, distance)
    in (distance, keys[row]) order. Exact: faiss k-NN over enough rows to skip the dead ones,
    then, when rows tied with the k-th distance may have been cut off, a range search collects
    every row at or below it."""
    n = int(index.ntotal)
    n_live = int(np.count_nonzero(live))
    k = min(k, n_live)
    out: list[list[tuple[int, int]]] = [[] for _ in range(queries.shape[0])]
    if k == 0 or queries.shape[0] == 0:
        return out
    kk = min(n, k + (n - n_live))
    dist, ids = index.search(np.ascontiguousarray(queries, dtype=np.uint8), kk)
    for q in range(queries.shape[0]):
        d, i = dist[q].astype(np.int64), ids[q].astype(np.int64)
        ok = i >= 0
        d, i = d[ok], i[ok]
        m = live[i]
        last = int(d[-1]) if d.size else 0
        d, i = d[m], i[m]
        dk = int(d[k - 1])
        if kk < n and last <= dk:
            _lims, rd, ri = index.range_search(queries[q : q + 1], dk + 1)
            ri = ri.astype(np.int64)
            m = live[ri]
            d, i = rd.astype(np.int64)[m], ri[m]
        else:
            sel = d <= dk
            d, i = d[sel], i[sel]
        out[q] = _order(i, d, keys, k)
    return out


def _flat_index(codes: npt.NDArray[np.uint8]) -> faiss.IndexBinaryFlat:
    index = faiss.IndexBinaryFlat(8 * codes.shape[1])
    if codes.shape[0]:
        index.add(np.ascontiguousarray(codes, dtype=np.uint8))
    return index


# ------------------------------------------------------------------------------------------
# stage 2 on stored templates
# ------------------------------------------------------------------------------------------


def templates_gallery(reference_ids: Sequence[str], items: Sequence[PreparedProbe]) -> Gallery:
    """An engine :class:`~ektp.abis.engine.Gallery` over stored templates (no re-templating):
    laid out exactly as :func:`~ektp.abis.engine.build_gallery` lays out the same persons."""
    n = len(items)
    by_pos: dict[FingerPosition, list[tuple[int, fp.FingerTemplate]]] = {}
    for i, item in enumerate(items):
        for pos, tmpl in item.fingers.items():
            if len(tmpl):
                by_pos.setdefault(FingerPosition(int(pos)), []).append((i, tmpl))
    fingers: dict[FingerPosition, FingerColumn] = {}
    for pos in sorted(by_pos):
        pairs = by_pos[pos]
        index = np.full(n, -1, dtype=np.int64)
        index[np.asarray([r for r, _ in pairs], dtype=np.int64)] = np.arange(len(pairs), dtype=np.int64)
        fingers[pos] = FingerColumn(pos, fp.pack_templates([t for _, t in pairs]), index)
    codes, masks, present = {}, {}, {}
    for eye in EYES:
        if any(eye in it.irises for it in items):
            c = np.zeros((n, IRIS_CODE_BYTES), dtype=np.uint8)
            m = np.zeros((n, IRIS_CODE_BYTES), dtype=np.uint8)
            p = np.zeros(n, dtype=np.bool_)
            for i, it in enumerate(items):
                code = it.irises.get(eye)
                if code is not None:
                    c[i], m[i], p[i] = code.code, code.mask, True
            codes[eye], masks[eye], present[eye] = c, m, p
    dims = {int(it.face.shape[0]) for it in items if it.face is not None}
    if len(dims) > 1:
        raise invalid("face", "dimension", f"stored face vectors have different dimensions {sorted(dims)}")
    dim = dims.pop() if dims else 0
    face = np.zeros((n, dim), dtype=np.float32)
    face_present = np.zeros(n, dtype=np.bool_)
    for i, it in enumerate(items):
        if it.face is not None:
            face[i] = it.face
            face_present[i] = True
    return Gallery(
        reference_ids=tuple(reference_ids),
        fingers=fingers,
        iris_codes=codes,
        iris_masks=masks,
        iris_present=present,
        face=face,
        face_present=face_present,
    )


def _row_independent(
    mini: Gallery, probe: PreparedProbe, calibration: Calibration, scores: GalleryScores
) -> GalleryScores:
    """The engine's face scores come from one BLAS matrix-vector product, whose last bits depend
    on how many rows are multiplied together; a person's score must not depend on which other
    candidates were scored with it (shards, Spark partitions), so the face cosine is recomputed
    row by row (elementwise product, per-row sum) and the fusion redone. Finger and iris kernels
    already score row by row."""
    if "face" not in scores.modalities or probe.face is None or mini.face.shape[1] == 0:
        return scores
    face = np.full(scores.rows.shape[0], np.nan, dtype=np.float32)
    present = mini.face_present[scores.rows]
    rows = scores.rows[present]
    sims = np.multiply(mini.face[rows], probe.face[None, :]).sum(axis=1, dtype=np.float32)
    face[present] = np.clip(sims, -1.0, 1.0)
    parts: dict[str, npt.NDArray[np.float32]] = {}
    if "finger" in scores.modalities and scores.finger.shape[1]:
        parts["finger"] = scores.finger
    if "iris" in scores.modalities:
        parts["iris"] = scores.iris
    parts["face"] = face
    fused = fuse_many(calibration, parts)
    return GalleryScores(
        scores.rows, scores.finger_positions, scores.finger, scores.iris, face, fused, scores.modalities
    )


def score_templates(
    probe: PreparedProbe,
    found: Sequence[tuple[str, int, PreparedProbe]],
    calibration: Calibration,
    *,
    modalities: Collection[str] | None = None,
) -> list[Hit]:
    """Stage 2: ``probe`` against each (reference id, stage-1 distance, templates)."""
    if not found:
        return []
    mini = templates_gallery([f[0] for f in found], [f[2] for f in found])
    if probe.face is not None and mini.face.shape[1] and mini.face.shape[1] != probe.face.shape[0]:
        raise invalid(
            "probe.face",
            "dimension",
            f"probe face has {probe.face.shape[0]} values, the gallery {mini.face.shape[1]}",
        )
    scores = _row_independent(
        mini, probe, calibration, score_gallery(mini, probe, calibration, modalities=modalities)
    )
    cands = top_candidates(mini, scores, calibration, len(mini))
    by_ref = {c.reference_id: c for c in cands}
    hits = []
    for ref, dist, _ in found:
        c = by_ref.get(ref)
        if c is None:  # not scorable at all (only with a pre-filter, which is not used here)
            continue
        hits.append(Hit(ref, int(dist), c.score, c.finger_scores, c.iris_scores, c.face_score, c.llr))
    return hits


# ------------------------------------------------------------------------------------------
# partitions (Spark tasks, offline scans)
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartitionSpec:
    """A slice of one segment as committed in a manifest snapshot: insert rows ``[lo, hi)`` of
    segment ``segment`` (its ``entries`` / ``codes`` / ``log_bytes`` as in the snapshot), minus
    ``dead`` (segment-local insert rows deleted by later tombstones)."""

    directory: str
    code_bytes: int
    segment: dict[str, int]
    lo: int
    hi: int
    dead: tuple[int, ...] = ()


def _segment_rows(
    store: Store, seg: SegmentState
) -> tuple[list[str], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Reference ids, frame offsets and lengths of the insert records of a segment, in code order."""
    e = store.entries(seg)
    ins = e[e["kind"] == KIND_INSERT]
    refs = [r.decode("utf-8") for r in ins["ref"].tolist()]
    return refs, ins["offset"].astype(np.int64), ins["length"].astype(np.int64)


def scan_partition(
    spec: PartitionSpec,
    probes: Sequence[tuple[PreparedProbe, npt.NDArray[np.uint8]]],
    calibration: Calibration,
    *,
    candidates: int = DEFAULT_CANDIDATES,
    modalities: Collection[str] | None = None,
) -> list[list[Hit]]:
    """Local stage-1 top-K₁ + stage 2 of every probe (prepared templates, stage-1 code) against one
    partition, read-only (a Spark task runs this). Combine partitions with :func:`merge_hits`."""
    seg = SegmentState(**spec.segment)
    store = Store.reader(Path(spec.directory), Manifest(spec.code_bytes, "", segments=[seg]))
    try:
        refs, offsets, lengths = _segment_rows(store, seg)
        codes = store.codes(seg)[spec.lo : spec.hi]
        live = np.ones(spec.hi - spec.lo, dtype=np.bool_)
        dead = np.asarray([d - spec.lo for d in spec.dead if spec.lo <= d < spec.hi], dtype=np.int64)
        live[dead] = False
        keys = refs[spec.lo : spec.hi]
        queries = np.stack([c for _, c in probes]) if probes else np.zeros((0, spec.code_bytes), np.uint8)
        tops = exact_top(_flat_index(codes), queries, candidates, live, keys)
        cache: dict[int, PreparedProbe] = {}
        out: list[list[Hit]] = []
        for (probe, _), top in zip(probes, tops, strict=True):
            found = []
            for row, dist in top:
                g = spec.lo + row
                if g not in cache:
                    _, _, body = store.read(seg.id, int(offsets[g]), int(lengths[g]))
                    cache[g] = decode_templates(body, field_name=f"seg-{seg.id:06d}@{int(offsets[g])}")
                found.append((refs[g], dist, cache[g]))
            out.append(score_templates(probe, found, calibration, modalities=modalities))
        return out
    finally:
        store.close()


# ------------------------------------------------------------------------------------------
# the gallery
# ------------------------------------------------------------------------------------------


@dataclass
class OpenStats:
    """What opening cost: ``index`` is "loaded" (saved faiss index matched the manifest) or
    "rebuilt" (from the codes files)."""

    rows: int
    live: int
    seconds_entries: float
    seconds_index: float
    index: str


class PersistentGallery:
    """See the module docstring. Open with :meth:`open`; not thread-safe (one caller at a time —
    the shard server serialises requests)."""

    def __init__(
        self,
        store: Store,
        encoder: Stage1Encoder | None,
        calibration: Calibration | None,
        gate: QualityGate | None,
        candidates: int,
    ) -> None:
        self._store = store
        self.encoder = encoder
        self.calibration = calibration
        self.gate = gate
        self.candidates = _check_positive(candidates, "candidates")
        self._refs: list[str] = []
        self._seg = array("q")
        self._off = array("q")
        self._len = array("q")
        self._live = bytearray()
        self._row_of: dict[str, int] = {}
        self._index: faiss.IndexBinary = faiss.IndexBinaryFlat(8 * store.manifest.code_bytes)
        self._index_dirty = False
        self.open_stats = OpenStats(0, 0, 0.0, 0.0, "empty")

    # -- opening and closing --------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        encoder: Stage1Encoder | None = None,
        calibration: Calibration | None = None,
        create: bool = True,
        readonly: bool = False,
        gate: QualityGate | None = None,
        candidates: int = DEFAULT_CANDIDATES,
        segment_bytes: int = 256 << 20,
        use_saved_index: bool = True,
    ) -> PersistentGallery:
        """Open (or create) the gallery in directory ``path``. ``encoder`` is needed to insert or
        search with :class:`BiometricSample` s (a shard server that receives encoded payloads
        does without); its name and code size are checked against the manifest. A writer
        truncates uncommitted bytes and removes files of unfinished segments / compactions."""
        store = Store.open(
            path,
            code_bytes=None if encoder is None else encoder.code_bytes,
            encoder=None if encoder is None else encoder.name,
            create=create,
            readonly=readonly,
            segment_bytes=segment_bytes,
        )
        gallery = cls(store, encoder, calibration, gate, candidates)
        try:
            gallery._load(use_saved_index)
        except BaseException:
            store.close()
            raise
        return gallery

    def _load(self, use_saved_index: bool) -> None:
        t0 = time.perf_counter()
        row = 0
        for seg in self._store.manifest.segments:
            first = row
            e = self._store.entries(seg)
            kinds = e["kind"].tolist()
            refs = [r.decode("utf-8") for r in e["ref"].tolist()]
            offsets = e["offset"].tolist()
            lengths = e["length"].tolist()
            for kind, ref, off, length in zip(kinds, refs, offsets, lengths, strict=True):
                if kind == KIND_INSERT:
                    self._refs.append(ref)
                    self._seg.append(seg.id)
                    self._off.append(off)
                    self._len.append(length)
                    self._live.append(1)
                    self._row_of[ref] = row
                    row += 1
                elif kind == KIND_TOMBSTONE:
                    dead = self._row_of.pop(ref, None)
                    if dead is not None:
                        self._live[dead] = 0
                else:
                    raise CorruptStore(f"seg-{seg.id:06d}.idx: unknown record kind {kind} at {off}")
            if row - first != seg.codes:
                raise CorruptStore(
                    f"seg-{seg.id:06d}: {row - first} insert entries but {seg.codes} codes committed"
                )
        t1 = time.perf_counter()
        how = self._load_index(row, use_saved_index)
        t2 = time.perf_counter()
        self.open_stats = OpenStats(row, len(self._row_of), t1 - t0, t2 - t1, how)

    def _index_paths(self) -> tuple[Path, Path]:
        d = self._store.directory
        return d / "stage1.faiss", d / "stage1.json"

    def _load_index(self, rows: int, use_saved: bool) -> str:
        idx_path, stamp_path = self._index_paths()
        manifest = self._store.manifest
        if use_saved and idx_path.exists() and stamp_path.exists():
            try:
                stamp = json.loads(stamp_path.read_bytes())
                if (
                    stamp.get("segments") == manifest.stamp()
                    and stamp.get("code_bytes") == manifest.code_bytes
                ):
                    index = faiss.read_index_binary(str(idx_path))
                    if index.ntotal == rows and index.d == 8 * manifest.code_bytes:
                        self._index = index
                        return "loaded"
            except (OSError, ValueError, RuntimeError):
                pass
        index = faiss.IndexBinaryFlat(8 * manifest.code_bytes)
        for seg in manifest.segments:
            c = self._store.codes(seg)
            if c.shape[0]:
                index.add(c)
        self._index = index
        self._index_dirty = True
        if not self._store.readonly:
            self.save_index()
        return "rebuilt" if rows else "empty"

    def save_index(self) -> None:
        """Write the stage-1 index and its stamp (a cache: a stale one is rebuilt on open)."""
        if self._store.readonly or not self._index_dirty:
            return
        idx_path, stamp_path = self._index_paths()
        tmp = idx_path.with_name(idx_path.name + ".tmp")
        faiss.write_index_binary(self._index, str(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, idx_path)
        write_json_atomic(
            stamp_path,
            {"segments": self._store.manifest.stamp(), "code_bytes": self._store.manifest.code_bytes},
        )
        self._index_dirty = False

    def close(self) -> None:
        """Save the stage-1 index if it changed and release the files and the writer lock."""
        try:
            self.save_index()
        finally:
            self._store.close()

    def __enter__(self) -> PersistentGallery:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- facts -----------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        return self._store.directory

    @property
    def code_bytes(self) -> int:
        return self._store.manifest.code_bytes

    @property
    def manifest(self) -> Manifest:
        return self._store.manifest

    def count(self) -> int:
        """Live (inserted and not deleted) persons."""
        return len(self._row_of)

    def __contains__(self, reference_id: object) -> bool:
        return reference_id in self._row_of

    def reference_ids(self) -> list[str]:
        """Live reference ids in storage order."""
        return [r for r, alive in zip(self._refs, self._live, strict=True) if alive]

    def templates(self, reference_id: str) -> PreparedProbe:
        """The stored templates of a live person (NotFound otherwise)."""
        return self._read(self._row(reference_id))

    def _row(self, reference_id: str) -> int:
        row = self._row_of.get(reference_id)
        if row is None:
            raise NotFound(
                f"reference id {reference_id!r} is not in the gallery",
                [FieldProblem("reference_id", "unknown", f"{reference_id!r} is not in the gallery")],
            )
        return row

    def _read(self, row: int) -> PreparedProbe:
        _, _, body = self._store.read(self._seg[row], self._off[row], self._len[row])
        return decode_templates(body, field_name=f"record of {self._refs[row]!r}")

    def partitions(self, rows_per_partition: int = 50_000) -> list[PartitionSpec]:
        """The committed gallery as read-only partitions (segment slices) for :func:`scan_partition`."""
        _check_positive(rows_per_partition, "rows_per_partition")
        specs = []
        base = 0
        live = np.frombuffer(bytes(self._live), dtype=np.uint8)
        for seg in self._store.manifest.segments:
            dead = np.flatnonzero(live[base : base + seg.codes] == 0).tolist()
            for lo in range(0, seg.codes, rows_per_partition):
                hi = min(seg.codes, lo + rows_per_partition)
                specs.append(
                    PartitionSpec(
                        str(self._store.directory.resolve()),
                        self.code_bytes,
                        seg.as_dict(),
                        lo,
                        hi,
                        tuple(d for d in dead if lo <= d < hi),
                    )
                )
            base += seg.codes
        return specs

    # -- writing ---------------------------------------------------------------------------

    def encode(
        self, sample: BiometricSample, *, field_name: str = "sample"
    ) -> tuple[bytes, npt.NDArray[np.uint8]]:
        """(template body, stage-1 code) of a sample: what is stored and what shards receive."""
        if self.encoder is None:
            raise invalid("encoder", "required", "this gallery was opened without a stage-1 encoder")
        if not isinstance(sample, BiometricSample):
            raise invalid(field_name, "type", f"{field_name} must be a BiometricSample")
        if self.gate is not None:
            verdict = self.gate.assess(sample)
            if not verdict.enrolable:
                raise invalid(field_name, "quality", f"{field_name}: failure to enrol ({verdict.reason})")
        body = encode_templates(prepare_probe(sample, field_name=field_name))
        code = np.asarray(self.encoder.encode(sample), dtype=np.uint8).reshape(-1)
        return body, code

    def insert(self, reference_id: str, sample: BiometricSample) -> None:
        """Enrol one person; returns once durable (acknowledged)."""
        self.insert_many([(reference_id, sample)])

    def insert_many(self, items: Sequence[tuple[str, BiometricSample]]) -> None:
        """Enrol several persons in one commit (one fsync round); all or none."""
        encoded = []
        for i, (ref, sample) in enumerate(items):
            body, code = self.encode(sample, field_name=f"items[{i}].sample")
            encoded.append((ref, body, code))
        self.insert_encoded_many(encoded)

    def insert_encoded_many(self, items: Sequence[tuple[str, bytes, npt.NDArray[np.uint8]]]) -> None:
        """Enrol already-encoded persons (reference id, :func:`encode_templates` body, stage-1
        code): the shard RPC's path. Validated before anything is written."""
        records: list[PendingRecord] = []
        seen: set[str] = set()
        face_dim = self._store.manifest.face_dim
        for i, (ref, body, code) in enumerate(items):
            raw = check_reference_id(ref, f"items[{i}].reference_id")
            if ref in self._row_of or ref in seen:
                raise Conflict(
                    f"reference id {ref!r} is already in the gallery",
                    [FieldProblem(f"items[{i}].reference_id", "unique", f"{ref!r} is already enrolled")],
                )
            seen.add(ref)
            templates = decode_templates(body, field_name=f"items[{i}].body")
            if templates.face is not None:
                dim = int(templates.face.shape[0])
                if face_dim is not None and dim != face_dim:
                    raise invalid(
                        f"items[{i}].face",
                        "dimension",
                        f"face has {dim} values, the gallery stores {face_dim}",
                    )
                face_dim = dim
            c = np.asarray(code, dtype=np.uint8).reshape(-1)
            if c.shape[0] != self.code_bytes:
                raise invalid(
                    f"items[{i}].code",
                    "shape",
                    f"stage-1 code must be {self.code_bytes} bytes, got {c.shape[0]}",
                )
            records.append(PendingRecord(KIND_INSERT, raw, bytes(body), c))
        if not records:
            return
        if face_dim is not None:
            self._store.set_face_dim(face_dim)
        where = self._store.append(records)
        for rec, (seg, off, length) in zip(records, where, strict=True):
            ref = rec.reference.decode("utf-8")
            self._row_of[ref] = len(self._refs)
            self._refs.append(ref)
            self._seg.append(seg)
            self._off.append(off)
            self._len.append(length)
            self._live.append(1)
        self._index.add(np.stack([r.code for r in records if r.code is not None]))
        self._index_dirty = True

    def delete(self, reference_id: str) -> None:
        """Tombstone a person (durable on return); NotFound when not enrolled."""
        row = self._row(reference_id)
        self._store.append([PendingRecord(KIND_TOMBSTONE, check_reference_id(reference_id))])
        self._live[row] = 0
        del self._row_of[reference_id]

    def compact(self) -> dict[str, float]:
        """Rewrite the live records into one new segment and drop the old ones (tombstones and
        deleted records disappear). Crash-safe: see :mod:`.store`. Returns timings."""
        t0 = time.perf_counter()
        rows = [r for r in range(len(self._refs)) if self._live[r]]
        all_codes = (
            np.asarray(self._index.reconstruct_n(0, self._index.ntotal), dtype=np.uint8).reshape(
                -1, self.code_bytes
            )
            if rows
            else None
        )
        before = sum(s.log_bytes for s in self._store.manifest.segments)

        def live() -> Iterator[PendingRecord]:
            for r in rows:
                kind, ref, body = self._store.read(self._seg[r], self._off[r], self._len[r])
                assert all_codes is not None
                yield PendingRecord(kind, ref.encode("utf-8"), body, all_codes[r])

        where = self._store.rewrite(live())
        refs = [self._refs[r] for r in rows]
        self._refs = refs
        self._seg = array("q", [w[0] for w in where])
        self._off = array("q", [w[1] for w in where])
        self._len = array("q", [w[2] for w in where])
        self._live = bytearray([1]) * len(refs)
        self._row_of = {ref: i for i, ref in enumerate(refs)}
        self._index = _flat_index(
            all_codes[rows] if all_codes is not None else np.zeros((0, self.code_bytes), np.uint8)
        )
        self._index_dirty = True
        self.save_index()
        after = sum(s.log_bytes for s in self._store.manifest.segments)
        return {
            "seconds": time.perf_counter() - t0,
            "live": float(len(refs)),
            "bytes_before": before,
            "bytes_after": after,
        }

    # -- searching -------------------------------------------------------------------------

    def _calibration(self, calibration: Calibration | None) -> Calibration:
        cal = calibration or self.calibration
        if cal is None:
            raise invalid("calibration", "required", "searching needs a calibration (score → LLR models)")
        return cal

    def prepare(
        self, sample: BiometricSample, *, field_name: str = "probe"
    ) -> tuple[PreparedProbe, npt.NDArray[np.uint8]]:
        """The probe's templates and stage-1 code."""
        if self.encoder is None:
            raise invalid("encoder", "required", "this gallery was opened without a stage-1 encoder")
        prepared = prepare_probe(sample, field_name=field_name)
        code = np.asarray(self.encoder.encode(sample), dtype=np.uint8).reshape(-1)
        return prepared, code

    def scan(
        self,
        probe: PreparedProbe,
        code: npt.NDArray[np.uint8],
        *,
        subset: Sequence[str] | None = None,
        candidates: int | None = None,
        calibration: Calibration | None = None,
        modalities: Collection[str] | None = None,
    ) -> tuple[list[Hit], int]:
        """This gallery's local stage-1 top-K₁ with stage-2 scores (unranked) and how many ids of
        ``subset`` it holds (ids it does not hold are skipped: a shard sees part of a subset)."""
        k1 = _check_positive(candidates if candidates is not None else self.candidates, "candidates")
        cal = self._calibration(calibration)
        q = np.asarray(code, dtype=np.uint8).reshape(1, -1)
        if q.shape[1] != self.code_bytes:
            raise invalid("code", "shape", f"stage-1 code must be {self.code_bytes} bytes, got {q.shape[1]}")
        if subset is None:
            top = exact_top(self._index, q, k1, np.frombuffer(bytes(self._live), dtype=np.bool_), self._refs)[
                0
            ]
            held = len(self._row_of)
        else:
            if isinstance(subset, str):
                raise invalid("subset", "type", "subset must be a sequence of reference ids, not a string")
            rows = np.asarray(sorted({self._row_of[r] for r in subset if r in self._row_of}), dtype=np.int64)
            held = int(rows.size)
            codes = (
                np.stack([self._index.reconstruct(int(r)) for r in rows]).astype(np.uint8)
                if rows.size
                else np.zeros((0, self.code_bytes), np.uint8)
            )
            d = hamming_distances(codes, q[0])
            top = _order(rows, d, self._refs, k1)
        found = [(self._refs[r], d, self._read(r)) for r, d in top]
        return score_templates(probe, found, cal, modalities=modalities), held

    def identify(
        self,
        sample: BiometricSample | tuple[PreparedProbe, npt.NDArray[np.uint8]],
        *,
        subset: Sequence[str] | None = None,
        top_k: int = 10,
        candidates: int | None = None,
        calibration: Calibration | None = None,
        modalities: Collection[str] | None = None,
    ) -> list[Hit]:
        """1:N: stage 1 over the whole gallery (or over ``subset``, reference ids that must all be
        enrolled), stage 2 on the K₁ shortlist, the ``top_k`` by fused score, best first."""
        _check_positive(top_k, "top_k")
        probe, code = self.prepare(sample) if isinstance(sample, BiometricSample) else sample
        hits, held = self.scan(
            probe, code, subset=subset, candidates=candidates, calibration=calibration, modalities=modalities
        )
        if subset is not None and held < len(set(subset)):
            missing = sorted(set(subset) - set(self._row_of))[:3]
            raise NotFound(
                f"subset names reference ids that are not in the gallery, e.g. {missing}",
                [FieldProblem("subset", "unknown", f"not enrolled: {missing}")],
            )
        k1 = candidates if candidates is not None else self.candidates
        return merge_hits([hits], candidates=k1, top_k=top_k)

    def verify(
        self,
        reference_id: str,
        sample: BiometricSample | PreparedProbe,
        *,
        calibration: Calibration | None = None,
        thresholds: Thresholds | None = None,
        modalities: Collection[str] | None = None,
    ) -> VerifyResult:
        """1:1: the probe against the stored templates of ``reference_id`` (NotFound if absent)."""
        cal = self._calibration(calibration)
        probe = prepare_probe(sample, field_name="sample")
        stored = self.templates(reference_id)
        hits = score_templates(probe, [(reference_id, 0, stored)], cal, modalities=modalities)
        hit = hits[0] if hits else Hit(reference_id, 0, -math.inf)
        return VerifyResult(
            score=hit.score,
            finger_scores=hit.finger_scores,
            iris_scores=hit.iris_scores,
            face_score=hit.face_score,
            llr=hit.llr,
            decision=None if thresholds is None else decide(hit.score, thresholds),
        )
