"""Append-only, crash-safe record store under a persistent gallery (no biometrics logic here
beyond the template codec).

Directory layout
----------------
::

    GALLERY/
      manifest.json          committed state, replaced atomically
      seg-000001.log         framed records (insert or tombstone), append-only
      seg-000001.idx         one 80-byte entry per record of the .log (fast open without reading .log)
      seg-000001.codes       one CODE_BYTES stage-1 code per *insert* record of the .log
      stage1.faiss, stage1.json   saved stage-1 index and the segment counts it covers (a cache)
      LOCK                   flock of the single writer

Record frame (little-endian): ``u32 payload length | u32 CRC-32 of payload | payload``;
payload ``u8 kind (1 insert, 2 tombstone) | u8 reference id length | id (UTF-8, 1–64 bytes) |
body`` (empty for a tombstone). An insert's body is :func:`encode_templates` of the person's
templates: ``u8 body version | u8 MCC template version | u8 finger count | per finger
(u8 position, u32 length, FingerTemplate.to_bytes()) | u8 iris count | per eye (u8 eye, 256-byte
code, 256-byte mask) | u16 face dimension | float32 unit face vector``. The same body is the wire
format of the shard RPC (:mod:`ektp.abis.gallery.shard_server`).

Index entry (80 bytes): ``u8 kind | u8 id length | 64-byte id | u64 frame offset | u32 frame
length | 2 bytes padding``.

Commit protocol (what makes an insert *acknowledged*)
-----------------------------------------------------
1. append the frames to ``.log``, the entries to ``.idx``, the codes to ``.codes``;
2. ``fsync`` the three files;
3. write ``manifest.json.tmp`` with the new committed lengths, ``fsync`` it, ``os.replace`` it
   onto ``manifest.json`` and ``fsync`` the directory.

Only after step 3 returns is the batch acknowledged (one round per batch: ``append`` takes many
records). Bytes past a segment's committed lengths are never read: on open (writer mode) they are
truncated away, so a half-written frame, entry or code after a crash disappears. Compaction writes
the live records into a *new* segment (steps 1–2), then commits a manifest listing only that
segment (step 3), then deletes the old segment files; files no manifest names (a compaction or a
new segment killed before its commit) are deleted on the next writer open. A frame inside the
committed range whose CRC does not match is corruption, reported with the segment and offset.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import mmap
import os
import struct
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ektp.abis.engine import EYES, PreparedProbe
from ektp.abis.match import fingerprint as fp
from ektp.abis.types import IRIS_CODE_BYTES, EyePosition, FingerPosition, IrisCode
from ektp.kit.errors import invalid

__all__ = [
    "ENTRY_DTYPE",
    "KIND_INSERT",
    "KIND_TOMBSTONE",
    "MANIFEST_FORMAT",
    "MAX_REFERENCE_BYTES",
    "CorruptStore",
    "Manifest",
    "PendingRecord",
    "SegmentState",
    "Store",
    "check_reference_id",
    "decode_templates",
    "encode_templates",
    "fsync_dir",
    "write_json_atomic",
]

MANIFEST_FORMAT = "ektp.abis.persistent-gallery"
MANIFEST_VERSION = 1
KIND_INSERT = 1
KIND_TOMBSTONE = 2
MAX_REFERENCE_BYTES = 64
_BODY_VERSION = 1
_FRAME = struct.Struct("<II")
_PAYLOAD_HEAD = struct.Struct("<BB")
ENTRY_DTYPE = np.dtype(
    [
        ("kind", "u1"),
        ("ref_len", "u1"),
        ("ref", f"S{MAX_REFERENCE_BYTES}"),
        ("offset", "<u8"),
        ("length", "<u4"),
        ("pad", "<u2"),
    ]
)
assert ENTRY_DTYPE.itemsize == 80


class CorruptStore(Exception):
    """Committed bytes that do not read back (CRC mismatch, short file, bad manifest)."""


# ------------------------------------------------------------------------------------------
# template codec (record body and RPC payload)
# ------------------------------------------------------------------------------------------


def check_reference_id(reference_id: object, field_name: str = "reference_id") -> bytes:
    """The UTF-8 bytes of an opaque reference id (1–64 bytes, printable, no NIK or name inside
    the ABIS is the caller's duty); a clear error otherwise."""
    if not isinstance(reference_id, str) or not reference_id:
        raise invalid(
            field_name, "required", f"{field_name} must be a non-empty string, got {reference_id!r}"
        )
    raw = reference_id.encode("utf-8")
    if len(raw) > MAX_REFERENCE_BYTES:
        raise invalid(
            field_name,
            "max_bytes",
            f"{field_name} is {len(raw)} bytes of UTF-8; at most {MAX_REFERENCE_BYTES}",
        )
    if not reference_id.isprintable():
        raise invalid(field_name, "printable", f"{field_name} must not contain control characters")
    return raw


def encode_templates(templates: PreparedProbe) -> bytes:
    """Serialise a person's templates (see the module docstring); the face is stored as the unit
    float32 vector :func:`ektp.abis.engine.prepare_probe` made, so scores read back bit-identical."""
    parts: list[bytes] = [bytes([_BODY_VERSION, fp.TEMPLATE_FORMAT_VERSION, len(templates.fingers)])]
    for pos in sorted(templates.fingers, key=int):
        blob = templates.fingers[pos].to_bytes()
        parts.append(struct.pack("<BI", int(pos), len(blob)))
        parts.append(blob)
    parts.append(bytes([len(templates.irises)]))
    for eye in sorted(templates.irises, key=int):
        code = templates.irises[eye]
        parts.append(bytes([int(eye)]))
        parts.append(np.ascontiguousarray(code.code, dtype=np.uint8).tobytes())
        parts.append(np.ascontiguousarray(code.mask, dtype=np.uint8).tobytes())
    face = templates.face
    if face is None:
        parts.append(struct.pack("<H", 0))
    else:
        vec = np.ascontiguousarray(face, dtype="<f4")
        if vec.ndim != 1 or not 0 < vec.shape[0] < 65536:
            raise invalid(
                "face", "dimension", f"face vector must be 1-d with < 65536 values, got {vec.shape}"
            )
        parts.append(struct.pack("<H", vec.shape[0]))
        parts.append(vec.tobytes())
    return b"".join(parts)


def decode_templates(data: bytes | memoryview, *, field_name: str = "body") -> PreparedProbe:
    """Inverse of :func:`encode_templates`; malformed input raises ``ValidationFailed`` naming the
    byte offset and the part."""
    buf = bytes(data)
    pos = 0

    def need(n: int, what: str) -> int:
        nonlocal pos
        if pos + n > len(buf):
            raise invalid(field_name, "truncated", f"{field_name}: {what} at byte {pos} needs {n} bytes")
        start = pos
        pos += n
        return start

    at = need(3, "header")
    version, tversion, n_fingers = buf[at], buf[at + 1], buf[at + 2]
    if version != _BODY_VERSION:
        raise invalid(
            field_name, "version", f"{field_name}: body version {version}, expected {_BODY_VERSION}"
        )
    if tversion != fp.TEMPLATE_FORMAT_VERSION:
        raise invalid(
            field_name,
            "template_version",
            f"{field_name}: MCC template version {tversion} is not {fp.TEMPLATE_FORMAT_VERSION}; re-enrol",
        )
    fingers: dict[FingerPosition, fp.FingerTemplate] = {}
    for _ in range(n_fingers):
        at = need(5, "finger header")
        position, length = struct.unpack_from("<BI", buf, at)
        if position > 10 or FingerPosition(position) in fingers:
            raise invalid(
                field_name, "finger_position", f"{field_name}: bad/duplicate finger {position} at {at}"
            )
        at = need(length, f"finger {position} template")
        try:
            fingers[FingerPosition(position)] = fp.FingerTemplate.from_bytes(buf[at : at + length])
        except ValueError as exc:
            raise invalid(
                field_name, "finger_template", f"{field_name}: finger {position} at byte {at}: {exc}"
            ) from None
    at = need(1, "iris count")
    irises: dict[EyePosition, IrisCode] = {}
    for _ in range(buf[at]):
        at = need(1 + 2 * IRIS_CODE_BYTES, "iris")
        eye = buf[at]
        if eye not in (1, 2) or EyePosition(eye) in irises:
            raise invalid(field_name, "eye", f"{field_name}: bad/duplicate eye {eye} at byte {at}")
        code = np.frombuffer(buf, np.uint8, IRIS_CODE_BYTES, at + 1).copy()
        mask = np.frombuffer(buf, np.uint8, IRIS_CODE_BYTES, at + 1 + IRIS_CODE_BYTES).copy()
        irises[EyePosition(eye)] = IrisCode(code=code, mask=mask, eye=EyePosition(eye))
    at = need(2, "face dimension")
    (dim,) = struct.unpack_from("<H", buf, at)
    face = None
    if dim:
        at = need(4 * dim, "face vector")
        face = np.frombuffer(buf, "<f4", dim, at).astype(np.float32)
    if pos != len(buf):
        raise invalid(field_name, "trailing", f"{field_name}: {len(buf) - pos} unexpected bytes at {pos}")
    return PreparedProbe(fingers=fingers, irises=dict(sorted(irises.items())), face=face)


_ = EYES  # the eye order of the engine is the one encode_templates sorts by (RIGHT=1, LEFT=2)


# ------------------------------------------------------------------------------------------
# files
# ------------------------------------------------------------------------------------------


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, doc: dict[str, Any]) -> None:
    """temp file + fsync + os.replace + fsync of the directory."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(json.dumps(doc, indent=1, sort_keys=True).encode())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


@dataclass
class SegmentState:
    """Committed lengths of one segment: ``log_bytes`` of frames, ``entries`` index entries (one
    per record), ``codes`` stage-1 codes (one per insert record)."""

    id: int
    log_bytes: int = 0
    entries: int = 0
    codes: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"id": self.id, "log_bytes": self.log_bytes, "entries": self.entries, "codes": self.codes}


@dataclass
class Manifest:
    code_bytes: int
    encoder: str
    face_dim: int | None = None
    next_segment: int = 1
    generation: int = 0
    segments: list[SegmentState] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "version": MANIFEST_VERSION,
            "code_bytes": self.code_bytes,
            "encoder": self.encoder,
            "face_dim": self.face_dim,
            "next_segment": self.next_segment,
            "generation": self.generation,
            "segments": [s.as_dict() for s in self.segments],
        }

    @classmethod
    def from_dict(cls, doc: Any, source: str) -> Manifest:
        try:
            if doc["format"] != MANIFEST_FORMAT or int(doc["version"]) != MANIFEST_VERSION:
                raise CorruptStore(f"{source}: not a {MANIFEST_FORMAT} v{MANIFEST_VERSION} manifest")
            return cls(
                code_bytes=int(doc["code_bytes"]),
                encoder=str(doc["encoder"]),
                face_dim=None if doc["face_dim"] is None else int(doc["face_dim"]),
                next_segment=int(doc["next_segment"]),
                generation=int(doc["generation"]),
                segments=[
                    SegmentState(int(s["id"]), int(s["log_bytes"]), int(s["entries"]), int(s["codes"]))
                    for s in doc["segments"]
                ],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptStore(f"{source}: malformed manifest ({exc})") from None

    def stamp(self) -> list[list[int]]:
        """What a stage-1 index built from the codes covers: (segment id, codes) per segment."""
        return [[s.id, s.codes] for s in self.segments]


@dataclass(frozen=True)
class PendingRecord:
    """A record to append: ``code`` is required for an insert and absent for a tombstone."""

    kind: int
    reference: bytes
    body: bytes = b""
    code: npt.NDArray[np.uint8] | None = None


def _frame(record: PendingRecord) -> bytes:
    payload = _PAYLOAD_HEAD.pack(record.kind, len(record.reference)) + record.reference + record.body
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def _seg_path(directory: Path, seg_id: int, ext: str) -> Path:
    return directory / f"seg-{seg_id:06d}.{ext}"


class Store:
    """The segment files and the manifest of one gallery directory. One writer (``flock``) or any
    number of readers (``readonly=True``: nothing is truncated, deleted or locked; only the
    committed ranges of the manifest read at open are visible)."""

    def __init__(
        self,
        directory: Path,
        manifest: Manifest,
        *,
        readonly: bool,
        lock_fd: int | None,
        segment_bytes: int,
    ) -> None:
        self.directory = directory
        self.manifest = manifest
        self.readonly = readonly
        self._lock_fd = lock_fd
        self.segment_bytes = segment_bytes
        self._maps: dict[int, tuple[mmap.mmap | None, int]] = {}
        self._files: dict[int, tuple[Any, Any, Any]] = {}

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        directory: str | Path,
        *,
        code_bytes: int | None,
        encoder: str | None,
        create: bool = True,
        readonly: bool = False,
        segment_bytes: int = 256 << 20,
    ) -> Store:
        path = Path(directory)
        manifest_path = path / "manifest.json"
        if not manifest_path.exists():
            if readonly or not create:
                raise invalid("path", "not_a_gallery", f"{path}: no manifest.json (not a persistent gallery)")
            if code_bytes is None or encoder is None:
                raise invalid("encoder", "required", "a new gallery needs a stage-1 encoder")
            path.mkdir(parents=True, exist_ok=True)
            # an empty gallery dir may hold files from a crash before the first commit: start clean
            for stray in path.glob("seg-*"):
                stray.unlink()
            write_json_atomic(manifest_path, Manifest(code_bytes=code_bytes, encoder=encoder).as_dict())
        lock_fd = None
        if not readonly:
            lock_fd = os.open(path / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(lock_fd)
                raise invalid(
                    "path", "locked", f"{path}: another process has the gallery open for writing"
                ) from None
        try:
            doc = json.loads(manifest_path.read_bytes())
        except (OSError, ValueError) as exc:
            raise CorruptStore(f"{manifest_path}: unreadable ({exc})") from None
        manifest = Manifest.from_dict(doc, str(manifest_path))
        if code_bytes is not None and manifest.code_bytes != code_bytes:
            raise invalid(
                "encoder",
                "code_bytes",
                f"gallery codes are {manifest.code_bytes} bytes, the encoder makes {code_bytes}",
            )
        if encoder is not None and manifest.encoder != encoder:
            raise invalid(
                "encoder", "mismatch", f"gallery was built with encoder {manifest.encoder!r}, not {encoder!r}"
            )
        store = cls(path, manifest, readonly=readonly, lock_fd=lock_fd, segment_bytes=segment_bytes)
        store._check_files()
        return store

    @classmethod
    def reader(cls, directory: Path, manifest: Manifest) -> Store:
        """A read-only view of the segments of a manifest *snapshot* (e.g. a Spark task's
        partition): only the lengths in ``manifest`` are read; nothing is checked or locked."""
        return cls(directory, manifest, readonly=True, lock_fd=None, segment_bytes=0)

    def _check_files(self) -> None:
        """Each committed length must be on disk; a writer cuts what lies past it and deletes
        files the manifest does not name."""
        named: set[str] = set()
        sizes = {
            "log": lambda s: s.log_bytes,
            "idx": lambda s: s.entries * ENTRY_DTYPE.itemsize,
            "codes": lambda s: s.codes * self.manifest.code_bytes,
        }
        for seg in self.manifest.segments:
            for ext, size_of in sizes.items():
                p = _seg_path(self.directory, seg.id, ext)
                named.add(p.name)
                want = size_of(seg)
                have = p.stat().st_size if p.exists() else -1
                if have < want:
                    raise CorruptStore(f"{p}: {have} bytes on disk, the manifest committed {want}")
                if have > want and not self.readonly:
                    with open(p, "r+b") as fh:
                        fh.truncate(want)
                        os.fsync(fh.fileno())
        if not self.readonly:
            for p in list(self.directory.glob("seg-*")) + list(self.directory.glob("*.tmp")):
                if p.name not in named:
                    p.unlink()
            fsync_dir(self.directory)

    def close(self) -> None:
        for mm, _ in self._maps.values():
            if mm is not None:
                mm.close()
        self._maps.clear()
        for files in self._files.values():
            for fh in files:
                fh.close()
        self._files.clear()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- reading ---------------------------------------------------------------------------

    def entries(self, seg: SegmentState) -> npt.NDArray[np.void]:
        p = _seg_path(self.directory, seg.id, "idx")
        return np.fromfile(p, dtype=ENTRY_DTYPE, count=seg.entries)

    def codes(self, seg: SegmentState) -> npt.NDArray[np.uint8]:
        p = _seg_path(self.directory, seg.id, "codes")
        b = self.manifest.code_bytes
        return np.fromfile(p, dtype=np.uint8, count=seg.codes * b).reshape(seg.codes, b)

    def _map(self, seg_id: int, need: int) -> mmap.mmap:
        mm, size = self._maps.get(seg_id, (None, 0))
        if mm is None or size < need:
            if mm is not None:
                mm.close()
            with open(_seg_path(self.directory, seg_id, "log"), "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                mm = mmap.mmap(fh.fileno(), size, access=mmap.ACCESS_READ)
            self._maps[seg_id] = (mm, size)
        assert mm is not None
        return mm

    def read(self, seg_id: int, offset: int, length: int) -> tuple[int, str, bytes]:
        """(kind, reference id, body) of the frame at ``offset``; CRC checked. The frame is
        copied out of the memory map (a few kB), so no view outlives a remap."""
        mm = self._map(seg_id, offset + length)
        frame = mm[offset : offset + length]
        size, crc = _FRAME.unpack_from(frame, 0)
        payload = frame[_FRAME.size :]
        where = f"seg-{seg_id:06d}.log at byte {offset}"
        if size != length - _FRAME.size or zlib.crc32(payload) != crc:
            raise CorruptStore(f"{where}: frame length or CRC-32 does not match (corrupted record)")
        kind, ref_len = _PAYLOAD_HEAD.unpack_from(payload, 0)
        ref = bytes(payload[2 : 2 + ref_len]).decode("utf-8")
        return kind, ref, payload[2 + ref_len :]

    # -- writing ---------------------------------------------------------------------------

    def _writable(self) -> None:
        if self.readonly:
            raise invalid("gallery", "readonly", "the gallery was opened read-only")

    def _active(self) -> SegmentState:
        segs = self.manifest.segments
        if not segs or segs[-1].log_bytes >= self.segment_bytes:
            seg = SegmentState(self.manifest.next_segment)
            self.manifest.next_segment += 1
            segs.append(seg)
        return segs[-1]

    def _handles(self, seg: SegmentState) -> tuple[Any, Any, Any]:
        if seg.id not in self._files:
            self._files[seg.id] = tuple(  # type: ignore[assignment]
                open(_seg_path(self.directory, seg.id, ext), "ab")  # noqa: SIM115 (kept open across appends)
                for ext in ("log", "idx", "codes")
            )
        return self._files[seg.id]

    def append(self, records: Sequence[PendingRecord]) -> list[tuple[int, int, int]]:
        """Append and commit ``records`` (one fsync round, then the manifest). Returns, per
        record, (segment id, frame offset, frame length). When this returns they are durable."""
        self._writable()
        if not records:
            return []
        seg = self._active()
        log, idx, codes = self._handles(seg)
        frames = [_frame(r) for r in records]
        entries = np.zeros(len(records), dtype=ENTRY_DTYPE)
        where: list[tuple[int, int, int]] = []
        offset = seg.log_bytes
        code_rows: list[npt.NDArray[np.uint8]] = []
        for i, (rec, frame) in enumerate(zip(records, frames, strict=True)):
            entries[i] = (rec.kind, len(rec.reference), rec.reference, offset, len(frame), 0)
            where.append((seg.id, offset, len(frame)))
            offset += len(frame)
            if rec.kind == KIND_INSERT:
                if rec.code is None or rec.code.shape != (self.manifest.code_bytes,):
                    raise invalid(
                        "code", "shape", f"an insert needs a {self.manifest.code_bytes}-byte stage-1 code"
                    )
                code_rows.append(rec.code)
        # a failed write leaves bytes past the committed lengths: cut them before the next append
        try:
            log.write(b"".join(frames))
            idx.write(entries.tobytes())
            if code_rows:
                codes.write(np.stack(code_rows).astype(np.uint8, copy=False).tobytes())
            for fh in (log, idx, codes):
                fh.flush()
                os.fsync(fh.fileno())
        except OSError:
            self._rollback(seg)
            raise
        seg.log_bytes = offset
        seg.entries += len(records)
        seg.codes += len(code_rows)
        self.manifest.generation += 1
        write_json_atomic(self.directory / "manifest.json", self.manifest.as_dict())
        return where

    def _rollback(self, seg: SegmentState) -> None:
        files = self._files.pop(seg.id, None)
        if files:
            for fh in files:
                with contextlib.suppress(OSError):
                    fh.close()
        for ext, size in (
            ("log", seg.log_bytes),
            ("idx", seg.entries * ENTRY_DTYPE.itemsize),
            ("codes", seg.codes * self.manifest.code_bytes),
        ):
            with contextlib.suppress(OSError), open(_seg_path(self.directory, seg.id, ext), "r+b") as fh:
                fh.truncate(size)

    def set_face_dim(self, dim: int) -> None:
        """Record the face dimension (committed with the next append)."""
        self.manifest.face_dim = dim

    def rewrite(self, live: Iterable[PendingRecord]) -> list[tuple[int, int, int]]:
        """Compaction: write ``live`` records (inserts) into one new segment, commit a manifest
        listing only it, delete the old segments. Returns the new locations in ``live`` order."""
        self._writable()
        old = list(self.manifest.segments)
        for files in self._files.values():
            for fh in files:
                fh.close()
        self._files.clear()
        seg = SegmentState(self.manifest.next_segment)
        paths = [_seg_path(self.directory, seg.id, ext) for ext in ("log", "idx", "codes")]
        where: list[tuple[int, int, int]] = []
        with open(paths[0], "wb") as log, open(paths[1], "wb") as idx, open(paths[2], "wb") as codes:
            batch_frames: list[bytes] = []
            batch_entries: list[tuple[int, int, bytes, int, int, int]] = []
            batch_codes: list[bytes] = []

            def flush() -> None:
                log.write(b"".join(batch_frames))
                idx.write(np.array(batch_entries, dtype=ENTRY_DTYPE).tobytes())
                codes.write(b"".join(batch_codes))
                batch_frames.clear()
                batch_entries.clear()
                batch_codes.clear()

            for rec in live:
                if rec.kind != KIND_INSERT or rec.code is None:
                    raise invalid("live", "insert", "compaction rewrites insert records only")
                frame = _frame(rec)
                batch_frames.append(frame)
                batch_entries.append(
                    (KIND_INSERT, len(rec.reference), rec.reference, seg.log_bytes, len(frame), 0)
                )
                batch_codes.append(rec.code.astype(np.uint8, copy=False).tobytes())
                where.append((seg.id, seg.log_bytes, len(frame)))
                seg.log_bytes += len(frame)
                seg.entries += 1
                seg.codes += 1
                if len(batch_frames) >= 4096:
                    flush()
            flush()
            for fh in (log, idx, codes):
                fh.flush()
                os.fsync(fh.fileno())
        fsync_dir(self.directory)
        self.manifest.next_segment = seg.id + 1
        self.manifest.segments = [seg]
        self.manifest.generation += 1
        write_json_atomic(self.directory / "manifest.json", self.manifest.as_dict())
        for mm, _ in self._maps.values():
            if mm is not None:
                mm.close()
        self._maps.clear()
        for s in old:
            for ext in ("log", "idx", "codes"):
                with contextlib.suppress(FileNotFoundError):
                    _seg_path(self.directory, s.id, ext).unlink()
        fsync_dir(self.directory)
        return where
