"""The in-process identification engine: gallery arrays, 1:N search, 1:1 verify, missing traits."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from ektp.abis.decision import Decision, Thresholds
from ektp.abis.engine import (
    EYES,
    Prefilter,
    QualityGate,
    Timings,
    build_gallery,
    identify,
    identify_many,
    load_gallery,
    prepare_probe,
    save_gallery,
    score_gallery,
    search,
    verify,
)
from ektp.abis.evaluate import fit_from_synth
from ektp.abis.fusion import Calibration
from ektp.abis.synth import Population, Probe, make_population, make_probes
from ektp.abis.types import BiometricSample, FingerPosition
from ektp.kit.errors import ValidationFailed

N = 96
#: Far above any impostor fused score seen here (≈ −60 and below) and far below ordinary mates (≈ +200).
SANE = Thresholds(duplicate=40.0, adjudicate=15.0)


@pytest.fixture(scope="module")
def calibration() -> Calibration:
    return fit_from_synth(N, seed=5, n_probes=48, impostors_per_probe=20)


@pytest.fixture(scope="module")
def population() -> Population:
    return make_population(N, seed=21)


@pytest.fixture(scope="module")
def gallery(population: Population):  # type: ignore[no-untyped-def]
    return build_gallery(zip(population.reference_ids, population.gallery, strict=True))


@pytest.fixture(scope="module")
def probes(population: Population) -> tuple[Probe, ...]:
    return make_probes(population, 8, 8, seed=3, hard_fraction=0.0)


def mated(probes: tuple[Probe, ...]) -> list[Probe]:
    return [p for p in probes if p.mate_id is not None]


def nonmated(probes: tuple[Probe, ...]) -> list[Probe]:
    return [p for p in probes if p.mate_id is None]


class TestGallery:
    def test_holds_every_trait_in_arrays(self, gallery, population: Population) -> None:  # type: ignore[no-untyped-def]
        assert len(gallery) == N
        assert gallery.face.shape == (N, 512)
        norms = np.linalg.norm(gallery.face[gallery.face_present], axis=1)
        assert np.allclose(norms, 1.0, atol=1e-5)
        for eye in EYES:
            assert gallery.iris_codes[eye].shape == (N, 256)
        first = population.gallery[0]
        for pos in first.fingers:
            assert gallery.fingers[pos].template_of_row[0] >= 0
        total = sum(len(s.fingers) for s in population.gallery)
        assert gallery.finger_template_count <= total

    def test_missing_finger_is_marked_not_scored(
        self, population: Population, calibration: Calibration
    ) -> None:
        sample = population.gallery[0]
        dropped = next(iter(sample.fingers))
        fewer = dataclasses.replace(sample, fingers={p: m for p, m in sample.fingers.items() if p != dropped})
        g = build_gallery([("A", fewer), ("B", population.gallery[1])])
        assert g.fingers[dropped].template_of_row[0] == -1
        scores = score_gallery(g, sample, calibration)
        j = scores.finger_positions.index(dropped)
        assert math.isnan(float(scores.finger[0, j]))
        assert not math.isnan(float(scores.finger[1, j]))

    def test_duplicate_reference_ids_are_refused(self, population: Population) -> None:
        with pytest.raises(ValidationFailed, match="appears twice"):
            build_gallery([("A", population.gallery[0]), ("A", population.gallery[1])])

    def test_quality_gate_rejects_a_sample_with_too_little(self, population: Population) -> None:
        sample = population.gallery[0]
        two = dict(list(sample.fingers.items())[:2])
        poor = BiometricSample(fingers=two, irises={}, face=None)
        g = build_gallery([("ok", sample), ("poor", poor)], gate=QualityGate())
        assert g.reference_ids == ("ok",)
        assert g.rejected == ("poor",)
        assert "finger" in g.rejected_reasons[0]
        # with irises it is enrolable again
        assert QualityGate().assess(dataclasses.replace(poor, irises=sample.irises)).enrolable

    def test_save_and_load_give_the_same_scores(
        self, gallery, probes: tuple[Probe, ...], calibration: Calibration, tmp_path: Path
    ) -> None:  # type: ignore[no-untyped-def]
        path = tmp_path / "gallery.npz"
        save_gallery(gallery, path)
        again = load_gallery(path)
        assert again.reference_ids == gallery.reference_ids
        probe = probes[0].sample
        a = score_gallery(gallery, probe, calibration).fused
        b = score_gallery(again, probe, calibration).fused
        np.testing.assert_allclose(a, b)

    def test_load_refuses_another_file(self, tmp_path: Path) -> None:
        path = tmp_path / "x.npz"
        np.savez(path, format=np.array(["something else"]))
        with pytest.raises(ValidationFailed, match="not an"):
            load_gallery(path)


class TestIdentify:
    def test_finds_the_mate_at_rank_one(self, gallery, probes, calibration) -> None:  # type: ignore[no-untyped-def]
        for probe in mated(probes):
            found = identify(gallery, probe.sample, calibration, top_k=5)
            assert found[0].reference_id == probe.mate_id
            assert found[0].rank == 1
            assert [c.rank for c in found] == [1, 2, 3, 4, 5]
            assert found[0].score > found[1].score
            top = found[0]
            assert set(top.llr) == {"finger", "iris", "face"}
            assert math.isclose(sum(top.llr.values()), top.score, rel_tol=1e-6, abs_tol=1e-6)
            assert all(0.0 <= s <= 1.0 for s in top.finger_scores.values())

    def test_non_mated_searches_are_not_duplicates(self, gallery, probes, calibration) -> None:  # type: ignore[no-untyped-def]
        for probe in nonmated(probes):
            result = search(gallery, probe.sample, calibration, SANE)
            assert result.decision == Decision.UNIQUE
            assert result.candidates == []
        for probe in mated(probes):
            result = search(gallery, probe.sample, calibration, SANE)
            assert result.decision == Decision.DUPLICATE
            assert result.candidates[0].reference_id == probe.mate_id

    def test_probe_without_irises_still_works(self, gallery, probes, calibration) -> None:  # type: ignore[no-untyped-def]
        probe = mated(probes)[0]
        no_iris = dataclasses.replace(probe.sample, irises={})
        found = identify(gallery, no_iris, calibration, top_k=2)
        assert found[0].reference_id == probe.mate_id
        assert found[0].iris_scores == {}
        assert "iris" not in found[0].llr

    def test_gallery_person_without_face(self, population: Population, probes, calibration) -> None:  # type: ignore[no-untyped-def]
        probe = mated(probes)[1]
        row = population.index_of(probe.mate_id)
        entries = [
            (ref, dataclasses.replace(s, face=None) if i == row else s)
            for i, (ref, s) in enumerate(zip(population.reference_ids, population.gallery, strict=True))
        ]
        g = build_gallery(entries)
        assert not g.face_present[row]
        found = identify(g, probe.sample, calibration, top_k=3)
        assert found[0].reference_id == probe.mate_id
        assert found[0].face_score is None
        assert "face" not in found[0].llr
        assert found[1].face_score is not None

    def test_subset_of_candidates(self, gallery, probes, calibration) -> None:  # type: ignore[no-untyped-def]
        probe = mated(probes)[0]
        mate = gallery.row_of(probe.mate_id)
        others = np.array([r for r in range(10, 30) if r != mate], dtype=np.int64)
        found = identify(gallery, probe.sample, calibration, candidates=others, top_k=50)
        assert {c.row for c in found} == set(others.tolist())
        with_mate = identify(gallery, probe.sample, calibration, candidates=np.append(others, mate), top_k=1)
        assert with_mate[0].reference_id == probe.mate_id

    def test_bad_candidates_are_refused(self, gallery, probes, calibration) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(ValidationFailed, match="candidate rows"):
            identify(gallery, probes[0].sample, calibration, candidates=np.array([N]))
        with pytest.raises(ValidationFailed, match="top_k"):
            identify(gallery, probes[0].sample, calibration, top_k=0)

    def test_modalities_restrict_the_fusion(self, gallery, probes, calibration) -> None:  # type: ignore[no-untyped-def]
        probe = mated(probes)[0]
        found = identify(gallery, probe.sample, calibration, modalities=["finger"], top_k=1)
        assert found[0].reference_id == probe.mate_id
        assert set(found[0].llr) == {"finger"}
        assert found[0].iris_scores == {}
        with pytest.raises(ValidationFailed, match="modalities"):
            identify(gallery, probe.sample, calibration, modalities=["palm"])

    def test_unknown_finger_position_is_compared_with_every_finger(
        self, gallery, probes, calibration
    ) -> None:  # type: ignore[no-untyped-def]
        probe = mated(probes)[0]
        pos, minutiae = next(iter(probe.sample.fingers.items()))
        unknown = BiometricSample(
            fingers={FingerPosition.UNKNOWN: dataclasses.replace(minutiae, position=FingerPosition.UNKNOWN)}
        )
        known = BiometricSample(fingers={pos: minutiae})
        s_unknown = score_gallery(gallery, unknown, calibration)
        s_known = score_gallery(gallery, known, calibration)
        # the best over all positions is at least the same-position score
        have = ~np.isnan(s_known.finger[:, 0])
        assert have.sum() > N // 2
        assert np.all(s_unknown.finger[have, 0] >= s_known.finger[have, 0] - 1e-6)
        mate = gallery.row_of(probe.mate_id)
        assert int(np.argmax(s_unknown.finger[:, 0])) == mate

    def test_identify_many_and_threads_agree(self, gallery, probes, calibration) -> None:  # type: ignore[no-untyped-def]
        timings = Timings()
        ticks: list[int] = []
        many = identify_many(
            gallery,
            [p.sample for p in probes[:4]],
            calibration,
            top_k=3,
            threads=2,
            timings=timings,
            progress=ticks.append,
        )
        assert len(many) == 4
        assert ticks == [1, 1, 1, 1]
        for p, found in zip(probes[:4], many, strict=True):
            single = identify(gallery, p.sample, calibration, top_k=3)
            assert [c.reference_id for c in found] == [c.reference_id for c in single]
            assert [c.score for c in found] == pytest.approx([c.score for c in single])
        assert timings.comparisons["finger"] > 0
        assert timings.rate("finger") > 0

    def test_prefilter_keeps_easy_mates_and_prunes_the_rest(self, gallery, probes, calibration) -> None:  # type: ignore[no-untyped-def]
        pre = Prefilter(fingers=2, shortlist=10)
        for probe in mated(probes)[:3]:
            scores = score_gallery(gallery, probe.sample, calibration, prefilter=pre)
            assert int(np.isfinite(scores.fused).sum()) == 10
            found = identify(gallery, probe.sample, calibration, prefilter=pre, top_k=20)
            assert len(found) == 10
            assert found[0].reference_id == probe.mate_id
            full = identify(gallery, probe.sample, calibration, top_k=1)
            assert found[0].score == pytest.approx(full[0].score)

    def test_prefilter_on_iris_and_face_alone(self, gallery, probes, calibration) -> None:  # type: ignore[no-untyped-def]
        pre = Prefilter(fingers=2, shortlist=10, fingers_with_iris_or_face=0)
        probe = mated(probes)[0]
        timings = Timings()
        found = identify(gallery, probe.sample, calibration, prefilter=pre, top_k=1, timings=timings)
        assert found[0].reference_id == probe.mate_id
        assert timings.comparisons["finger"] <= 10 * len(probe.sample.fingers)
        assert timings.comparisons["iris"] == 2 * N
        fingers_only = BiometricSample(fingers=probe.sample.fingers)
        timings = Timings()
        identify(gallery, fingers_only, calibration, prefilter=pre, top_k=1, timings=timings)
        assert timings.comparisons["finger"] > 2 * N - 10  # falls back to 2 fingers on everyone
        with pytest.raises(ValidationFailed, match="shortlist"):
            Prefilter(shortlist=0)


class TestVerify:
    def test_mated_pair_scores_high_and_non_mated_low(
        self, population: Population, probes, calibration
    ) -> None:  # type: ignore[no-untyped-def]
        probe = mated(probes)[0]
        ref = population.gallery[population.index_of(probe.mate_id)]
        same = verify(probe.sample, ref, calibration, thresholds=SANE)
        other = verify(nonmated(probes)[0].sample, ref, calibration, thresholds=SANE)
        assert same.score > SANE.duplicate > SANE.adjudicate > other.score
        assert same.decision == Decision.DUPLICATE
        assert other.decision == Decision.UNIQUE
        assert set(same.iris_scores) == set(ref.irises) & set(probe.sample.irises)
        assert verify(probe.sample, ref, calibration).decision is None

    def test_prepared_probe_is_reused(self, population: Population, probes, calibration) -> None:  # type: ignore[no-untyped-def]
        probe = mated(probes)[0]
        prepared = prepare_probe(probe.sample)
        assert prepare_probe(prepared) is prepared
        ref = population.gallery[population.index_of(probe.mate_id)]
        assert verify(prepared, ref, calibration).score == pytest.approx(
            verify(probe.sample, ref, calibration).score
        )

    def test_bad_probe_is_a_clear_error(self, population: Population, calibration) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(ValidationFailed, match="sample_a"):
            verify("not a sample", population.gallery[0], calibration)  # type: ignore[arg-type]
