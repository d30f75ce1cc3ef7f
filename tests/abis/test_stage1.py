"""Stage-1 binary codes and the faiss index over them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from ektp.abis.gallery import stage1 as s1
from ektp.abis.match.iris import rotate_iris
from ektp.abis.synth import Population, Probe, make_population, make_probes, mate_rows
from ektp.abis.types import BiometricSample, EyePosition, IrisCode
from ektp.kit.errors import ValidationFailed

N = 300


@pytest.fixture(scope="module")
def population() -> Population:
    return make_population(N, seed=31)


@pytest.fixture(scope="module")
def probes(population: Population) -> tuple[Probe, ...]:
    return make_probes(population, 120, 30, seed=32, hard_fraction=0.0)


@pytest.fixture(scope="module")
def gallery_codes(population: Population) -> tuple[np.ndarray, np.ndarray]:
    return s1.encode_many(population.gallery)


@pytest.fixture(scope="module")
def index(gallery_codes: tuple[np.ndarray, np.ndarray]) -> s1.Stage1Index:
    codes, flags = gallery_codes
    return s1.Stage1Index().build(codes, np.arange(codes.shape[0]), flags)


def hamming(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.unpackbits(np.bitwise_xor(a, b)).sum())


def rank_of_mate(cands: list[np.ndarray], mates: np.ndarray) -> np.ndarray:
    out = []
    for rows, mate in zip(cands, mates, strict=True):
        if mate < 0:
            continue
        pos = np.flatnonzero(rows == mate)
        out.append(int(pos[0]) if pos.size else 10**9)
    return np.asarray(out)


class TestEncode:
    def test_shape_dtype_and_size_budget(self, population: Population) -> None:
        code = s1.encode(population.gallery[0])
        assert code.shape == (s1.CODE_BYTES,)
        assert code.dtype == np.uint8
        assert s1.Stage1Index.bytes_per_person() <= 64

    def test_deterministic(self, population: Population) -> None:
        a, fa = s1.encode_many(population.gallery[:20])
        b, fb = s1.encode_many(population.gallery[:20])
        assert np.array_equal(a, b)
        assert np.array_equal(fa, fb)
        assert np.array_equal(s1.encode(population.gallery[3]), a[3])

    def test_flags_say_what_is_present(self, gallery_codes: tuple[np.ndarray, np.ndarray]) -> None:
        _, flags = gallery_codes
        assert np.mean((flags & s1.HAS_ANY_IRIS) == s1.HAS_ANY_IRIS) > 0.95
        assert np.mean(flags & s1.HAS_FINGERS) > 0

    def test_mates_much_closer_than_non_mates(
        self, population: Population, probes: tuple[Probe, ...], gallery_codes: tuple[np.ndarray, np.ndarray]
    ) -> None:
        codes, _ = gallery_codes
        pc, _ = s1.encode_many([p.sample for p in probes])
        mates = mate_rows(population, probes)
        part = s1.IRIS_SLICE
        genuine = [hamming(pc[i, part], codes[m, part]) for i, m in enumerate(mates) if m >= 0]
        impostor = [hamming(pc[i, part], codes[(i * 7 + 1) % N, part]) for i in range(len(probes))]
        bits = 8 * (part.stop - part.start)
        assert np.mean(genuine) < 0.3 * bits
        assert np.mean(impostor) > 0.45 * bits
        assert np.mean(impostor) - np.mean(genuine) > 6 * np.std(impostor)

    def test_iris_part_is_rotation_invariant(self, population: Population) -> None:
        sample = population.gallery[5]
        eye = sample.irises[EyePosition.RIGHT]
        turned = IrisCode(code=rotate_iris(eye.code, 9), mask=rotate_iris(eye.mask, 9), eye=eye.eye)
        a = s1.iris_bits(eye.code[None], eye.mask[None])[0]
        b = s1.iris_bits(turned.code[None], turned.mask[None])[0]
        assert hamming(a, b) <= 2  # float rounding of the spectra only

    def test_rejects_bad_iris_shape(self) -> None:
        with pytest.raises(ValidationFailed):
            s1.iris_bits(np.zeros((2, 10), np.uint8), np.zeros((2, 10), np.uint8))


class TestSearch:
    def test_mates_found_in_top_k(
        self, index: s1.Stage1Index, population: Population, probes: tuple[Probe, ...]
    ) -> None:
        cands = index.search_samples([p.sample for p in probes], 10)
        ranks = rank_of_mate(cands, mate_rows(population, probes))
        assert np.mean(ranks < 10) >= 0.98
        assert np.mean(ranks == 0) >= 0.9

    def test_rotated_iris_probe_still_finds_mate(self, index: s1.Stage1Index, population: Population) -> None:
        probes = make_probes(population, 40, 0, seed=33, hard_fraction=1.0)
        rotated = [p for p in probes if "rotated" in p.hard and p.sample.irises]
        assert rotated
        cands = index.search_samples([p.sample for p in rotated], 10)
        ranks = rank_of_mate(cands, mate_rows(population, rotated))
        assert np.all(ranks < 10)

    def test_person_without_iris_gets_finger_code_and_is_found(
        self, index: s1.Stage1Index, population: Population, probes: tuple[Probe, ...]
    ) -> None:
        mated = [p for p in probes if p.mate_id is not None][:40]
        no_iris = [dataclasses.replace(p, sample=dataclasses.replace(p.sample, irises={})) for p in mated]
        codes, flags = s1.encode_many([p.sample for p in no_iris])
        assert np.all((flags & s1.HAS_ANY_IRIS) == 0)
        assert np.all(flags & s1.HAS_FINGERS)
        assert np.all(codes[:, s1.IRIS_SLICE] == codes[0, s1.IRIS_SLICE])  # the missing-eye pattern
        assert np.any(codes[:, s1.FINGER_SLICE] != 0)
        cands = index.candidates_many(codes, flags, 30, k_no_iris=30)
        ranks = rank_of_mate(cands, mate_rows(population, no_iris))
        assert np.mean(ranks < 30) >= 0.9  # 30 of 300 = 10 % penetration on the fallback part

    def test_gallery_person_without_iris_reached_by_iris_probe(
        self, population: Population, probes: tuple[Probe, ...]
    ) -> None:
        mated = [p for p in probes if p.mate_id is not None][:20]
        rows = mate_rows(population, mated)
        gallery = list(population.gallery)
        for r in rows:
            gallery[int(r)] = dataclasses.replace(gallery[int(r)], irises={})
        codes, flags = s1.encode_many(gallery)
        index = s1.Stage1Index().build(codes, np.arange(N), flags)
        cands = index.search_samples([p.sample for p in mated], 5, k_fallback=10)
        ranks = rank_of_mate(cands, rows)
        assert np.mean(ranks < 15) >= 0.9

    def test_batched_search_shapes_and_padding(self, gallery_codes: tuple[np.ndarray, np.ndarray]) -> None:
        codes, flags = gallery_codes
        small = s1.Stage1Index().build(codes[:5], np.arange(5), flags[:5])
        d, r = small.search(codes[:3], 8, probe_flags=flags[:3])
        assert d.shape == r.shape == (3, 8)
        assert np.all(r[:, 5:] == -1)
        assert np.all(d[:, 5:] == -1)
        assert np.array_equal(r[:, 0], np.arange(3))  # a code is its own nearest neighbour
        assert np.all(d[:, 0] == 0)

    def test_bad_input_is_refused(self, index: s1.Stage1Index) -> None:
        with pytest.raises(ValidationFailed):
            index.search(np.zeros((2, 10), np.uint8), 5)
        with pytest.raises(ValidationFailed):
            index.search(np.zeros((2, s1.CODE_BYTES), np.uint8), 0)
        with pytest.raises(ValidationFailed):
            s1.Stage1Index(kind="lsh")
        with pytest.raises(ValidationFailed):
            s1.Stage1Index().build(np.zeros((3, s1.CODE_BYTES), np.uint8), np.arange(2))


class TestMaintenance:
    def test_save_load_round_trip(
        self, tmp_path: Path, index: s1.Stage1Index, probes: tuple[Probe, ...]
    ) -> None:
        index.save(tmp_path / "s1")
        loaded = s1.Stage1Index.load(tmp_path / "s1")
        pc, pf = s1.encode_many([p.sample for p in probes])
        for a, b in zip(
            index.search(pc, 7, probe_flags=pf), loaded.search(pc, 7, probe_flags=pf), strict=True
        ):
            assert np.array_equal(a, b)
        assert np.array_equal(loaded.ids, index.ids)

    def test_load_refuses_other_encoder(self, tmp_path: Path, index: s1.Stage1Index) -> None:
        index.save(tmp_path / "s1")
        meta = (tmp_path / "s1" / "meta.json").read_text().replace(s1.encoder_version(), "0" * 16)
        (tmp_path / "s1" / "meta.json").write_text(meta)
        with pytest.raises(ValidationFailed):
            s1.Stage1Index.load(tmp_path / "s1")

    def test_remove_and_add(self, gallery_codes: tuple[np.ndarray, np.ndarray]) -> None:
        codes, flags = gallery_codes
        ids = np.arange(1000, 1000 + N)
        index = s1.Stage1Index().build(codes, ids, flags)
        assert index.remove([1003, 1010, 99999]) == 2
        assert len(index) == N - 2
        _, rows = index.search(codes[[3, 10, 4]], 1, probe_flags=flags[[3, 10, 4]])
        found = index.ids[rows[:, 0]]
        assert found[0] != 1003
        assert found[1] != 1010
        assert found[2] == 1004
        index.add(codes[[3]], [5003], flags[[3]])
        _, rows = index.search(codes[[3]], 1, probe_flags=flags[[3]])
        assert index.ids[rows[0, 0]] == 5003

    def test_ivf_recall_close_to_flat(
        self, gallery_codes: tuple[np.ndarray, np.ndarray], population: Population, probes: tuple[Probe, ...]
    ) -> None:
        codes, flags = gallery_codes
        flat = s1.Stage1Index().build(codes, np.arange(N), flags)
        ivf = s1.Stage1Index(kind="ivf", nlist=4, nprobe=3).build(codes, np.arange(N), flags)
        samples: list[BiometricSample] = [p.sample for p in probes]
        mates = mate_rows(population, probes)
        r_flat = rank_of_mate(flat.search_samples(samples, 10), mates)
        r_ivf = rank_of_mate(ivf.search_samples(samples, 10), mates)
        assert np.mean(r_ivf < 10) >= np.mean(r_flat < 10) - 0.05


class TestOneEye:
    def test_probe_with_one_eye_ranked_on_that_eye(
        self, index: s1.Stage1Index, population: Population, probes: tuple[Probe, ...]
    ) -> None:
        mated = [p for p in probes if p.mate_id is not None and EyePosition.LEFT in p.sample.irises][:40]
        one_eye = [
            dataclasses.replace(
                p,
                sample=dataclasses.replace(
                    p.sample, irises={EyePosition.LEFT: p.sample.irises[EyePosition.LEFT]}
                ),
            )
            for p in mated
        ]
        codes, flags = s1.encode_many([p.sample for p in one_eye])
        assert np.all(flags & s1.HAS_ANY_IRIS == s1.HAS_LEFT_IRIS)
        ranks = rank_of_mate(index.candidates_many(codes, flags, 10), mate_rows(population, one_eye))
        assert np.mean(ranks < 10) >= 0.95

    def test_gallery_persons_missing_an_eye_do_not_crowd_out_mates(
        self, population: Population, probes: tuple[Probe, ...]
    ) -> None:
        gallery = list(population.gallery)
        mates = set(mate_rows(population, probes).tolist())
        others = [i for i in range(N) if i not in mates][:30]
        for i in others:  # 30 persons enrolled without a right eye
            irises = {e: c for e, c in gallery[i].irises.items() if e != EyePosition.RIGHT}
            gallery[i] = dataclasses.replace(gallery[i], irises=irises)
        codes, flags = s1.encode_many(gallery)
        index = s1.Stage1Index().build(codes, np.arange(N), flags)
        mated = [p for p in probes if p.mate_id is not None and EyePosition.LEFT in p.sample.irises][:40]
        one_eye = [
            dataclasses.replace(
                p,
                sample=dataclasses.replace(
                    p.sample, irises={EyePosition.LEFT: p.sample.irises[EyePosition.LEFT]}
                ),
            )
            for p in mated
        ]
        ranks = rank_of_mate(
            index.search_samples([p.sample for p in one_eye], 5), mate_rows(population, one_eye)
        )
        assert np.mean(ranks < 5) >= 0.95

    def test_gallery_person_with_one_eye_found_by_two_eye_probe(
        self, population: Population, probes: tuple[Probe, ...]
    ) -> None:
        mated = [p for p in probes if p.mate_id is not None and len(p.sample.irises) == 2][:20]
        rows = mate_rows(population, mated)
        gallery = list(population.gallery)
        for r in rows:  # the mates were enrolled with their left eye only
            left = gallery[int(r)].irises[EyePosition.LEFT]
            gallery[int(r)] = dataclasses.replace(gallery[int(r)], irises={EyePosition.LEFT: left})
        codes, flags = s1.encode_many(gallery)
        index = s1.Stage1Index().build(codes, np.arange(N), flags)
        with_extras = rank_of_mate(index.search_samples([p.sample for p in mated], 1, k_fallback=20), rows)
        assert np.mean(with_extras < 21) >= 0.95
