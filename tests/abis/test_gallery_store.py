"""The append-only store and the persistent gallery: framing, CRC, uncommitted tails, tombstones,
compaction, reopen, exact stage 1, subset identify and verify."""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
import pytest

from ektp.abis.engine import build_gallery, identify, prepare_probe
from ektp.abis.evaluate import fit_from_synth
from ektp.abis.fusion import Calibration
from ektp.abis.gallery.persistent import PersistentGallery, exact_top, hamming_distances, merge_hits
from ektp.abis.gallery.store import CorruptStore, decode_templates, encode_templates
from ektp.abis.synth import Population, make_population, make_probes
from ektp.kit.errors import Conflict, NotFound, ValidationFailed

from .gallery_support import FaceSimHash, tiny_sample

N = 40


@pytest.fixture(scope="module")
def calibration() -> Calibration:
    return fit_from_synth(60, seed=5, n_probes=30, impostors_per_probe=10)


@pytest.fixture(scope="module")
def population() -> Population:
    return make_population(N, seed=21)


def _open(path: Path, **kw: object) -> PersistentGallery:
    return PersistentGallery.open(path, encoder=FaceSimHash(), **kw)  # type: ignore[arg-type]


class TestCodec:
    def test_templates_round_trip_bit_exact(self) -> None:
        t = prepare_probe(tiny_sample(3))
        assert encode_templates(decode_templates(encode_templates(t))) == encode_templates(t)

    def test_truncated_body_names_the_offset(self) -> None:
        body = encode_templates(prepare_probe(tiny_sample(3)))
        with pytest.raises(ValidationFailed, match="at byte"):
            decode_templates(body[:-3])


class TestStore:
    def test_reference_ids_are_opaque_short_strings(self, tmp_path: Path) -> None:
        with _open(tmp_path) as g:
            with pytest.raises(ValidationFailed, match="at most 64"):
                g.insert("x" * 65, tiny_sample(1))
            with pytest.raises(ValidationFailed, match="non-empty"):
                g.insert("", tiny_sample(1))
            g.insert("A", tiny_sample(1))
            with pytest.raises(Conflict):
                g.insert("A", tiny_sample(2))
            assert g.count() == 1

    def test_uncommitted_tail_is_cut_on_reopen(self, tmp_path: Path) -> None:
        with _open(tmp_path) as g:
            g.insert_many([(f"R{i}", tiny_sample(i)) for i in range(5)])
        seg = next(tmp_path.glob("seg-*.log"))
        size = seg.stat().st_size
        with open(seg, "ab") as fh:  # a half-written frame after the committed length
            fh.write(b"\x10\x00\x00\x00garbage")
        (tmp_path / "seg-000099.log").write_bytes(b"orphan of a killed compaction")
        with _open(tmp_path) as g:
            assert g.count() == 5
        assert seg.stat().st_size == size
        assert not (tmp_path / "seg-000099.log").exists()

    def test_corrupted_committed_record_is_reported_with_its_offset(self, tmp_path: Path) -> None:
        with _open(tmp_path) as g:
            g.insert_many([(f"R{i}", tiny_sample(i)) for i in range(3)])
        seg = next(tmp_path.glob("seg-*.log"))
        data = bytearray(seg.read_bytes())
        data[100] ^= 0xFF
        seg.write_bytes(bytes(data))
        with _open(tmp_path) as g, pytest.raises(CorruptStore, match="CRC"):
            g.templates("R0")

    def test_short_committed_file_refuses_to_open(self, tmp_path: Path) -> None:
        with _open(tmp_path) as g:
            g.insert("R", tiny_sample(1))
        seg = next(tmp_path.glob("seg-*.log"))
        seg.write_bytes(seg.read_bytes()[:-5])
        with pytest.raises(CorruptStore, match="committed"):
            _open(tmp_path)

    def test_second_writer_is_refused(self, tmp_path: Path) -> None:
        with _open(tmp_path), pytest.raises(ValidationFailed, match="another process"):
            _open(tmp_path)

    def test_delete_tombstones_and_compaction_drops_them(self, tmp_path: Path) -> None:
        with _open(tmp_path, segment_bytes=8_000) as g:
            g.insert_many([(f"R{i}", tiny_sample(i)) for i in range(12)])
            g.insert_many([(f"S{i}", tiny_sample(100 + i)) for i in range(12)])
            assert len(g.manifest.segments) >= 2
            for ref in ("R1", "S5", "R7"):
                g.delete(ref)
            with pytest.raises(NotFound):
                g.delete("R1")
            g.insert("R1", tiny_sample(55))  # re-enrol after delete
        with _open(tmp_path) as g:
            assert g.count() == 22
            assert "S5" not in g
            assert "R1" in g
            assert encode_templates(g.templates("R1")) == encode_templates(prepare_probe(tiny_sample(55)))
            stats = g.compact()
            assert stats["bytes_after"] < stats["bytes_before"]
            assert len(g.manifest.segments) == 1
            g.insert("T", tiny_sample(77))
        with _open(tmp_path) as g:
            assert g.open_stats.index == "loaded"
            assert g.count() == 23
            assert sorted(g.reference_ids()) == sorted(
                [f"R{i}" for i in range(12) if i != 7] + [f"S{i}" for i in range(12) if i != 5] + ["T"]
            )
        assert len(list(tmp_path.glob("seg-*"))) == 3

    def test_stale_saved_index_is_rebuilt(self, tmp_path: Path) -> None:
        with _open(tmp_path) as g:
            g.insert_many([(f"R{i}", tiny_sample(i)) for i in range(4)])
        stamp = tmp_path / "stage1.json"
        stamp.write_text(json.dumps({"segments": [], "code_bytes": 32}))
        with _open(tmp_path) as g:
            assert g.open_stats.index == "rebuilt"
            assert g.count() == 4


class TestExactStage1:
    def test_ties_at_the_cut_are_broken_by_reference_id(self) -> None:
        rng = np.random.default_rng(1)
        codes = rng.integers(0, 256, (300, 8)).astype(np.uint8)
        codes[100:140] = codes[0]  # 41 rows at distance 0 from the query
        keys = [f"K{(i * 7919) % 1000:04d}" for i in range(300)]
        index = faiss.IndexBinaryFlat(64)
        index.add(codes)
        live = np.ones(300, dtype=np.bool_)
        live[[0, 120]] = False
        top = exact_top(index, codes[:1], 10, live, keys)[0]
        tied = sorted((keys[r], r) for r in range(100, 140) if live[r])
        assert [r for r, _ in top] == [r for _, r in tied[:10]]
        d = hamming_distances(codes, codes[0])
        full = sorted((int(d[r]), keys[r], r) for r in range(300) if live[r])[:50]
        assert [(r, dd) for dd, _, r in full] == exact_top(index, codes[:1], 50, live, keys)[0]


class TestSearch:
    def test_identify_equals_the_exhaustive_engine_when_k1_covers_the_gallery(
        self, tmp_path: Path, calibration: Calibration, population: Population
    ) -> None:
        items = list(zip(population.reference_ids, population.gallery, strict=True))
        engine_gallery = build_gallery(items)
        with _open(tmp_path, calibration=calibration, candidates=N) as g:
            g.insert_many(items)
            for p in make_probes(population, 3, 2, seed=3, hard_fraction=0.0):
                ours = g.identify(p.sample, top_k=5)
                theirs = identify(engine_gallery, p.sample, calibration, top_k=5)
                assert [h.reference_id for h in ours] == [c.reference_id for c in theirs]
                assert np.allclose([h.score for h in ours], [c.score for c in theirs], rtol=0, atol=1e-6)
                if p.mate_id is not None:
                    assert ours[0].reference_id == p.mate_id

    def test_subset_restricts_the_search_and_unknown_ids_are_named(
        self, tmp_path: Path, calibration: Calibration, population: Population
    ) -> None:
        items = list(zip(population.reference_ids, population.gallery, strict=True))
        with _open(tmp_path, calibration=calibration, candidates=10) as g:
            g.insert_many(items)
            probe = make_probes(population, 1, 0, seed=8, hard_fraction=0.0)[0]
            assert probe.mate_id is not None
            others = [r for r in population.reference_ids if r != probe.mate_id][:15]
            hits = g.identify(probe.sample, subset=others, top_k=20)
            assert {h.reference_id for h in hits} <= set(others)
            assert len(hits) == 10
            assert (
                g.identify(probe.sample, subset=[*others, probe.mate_id], top_k=1)[0].reference_id
                == probe.mate_id
            )
            with pytest.raises(NotFound, match="subset"):
                g.identify(probe.sample, subset=["NOPE"])

    def test_verify_scores_mate_high_and_stranger_low(
        self, tmp_path: Path, calibration: Calibration, population: Population
    ) -> None:
        with _open(tmp_path, calibration=calibration) as g:
            g.insert_many(list(zip(population.reference_ids[:5], population.gallery[:5], strict=True)))
            assert g.verify("G000002", population.gallery[1]).score > 40
            assert g.verify("G000002", population.gallery[2]).score < 0
            with pytest.raises(NotFound):
                g.verify("G000009", population.gallery[1])

    def test_merge_keeps_the_global_stage1_cut(self) -> None:
        from ektp.abis.gallery.persistent import Hit

        a = [Hit("A", 5, 1.0), Hit("B", 9, 50.0)]
        b = [Hit("C", 5, 2.0), Hit("D", 7, 3.0)]
        merged = merge_hits([a, b], candidates=3, top_k=5)
        assert [h.reference_id for h in merged] == ["D", "C", "A"]
        assert [h.rank for h in merged] == [1, 2, 3]
