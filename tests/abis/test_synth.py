"""Synthetic biometric population: determinism, realism figures, probes and recording streams."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from ektp.abis.match.iris import iris_distance
from ektp.abis.synth import (
    HARD_PARTIAL,
    HARD_ROTATED,
    HARD_SUBSET,
    HARD_SWAPPED,
    Population,
    SynthConfig,
    make_population,
    make_probes,
    make_recording_stream,
    mate_rows,
    population_statistics,
)
from ektp.abis.synth.captures import CaptureRequest, render_samples
from ektp.abis.types import BiometricSample, FingerPosition
from ektp.kit.errors import ValidationFailed


@pytest.fixture(scope="module")
def population() -> Population:
    return make_population(256, seed=11)


@pytest.fixture(scope="module")
def statistics(population: Population) -> dict[str, float]:
    return population_statistics(population, seed=3, n_impostor_pairs=6000, n_genuine=150)


def same_sample(a: BiometricSample, b: BiometricSample) -> bool:
    if a.fingers.keys() != b.fingers.keys() or a.irises.keys() != b.irises.keys():
        return False
    for pos, m in a.fingers.items():
        o = b.fingers[pos]
        if not (
            np.array_equal(m.x, o.x) and np.array_equal(m.angle, o.angle) and np.array_equal(m.kind, o.kind)
        ):
            return False
    for eye, code in a.irises.items():
        if not (
            np.array_equal(code.code, b.irises[eye].code) and np.array_equal(code.mask, b.irises[eye].mask)
        ):
            return False
    if (a.face is None) != (b.face is None):
        return False
    return a.face is None or b.face is None or np.array_equal(a.face.vector, b.face.vector)


#: A configuration without capture noise: impressions are the master minutiae, unmoved.
NOISELESS = replace(
    SynthConfig(),
    contact_scale_min=1.0,
    contact_scale_max=1.0,
    contact_offset_sd_px=0.0,
    placement_sd_px=0.0,
    rotation_max_deg=0.0,
    distortion_shift_sd_px=0.0,
    distortion_rotation_sd_deg=0.0,
    position_jitter_px=0.0,
    angle_jitter_deg=0.0,
    missing_min=0.0,
    missing_max=0.0,
    spurious_min=0.0,
    spurious_max=0.0,
    type_flip_prob=0.0,
    worn_fraction=0.0,
    worn_extra_missing=0.0,
    worn_extra_spurious=0.0,
    amputation_prob=0.0,
    bandage_prob=0.0,
    sensor_width=600,
    sensor_height=600,
)


class TestDeterminism:
    def test_same_seed_gives_the_same_population(self) -> None:
        a = make_population(30, seed=5)
        b = make_population(30, seed=5)
        assert a.reference_ids == b.reference_ids
        assert all(same_sample(x, y) for x, y in zip(a.gallery, b.gallery, strict=True))
        pa = make_probes(a, 10, 10, seed=2, hard_fraction=0.5)
        pb = make_probes(b, 10, 10, seed=2, hard_fraction=0.5)
        assert [p.mate_id for p in pa] == [p.mate_id for p in pb]
        assert [p.hard for p in pa] == [p.hard for p in pb]
        assert all(same_sample(x.sample, y.sample) for x, y in zip(pa, pb, strict=True))

    def test_other_seed_gives_another_population(self) -> None:
        a = make_population(5, seed=5)
        b = make_population(5, seed=6)
        assert not any(same_sample(x, y) for x, y in zip(a.gallery, b.gallery, strict=True))

    def test_a_smaller_gallery_is_a_prefix_of_a_larger_one(self, population: Population) -> None:
        small = make_population(40, seed=11)
        assert small.reference_ids == population.reference_ids[:40]
        assert all(same_sample(x, y) for x, y in zip(small.gallery, population.gallery[:40], strict=True))
        assert np.array_equal(small.identities.iris_code, population.identities.iris_code[:40])

    def test_reference_ids_are_opaque_and_sequential(self, population: Population) -> None:
        assert population.reference_ids[0] == "G000001"
        assert population.reference_ids[-1] == "G000256"
        assert population.index_of("G000010") == 9
        with pytest.raises(ValidationFailed):
            population.index_of("G000999")


class TestRealism:
    def test_minutiae_per_impression(self, statistics: dict[str, float]) -> None:
        assert 30 <= statistics["minutiae_p50"] <= 60
        assert statistics["minutiae_p5"] >= 15
        assert statistics["minutiae_p95"] <= 80

    def test_pattern_class_proportions(self, statistics: dict[str, float]) -> None:
        assert 0.58 <= statistics["pattern_loop"] <= 0.72
        assert 0.23 <= statistics["pattern_whorl"] <= 0.37
        assert 0.01 <= statistics["pattern_arch"] + statistics["pattern_tented_arch"] <= 0.10

    def test_ulnar_loops_slant_towards_the_little_finger(self, population: Population) -> None:
        pattern = population.identities.pattern
        right_hand, left_hand = pattern[:, :5], pattern[:, 5:]
        assert (right_hand == 3).mean() > 5 * (right_hand == 2).mean()  # right loops on the right hand
        assert (left_hand == 2).mean() > 5 * (left_hand == 3).mean()

    def test_iris_impostor_distances_have_about_250_degrees_of_freedom(
        self, statistics: dict[str, float]
    ) -> None:
        assert statistics["iris_impostor_hd_mean"] == pytest.approx(0.5, abs=0.02)
        assert 0.02 <= statistics["iris_impostor_hd_std"] <= 0.04
        assert 150 <= statistics["iris_impostor_dof"] <= 450

    def test_iris_genuine_distances(self, statistics: dict[str, float]) -> None:
        assert 0.1 <= statistics["iris_genuine_hd_mean"] <= 0.3
        assert statistics["iris_genuine_norm_hd_mean"] < statistics["iris_impostor_norm_hd_mean"] - 0.25

    def test_face_genuine_and_impostor_cosines(self, statistics: dict[str, float]) -> None:
        assert 0.55 <= statistics["face_genuine_cos_mean"] <= 0.85
        assert abs(statistics["face_impostor_cos_mean"]) < 0.02
        assert 0.03 <= statistics["face_impostor_cos_std"] <= 0.1

    def test_missing_fingers_are_rare(self, statistics: dict[str, float]) -> None:
        assert 0.0 < statistics["missing_finger_rate"] < 0.03

    def test_minutiae_are_valid_iso_values(self, population: Population) -> None:
        cfg = population.config
        for sample in population.gallery[:50]:
            for pos, m in sample.fingers.items():
                assert m.position == pos
                assert m.x.dtype == np.float32
                assert m.angle.dtype == np.float32
                assert np.all((m.x >= 0) & (m.x < cfg.sensor_width) & (m.y >= 0) & (m.y < cfg.sensor_height))
                assert np.all((m.angle >= 0) & (m.angle < 2 * math.pi))
                assert set(np.unique(m.kind)) <= {1, 2}
                assert np.all((m.quality >= 1) & (m.quality <= 100))

    def test_master_minutiae_keep_their_minimum_spacing(self, population: Population) -> None:
        t = population.identities
        for f in range(20):
            lo, hi = t.offsets[f], t.offsets[f + 1]
            pts = np.stack([t.minutia_x[lo:hi], t.minutia_y[lo:hi]], axis=1)
            d = np.linalg.norm(pts[:, None, :] - pts[None, :, :], axis=2) + np.eye(hi - lo) * 1e9
            assert d.min() >= population.config.min_minutia_spacing_px - 1e-3

    def test_face_embeddings_are_unit_vectors(self, population: Population) -> None:
        faces = np.stack([s.face.vector for s in population.gallery if s.face is not None])
        assert faces.shape[1] == 512
        assert np.allclose(np.linalg.norm(faces, axis=1), 1.0, atol=1e-5)

    def test_lookalikes_share_a_cluster_centre(self, population: Population) -> None:
        t = population.identities
        clusters = t.face_cluster
        members = np.flatnonzero(clusters == clusters.max())
        assert members.size >= 2
        within = float(t.face_identity[members[0]] @ t.face_identity[members[1]])
        assert within > 0.3


class TestCaptures:
    def test_noiseless_impression_is_the_master_in_image_coordinates(self) -> None:
        pop = make_population(3, NOISELESS, seed=1)
        t = pop.identities
        m = pop.gallery[0].fingers[FingerPosition.RIGHT_THUMB]
        lo, hi = t.offsets[0], t.offsets[1]
        assert len(m) == hi - lo
        assert np.allclose(np.sort(m.x), np.sort(300.0 + t.minutia_x[lo:hi]), atol=1e-3)
        assert np.allclose(np.sort(m.y), np.sort(300.0 - t.minutia_y[lo:hi]), atol=1e-3)

    def test_swapped_fingers_carry_other_positions_labels(self) -> None:
        pop = make_population(2, NOISELESS, seed=2)
        t = pop.identities
        rng = np.random.default_rng(0)
        sample = render_samples(NOISELESS, t, [CaptureRequest(0, (HARD_SWAPPED,))], rng)[0]
        origin = {}
        for label, m in sample.fingers.items():
            for f in range(10):
                lo, hi = t.offsets[f], t.offsets[f + 1]
                if hi - lo == len(m) and np.allclose(
                    np.sort(m.x), np.sort(300.0 + t.minutia_x[lo:hi]), atol=1e-3
                ):
                    origin[label] = f + 1
        assert len(origin) == 10
        assert any(int(label) != source for label, source in origin.items())

    def test_subset_keeps_at_most_four_fingers(self, population: Population) -> None:
        rng = np.random.default_rng(1)
        samples = render_samples(
            population.config,
            population.identities,
            [CaptureRequest(i, (HARD_SUBSET,)) for i in range(40)],
            rng,
        )
        assert all(1 <= len(s.fingers) <= 4 for s in samples if s.fingers)
        assert any(not s.irises for s in samples)

    def test_partial_prints_have_fewer_minutiae(self, population: Population) -> None:
        rng = np.random.default_rng(2)
        rows = range(60)
        plain = render_samples(
            population.config, population.identities, [CaptureRequest(i) for i in rows], rng
        )
        partial = render_samples(
            population.config, population.identities, [CaptureRequest(i, (HARD_PARTIAL,)) for i in rows], rng
        )

        def count(samples: list[BiometricSample]) -> float:
            return float(np.mean([len(m) for s in samples for m in s.fingers.values()]))

        assert count(partial) < 0.7 * count(plain)

    def test_rotated_irises_still_match_within_the_shift_search(self, population: Population) -> None:
        rng = np.random.default_rng(3)
        samples = render_samples(
            population.config,
            population.identities,
            [CaptureRequest(i, (HARD_ROTATED,)) for i in range(20)],
            rng,
        )
        d = [
            iris_distance(code, population.gallery[i].irises[eye])
            for i, s in enumerate(samples)
            for eye, code in s.irises.items()
            if eye in population.gallery[i].irises
        ]
        assert np.median(d) < 0.25

    def test_unknown_hard_kind_is_refused(self, population: Population) -> None:
        with pytest.raises(ValueError, match="unknown hard capture kind"):
            render_samples(
                population.config,
                population.identities,
                [CaptureRequest(0, ("melted",))],
                np.random.default_rng(0),
            )


class TestProbes:
    def test_probes_carry_ground_truth(self, population: Population) -> None:
        probes = make_probes(population, 40, 30, seed=4, hard_fraction=0.2)
        assert len(probes) == 70
        assert [p.probe_id for p in probes[:2]] == ["P000001", "P000002"]
        mated = [p for p in probes if p.mate_id is not None]
        assert len(mated) == 40
        assert len({p.mate_id for p in mated}) == 40  # distinct persons
        rows = mate_rows(population, probes)
        assert (rows >= 0).sum() == 40
        assert any(p.hard for p in probes)

    def test_mated_probes_are_closer_to_their_mate_than_non_mated_ones(self, population: Population) -> None:
        probes = make_probes(population, 30, 30, seed=5, hard_fraction=0.0)
        mated: list[float] = []
        non: list[float] = []
        for p in probes:
            eye = next(iter(p.sample.irises), None)
            if eye is None:
                continue
            row = population.index_of(p.mate_id) if p.mate_id else 0
            ref = population.gallery[row].irises.get(eye)
            if ref is None:
                continue
            (mated if p.mate_id else non).append(iris_distance(p.sample.irises[eye], ref))
        assert max(mated) < 0.35 < min(non)

    def test_bad_arguments_name_the_field(self, population: Population) -> None:
        with pytest.raises(ValidationFailed) as err:
            make_probes(population, 5, 5, hard_fraction=1.5)
        assert err.value.problems[0].field == "hard_fraction"
        with pytest.raises(ValidationFailed) as err:
            make_probes(population, -1, 5)
        assert err.value.problems[0].field == "n_mated"


class TestRecordingStream:
    def test_planted_duplicates_follow_their_original(self) -> None:
        stream = make_recording_stream(400, seed=8, duplicate_rate=0.011, hard_fraction=0.5)
        recs = stream.recordings
        assert len(recs) == 400
        assert stream.duplicate_count == 4
        position = {r.recording_id: i for i, r in enumerate(recs)}
        firsts = [r for r in recs if r.duplicate_of is None]
        assert len({r.person for r in firsts}) == len(firsts)
        for i, r in enumerate(recs):
            if r.duplicate_of is not None:
                original = recs[position[r.duplicate_of]]
                assert position[r.duplicate_of] < i
                assert original.person == r.person
                assert original.duplicate_of is None

    def test_stream_is_deterministic(self) -> None:
        a = make_recording_stream(120, seed=9, duplicate_rate=0.05)
        b = make_recording_stream(120, seed=9, duplicate_rate=0.05)
        assert [r.duplicate_of for r in a.recordings] == [r.duplicate_of for r in b.recordings]
        assert all(same_sample(x.sample, y.sample) for x, y in zip(a.recordings, b.recordings, strict=True))


class TestConfig:
    def test_pattern_probabilities_must_sum_to_one(self) -> None:
        with pytest.raises(ValidationFailed) as err:
            SynthConfig(p_whorl=0.5)
        assert err.value.problems[0].rule == "sum"

    def test_ranges_are_checked(self) -> None:
        with pytest.raises(ValidationFailed) as err:
            SynthConfig(missing_min=0.4, missing_max=0.2)
        assert err.value.problems[0].field == "missing_min"
        with pytest.raises(ValidationFailed) as err:
            SynthConfig(placement_sd_px=-1.0)
        assert err.value.problems[0].field == "placement_sd_px"
