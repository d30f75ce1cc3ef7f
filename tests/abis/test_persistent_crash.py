"""kill -9 during inserts, deletes and compaction: the reopened gallery holds every acknowledged
change and nothing half-written.

Precisely: the child prints a line only after the operation returned (records + manifest
fsynced). After SIGKILL the reopened gallery's live set must equal the acknowledged state, or the
acknowledged state with the *one* operation in flight applied as a whole (its commit finished but
the print did not happen) — for a batch insert, all of its ids or none. Every live record must read
back with a valid CRC and decode to exactly the templates that were inserted, and no file outside
the manifest may remain."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ektp.abis.engine import prepare_probe
from ektp.abis.gallery.persistent import PersistentGallery
from ektp.abis.gallery.store import encode_templates

from .gallery_support import FaceSimHash, tiny_sample

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import sys
from ektp.abis.gallery.persistent import PersistentGallery
from tests.abis.gallery_support import FaceSimHash, tiny_sample

path, mode = sys.argv[1], sys.argv[2]
g = PersistentGallery.open(path, encoder=FaceSimHash(), segment_bytes=int(sys.argv[3]))
print("ready", flush=True)
i = g.count() + 1000 if mode == "compact" else 0
j = 0
while True:
    size = 1 + j % 3
    refs = [f"R{i + n:06d}" for n in range(size)]
    print("begin", *refs, flush=True)
    g.insert_many([(r, tiny_sample(int(r[1:]), fingers=1)) for r in refs])
    print("I", *refs, flush=True)
    i += size
    j += 1
    if mode == "compact":
        victim = g.reference_ids()[j % 7]
        print("begin-delete", victim, flush=True)
        g.delete(victim)
        print("D", victim, flush=True)
        print("C start", flush=True)
        g.compact()
        print("C done", flush=True)
"""


def _run_and_kill(path: Path, mode: str, delay: float, *, after: str | None, segment_bytes: int) -> list[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), mode, str(segment_bytes)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    lines: list[str] = []
    seen = threading.Event()
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("ready"):
                ready.set()
            if after is not None and line.startswith(after):
                seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert ready.wait(60), f"child did not start: {proc.stderr.read() if proc.stderr else ''}"
    if after is not None:
        assert seen.wait(30), "child never reached the kill point"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    reader.join(10)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    return lines


def _expected(lines: list[str], before: set[str]) -> tuple[set[str], set[str]]:
    """(acknowledged live set, the set with the in-flight operation applied)."""
    live = set(before)
    pending: tuple[str, list[str]] | None = None
    for line in lines:
        word, *refs = line.split()
        if word == "begin":
            pending = ("insert", refs)
        elif word == "begin-delete":
            pending = ("delete", refs)
        elif word == "I":
            live |= set(refs)
            pending = None
        elif word == "D":
            live -= set(refs)
            pending = None
    applied = set(live)
    if pending is not None:
        kind, refs = pending
        applied = applied | set(refs) if kind == "insert" else applied - set(refs)
    return live, applied


def _check_reopened(path: Path, acked: set[str], applied: set[str]) -> None:
    with PersistentGallery.open(path, encoder=FaceSimHash()) as g:
        present = set(g.reference_ids())
        assert present in (acked, applied), (
            f"lost {sorted(acked - present)[:5]} / unexpected {sorted(present - applied)[:5]}"
        )
        assert g.count() == len(present)
        for ref in present:  # every record reads back whole (CRC) and is what was inserted
            want = encode_templates(prepare_probe(tiny_sample(int(ref[1:]), fingers=1)))
            assert encode_templates(g.templates(ref)) == want
        named = {f"seg-{s.id:06d}.{ext}" for s in g.manifest.segments for ext in ("log", "idx", "codes")}
        on_disk = {p.name for p in path.glob("seg-*")}
        assert on_disk == named
        assert not list(path.glob("*.tmp"))


class TestKillDuringInsert:
    @pytest.mark.parametrize("delay", [0.0, 0.11, 0.37])
    def test_every_acknowledged_insert_survives_and_nothing_half_written_is_visible(
        self, tmp_path: Path, delay: float
    ) -> None:
        rng = random.Random(int(delay * 1000))
        path = tmp_path / "g"
        # small segments so that kills also land around segment rollover
        lines = _run_and_kill(path, "insert", delay + rng.uniform(0, 0.05), after=None, segment_bytes=20_000)
        acked, applied = _expected(lines, set())
        _check_reopened(path, acked, applied)
        # the gallery keeps working after recovery: append and reopen again
        with PersistentGallery.open(path, encoder=FaceSimHash()) as g:
            g.insert("Z000001", tiny_sample(1, fingers=1))
        with PersistentGallery.open(path, encoder=FaceSimHash()) as g:
            assert "Z000001" in g


class TestKillDuringCompaction:
    @pytest.mark.parametrize("delay", [0.0, 0.008])
    def test_compaction_killed_leaves_acknowledged_state(self, tmp_path: Path, delay: float) -> None:
        path = tmp_path / "g"
        with PersistentGallery.open(path, encoder=FaceSimHash(), segment_bytes=50_000) as g:
            g.insert_many([(f"R{i:06d}", tiny_sample(i, fingers=1)) for i in range(120)])
            for i in range(0, 120, 4):
                g.delete(f"R{i:06d}")
            before = set(g.reference_ids())
        lines = _run_and_kill(path, "compact", delay, after="C start", segment_bytes=50_000)
        acked, applied = _expected(lines, before)
        _check_reopened(path, acked, applied)
