"""MCC fingerprint matcher: templates, invariance, separation, 1:1 = 1:many, serialisation, bad input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ektp.abis.match import fingerprint as fp
from ektp.abis.match.fingerprint import Consolidation, FingerTemplate, PackedFingerGallery
from ektp.abis.types import Minutiae

Master = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]

BOTH = [Consolidation.LSS, Consolidation.LSSR]


# ------------------------------------------------------------------------------------------------
# A small local generator: master minutiae along a loop-like orientation field, impressions with
# missing and spurious minutiae, jitter, smooth distortion, rotation and translation.
# (Image frame: x right, y down, angle anticlockwise as seen on the image.)
# ------------------------------------------------------------------------------------------------


def make_master(rng: np.random.Generator, n: int | None = None) -> Master:
    n = n or int(rng.integers(40, 56))
    pts: list[tuple[float, float]] = []
    while len(pts) < n:
        x, y = rng.uniform(-130, 130), rng.uniform(-170, 170)
        if (x / 130) ** 2 + (y / 170) ** 2 <= 1 and all((x - a) ** 2 + (y - b) ** 2 >= 14**2 for a, b in pts):
            pts.append((x, y))
    p = np.array(pts)
    core = rng.normal(0, 30, 2)
    field = rng.uniform(0.4, 0.6) * np.arctan2(p[:, 1] - core[1], p[:, 0] - core[0]) + rng.uniform(0, np.pi)
    angle = (field + np.pi * (rng.random(n) < 0.5) + rng.normal(0, 0.15, n)) % (2 * np.pi)
    return p[:, 0] + 250.0, p[:, 1] + 250.0, angle


def to_minutiae(x: npt.ArrayLike, y: npt.ArrayLike, angle: npt.ArrayLike) -> Minutiae:
    xs = np.asarray(x, dtype=np.float32)
    n = xs.shape[0]
    return Minutiae(
        x=xs,
        y=np.asarray(y, dtype=np.float32),
        angle=np.asarray(angle, dtype=np.float32),
        kind=np.ones(n, dtype=np.uint8),
        quality=np.full(n, 60, dtype=np.uint8),
    )


def rigid(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    angle: npt.NDArray[np.float64],
    degrees: float,
    shift: tuple[float, float],
) -> Master:
    """Turn the impression by ``degrees`` anticlockwise (as seen) about (250, 250) and shift it."""
    phi = math.radians(degrees)
    u, v = x - 250.0, -(y - 250.0)
    ur = u * math.cos(phi) - v * math.sin(phi)
    vr = u * math.sin(phi) + v * math.cos(phi)
    return ur + 250.0 + shift[0], -vr + 250.0 + shift[1], (angle + phi) % (2 * np.pi)


def impression(rng: np.random.Generator, master: Master) -> Minutiae:
    x, y, a = (v.copy() for v in master)
    keep = rng.random(x.shape[0]) >= rng.uniform(0.1, 0.3)
    x, y, a = x[keep], y[keep], a[keep]
    r2 = ((x - 250) ** 2 + (y - 250) ** 2) / 150**2
    ph = rng.uniform(0, 2 * np.pi, 2)
    x = x + 6 * r2 * np.sin(x / 60 + ph[0]) + rng.normal(0, 2.0, x.shape[0])
    y = y + 6 * r2 * np.cos(y / 60 + ph[1]) + rng.normal(0, 2.0, y.shape[0])
    a = a + rng.normal(0, 0.1, a.shape[0])
    n_spurious = round(x.shape[0] * rng.uniform(0.05, 0.2))
    x = np.concatenate([x, rng.uniform(130, 370, n_spurious)])
    y = np.concatenate([y, rng.uniform(90, 410, n_spurious)])
    a = np.concatenate([a, rng.uniform(0, 2 * np.pi, n_spurious)])
    x, y, a = rigid(x, y, a % (2 * np.pi), rng.uniform(-20, 20), tuple(rng.uniform(-30, 30, 2)))
    inside = (x >= 0) & (x < 500) & (y >= 0) & (y < 500)
    return to_minutiae(x[inside], y[inside], a[inside])


@pytest.fixture(scope="module")
def fingers() -> list[tuple[Minutiae, Minutiae]]:
    """Twelve fingers, two impressions each."""
    rng = np.random.default_rng(20240611)
    masters = [make_master(rng) for _ in range(12)]
    return [(impression(rng, m), impression(rng, m)) for m in masters]


@pytest.fixture(scope="module")
def templates(fingers: list[tuple[Minutiae, Minutiae]]) -> list[tuple[FingerTemplate, FingerTemplate]]:
    return [(fp.make_template(a), fp.make_template(b)) for a, b in fingers]


# ------------------------------------------------------------------------------------------------


class TestMakeTemplate:
    def test_layout_dtypes_and_angle_order(
        self, templates: list[tuple[FingerTemplate, FingerTemplate]]
    ) -> None:
        t = templates[0][0]
        n = len(t)
        assert n > 10
        assert t.cylinders.shape == (n, fp.SECTIONS)
        assert t.cylinders.dtype == np.uint64
        assert t.masks.shape == (n,)
        assert t.masks.dtype == np.uint64
        assert t.x.dtype == t.y.dtype == t.angle.dtype == np.float32
        assert np.all(np.diff(t.angle) >= 0)
        assert np.all((t.angle >= 0) & (t.angle < 2 * np.pi))

    def test_cylinder_bits_lie_inside_the_validity_mask(
        self, templates: list[tuple[FingerTemplate, FingerTemplate]]
    ) -> None:
        t = templates[1][0]
        outside = t.cylinders & ~t.masks[:, None]
        assert not np.any(outside)
        assert all(int(m).bit_count() > 0 for m in t.masks)
        assert any(int(w).bit_count() > 0 for w in t.cylinders.ravel())

    def test_source_index_points_back_to_the_minutiae(self, fingers: list[tuple[Minutiae, Minutiae]]) -> None:
        m = fingers[2][0]
        t = fp.make_template(m)
        assert t.minutiae_count == len(m)
        np.testing.assert_array_equal(t.x, m.x[t.source_index])
        np.testing.assert_array_equal(t.y, m.y[t.source_index])

    def test_isolated_minutiae_get_no_cylinder(self) -> None:
        # two clusters far apart: a minutia needs two neighbours within R + 3σS
        t = fp.make_template(to_minutiae([10, 30, 400], [10, 20, 400], [0.1, 1.0, 2.0]))
        assert len(t) == 0

    def test_batch_names_the_bad_impression(self, fingers: list[tuple[Minutiae, Minutiae]]) -> None:
        bad = to_minutiae([1.0, float("nan")], [1.0, 2.0], [0.0, 0.0])
        with pytest.raises(ValueError, match=r"impressions\[1\].*minutiae\.x"):
            fp.make_templates([fingers[0][0], bad])


class TestInvalidInput:
    def test_nan_coordinate_is_rejected(self) -> None:
        with pytest.raises(ValueError, match=r"minutiae\.y: value at index 1 is not finite"):
            fp.make_template(to_minutiae([1, 2, 3], [1, np.nan, 3], [0, 0, 0]))

    def test_infinite_angle_is_rejected(self) -> None:
        with pytest.raises(ValueError, match=r"minutiae\.angle: value at index 0 is not finite"):
            fp.make_template(to_minutiae([1], [1], [np.inf]))

    def test_mismatched_lengths_are_rejected(self) -> None:
        m = Minutiae(
            x=np.zeros(3, np.float32),
            y=np.zeros(2, np.float32),
            angle=np.zeros(3, np.float32),
            kind=np.ones(3, np.uint8),
            quality=np.ones(3, np.uint8),
        )
        with pytest.raises(ValueError, match="columns must have equal lengths"):
            fp.make_template(m)

    def test_angle_outside_a_turn_is_rejected(self) -> None:
        with pytest.raises(ValueError, match=r"minutiae\.angle: .* outside \[0, 2π\]"):
            fp.make_template(to_minutiae([1, 2], [1, 2], [0.5, -0.1]))

    def test_too_many_minutiae_are_rejected(self) -> None:
        rng = np.random.default_rng(0)
        with pytest.raises(ValueError, match="256 minutiae is more than the 255 allowed"):
            fp.make_template(to_minutiae(rng.uniform(0, 500, 256), rng.uniform(0, 500, 256), np.zeros(256)))

    def test_match_rejects_non_templates(
        self, templates: list[tuple[FingerTemplate, FingerTemplate]]
    ) -> None:
        with pytest.raises(ValueError, match="candidate: must be FingerTemplate"):
            fp.match(templates[0][0], "nope")  # type: ignore[arg-type]

    def test_match_many_rejects_out_of_range_indices(
        self, templates: list[tuple[FingerTemplate, FingerTemplate]]
    ) -> None:
        gallery = fp.pack_templates([b for _, b in templates])
        with pytest.raises(ValueError, match=r"indices: values must lie in \[0, 12\)"):
            fp.match_many(templates[0][0], gallery, [0, 12])
        with pytest.raises(ValueError, match="indices: must be a 1-d array of integers"):
            fp.match_many(templates[0][0], gallery, [0.5])

    def test_match_many_rejects_bad_options(
        self, templates: list[tuple[FingerTemplate, FingerTemplate]]
    ) -> None:
        gallery = fp.pack_templates([b for _, b in templates])
        with pytest.raises(ValueError, match="consolidation: must be a Consolidation"):
            fp.match_many(templates[0][0], gallery, consolidation="lss")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=r"max_relaxed_pairs: must be an integer in \[1, 255\]"):
            fp.match_many(templates[0][0], gallery, max_relaxed_pairs=0)

    def test_template_with_wrong_dtype_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="masks: must have dtype uint64"):
            FingerTemplate(
                cylinders=np.zeros((1, fp.SECTIONS), np.uint64),
                masks=np.zeros(1, np.int64),
                x=np.zeros(1, np.float32),
                y=np.zeros(1, np.float32),
                angle=np.zeros(1, np.float32),
                source_index=np.zeros(1, np.int16),
                minutiae_count=1,
            )


class TestScores:
    @pytest.mark.parametrize("consolidation", BOTH)
    def test_impression_against_itself_scores_about_one(
        self, templates: list[tuple[FingerTemplate, FingerTemplate]], consolidation: Consolidation
    ) -> None:
        for a, _ in templates[:4]:
            assert fp.match(a, a, consolidation=consolidation) > 0.9

    @pytest.mark.parametrize("consolidation", BOTH)
    def test_rotated_and_translated_copy_scores_like_the_original(
        self, fingers: list[tuple[Minutiae, Minutiae]], consolidation: Consolidation
    ) -> None:
        m = fingers[3][0]
        original = fp.make_template(m)
        self_score = fp.match(original, original, consolidation=consolidation)
        for degrees, shift in ((17.0, (23.0, -31.0)), (-25.0, (-40.0, 12.0)), (60.0, (5.0, 5.0))):
            x, y, a = rigid(
                m.x.astype(np.float64), m.y.astype(np.float64), m.angle.astype(np.float64), degrees, shift
            )
            moved = fp.make_template(to_minutiae(x, y, a))
            score = fp.match(original, moved, consolidation=consolidation)
            assert score > 0.9
            assert abs(score - self_score) < 0.05

    @pytest.mark.parametrize("consolidation", BOTH)
    def test_scores_lie_in_the_unit_interval(
        self, templates: list[tuple[FingerTemplate, FingerTemplate]], consolidation: Consolidation
    ) -> None:
        gallery = fp.pack_templates([b for _, b in templates])
        for a, _ in templates:
            s = fp.match_many(a, gallery, consolidation=consolidation)
            assert s.dtype == np.float32
            assert np.all((s >= 0.0) & (s <= 1.0))

    def test_genuine_pairs_score_far_above_impostors_with_relaxation(
        self, templates: list[tuple[FingerTemplate, FingerTemplate]]
    ) -> None:
        gen, imp = self._scores(templates, Consolidation.LSSR)
        assert gen.mean() > 3.0 * imp.mean()
        assert np.median(gen) > imp.max()

    def test_genuine_pairs_score_above_impostors_with_lss(
        self, templates: list[tuple[FingerTemplate, FingerTemplate]]
    ) -> None:
        gen, imp = self._scores(templates, Consolidation.LSS)
        assert gen.mean() > imp.mean() + 0.05
        assert np.median(gen) > np.quantile(imp, 0.95)

    @staticmethod
    def _scores(
        templates: list[tuple[FingerTemplate, FingerTemplate]], consolidation: Consolidation
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        gallery = fp.pack_templates([b for _, b in templates])
        s = np.stack([fp.match_many(a, gallery, consolidation=consolidation) for a, _ in templates])
        off = ~np.eye(len(templates), dtype=bool)
        return np.diag(s), s[off]

    @pytest.mark.parametrize("n", [0, 1, 2])
    @pytest.mark.parametrize("consolidation", BOTH)
    def test_tiny_impressions_score_zero(
        self, templates: list[tuple[FingerTemplate, FingerTemplate]], n: int, consolidation: Consolidation
    ) -> None:
        tiny = fp.make_template(to_minutiae([200, 220][:n], [200, 230][:n], [0.5, 1.5][:n]))
        assert len(tiny) == 0
        normal = templates[0][0]
        assert fp.match(tiny, normal, consolidation=consolidation) == 0.0
        assert fp.match(normal, tiny, consolidation=consolidation) == 0.0
        assert fp.match(tiny, tiny, consolidation=consolidation) == 0.0
        gallery = fp.pack_templates([tiny, normal, tiny])
        s = fp.match_many(normal, gallery, consolidation=consolidation)
        assert s[0] == 0.0
        assert s[2] == 0.0
        assert s[1] > 0.9

    def test_smaller_relaxation_cap_still_separates(
        self, templates: list[tuple[FingerTemplate, FingerTemplate]]
    ) -> None:
        a, b = templates[5]
        other = templates[6][1]
        assert fp.match(a, b, max_relaxed_pairs=8) > fp.match(a, other, max_relaxed_pairs=8)


def _popcount(words: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    """Bits set per element (portable: no numpy >= 2 bitwise_count)."""
    as_bytes = words.astype("<u8").view(np.uint8).reshape(*words.shape, 8)
    return np.unpackbits(as_bytes, axis=-1).sum(axis=-1).astype(np.int64)


def reference_lss(a: FingerTemplate, b: FingerTemplate) -> float:
    """LSS written out with numpy: the mean of the nP best local similarities over the pairs whose
    directions differ by less than π/2 and that share enough valid cells."""
    if len(a) == 0 or len(b) == 0:
        return 0.0
    from ektp.abis.match import mcc_kernels as k

    ca, cb = a.cylinders[:, None, :], b.cylinders[None, :, :]
    ma, mb = a.masks[:, None, None], b.masks[None, :, None]
    na = _popcount(ca & mb).sum(axis=-1)
    nb = _popcount(cb & ma).sum(axis=-1)
    nx = _popcount((ca & mb) ^ (cb & ma)).sum(axis=-1)
    common = _popcount(a.masks[:, None] & b.masks[None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        lam = 1.0 - np.sqrt(nx) / (np.sqrt(na) + np.sqrt(nb))
    d = np.abs((a.angle[:, None].astype(np.float64) - b.angle[None, :] + np.pi) % (2 * np.pi) - np.pi)
    ok = (common >= k.MIN_COMMON_CELLS) & (na + nb > 0) & (d < np.pi / 2)
    values = np.sort(np.where(ok, lam, 0.0).ravel())[::-1]
    n_p = k.number_of_pairs(len(a), len(b))
    return float(values[:n_p].sum() / n_p)


class TestKernelAgainstReference:
    def test_lss_equals_the_numpy_reference(
        self, templates: list[tuple[FingerTemplate, FingerTemplate]]
    ) -> None:
        # the kernel selects the best pairs without sorting (thresholds counted on block maxima);
        # the result must be the exact mean of the nP best similarities
        gallery = fp.pack_templates([t for pair in templates for t in pair])
        for probe, _ in templates:
            got = fp.match_many(probe, gallery, consolidation=Consolidation.LSS)
            want = [reference_lss(probe, gallery.template(g)) for g in range(len(gallery))]
            np.testing.assert_allclose(got, want, rtol=0, atol=2e-6)

    def test_lss_with_many_tied_similarities(self) -> None:
        # a regular grid with one direction: many cylinders are identical, so most similarities tie
        xs, ys = np.meshgrid(np.arange(150.0, 350.0, 25.0), np.arange(150.0, 350.0, 25.0))
        grid = fp.make_template(to_minutiae(xs.ravel(), ys.ravel(), np.full(xs.size, 0.3)))
        assert len(grid) > 30
        lss = fp.match(grid, grid, consolidation=Consolidation.LSS)
        assert lss > 0.9
        assert abs(lss - reference_lss(grid, grid)) < 2e-6
        # (LSS-R may pick shifted pairs among the ties: only its range is certain here)
        assert 0.0 < fp.match(grid, grid, consolidation=Consolidation.LSSR) <= 1.0

    def test_relaxation_of_more_than_32_pairs(
        self, templates: list[tuple[FingerTemplate, FingerTemplate]]
    ) -> None:
        # nR > 32 takes the relaxation's two-block path
        gallery = fp.pack_templates([b for _, b in templates])
        wide = np.stack([fp.match_many(a, gallery, max_relaxed_pairs=64) for a, _ in templates])
        assert np.all((wide >= 0.0) & (wide <= 1.0))
        assert np.all(np.argmax(wide, axis=1) == np.arange(len(templates)))
        a = templates[0][0]
        assert fp.match(a, a, max_relaxed_pairs=64) > 0.9


class TestOneToMany:
    @pytest.mark.parametrize("consolidation", BOTH)
    def test_one_to_one_equals_one_to_many(
        self, templates: list[tuple[FingerTemplate, FingerTemplate]], consolidation: Consolidation
    ) -> None:
        candidates = [t for pair in templates for t in pair]
        gallery = fp.pack_templates(candidates)
        for probe, _ in templates[:5]:
            many = fp.match_many(probe, gallery, consolidation=consolidation)
            single = np.array(
                [fp.match(probe, c, consolidation=consolidation) for c in candidates], np.float32
            )
            np.testing.assert_array_equal(many, single)

    def test_indices_select_reorder_and_repeat(
        self, templates: list[tuple[FingerTemplate, FingerTemplate]]
    ) -> None:
        gallery = fp.pack_templates([b for _, b in templates])
        probe = templates[4][0]
        full = fp.match_many(probe, gallery)
        idx = np.array([7, 4, 4, 0], dtype=np.int32)
        np.testing.assert_array_equal(fp.match_many(probe, gallery, idx), full[idx])
        assert fp.match_many(probe, gallery, []).shape == (0,)

    def test_empty_gallery(self, templates: list[tuple[FingerTemplate, FingerTemplate]]) -> None:
        gallery = fp.pack_templates([])
        assert len(gallery) == 0
        assert fp.match_many(templates[0][0], gallery).shape == (0,)


class TestSerialisation:
    def test_template_bytes_round_trip(self, templates: list[tuple[FingerTemplate, FingerTemplate]]) -> None:
        t = templates[0][0]
        data = t.to_bytes()
        back = FingerTemplate.from_bytes(data)
        assert back == t
        assert fp.match(back, templates[0][1]) == fp.match(t, templates[0][1])

    def test_empty_template_round_trip(self) -> None:
        t = fp.make_template(to_minutiae([], [], []))
        assert FingerTemplate.from_bytes(t.to_bytes()) == t

    def test_corrupt_bytes_are_rejected(self, templates: list[tuple[FingerTemplate, FingerTemplate]]) -> None:
        data = templates[0][0].to_bytes()
        with pytest.raises(ValueError, match="magic"):
            FingerTemplate.from_bytes(b"XXXX" + data[4:])
        with pytest.raises(ValueError, match="version"):
            FingerTemplate.from_bytes(data[:4] + bytes([99]) + data[5:])
        with pytest.raises(ValueError, match="cylinders need"):
            FingerTemplate.from_bytes(data[:-1])
        with pytest.raises(ValueError, match="shorter than the 10-byte header"):
            FingerTemplate.from_bytes(data[:3])

    def test_packed_gallery_round_trips_through_memory_mapped_files(
        self, templates: list[tuple[FingerTemplate, FingerTemplate]], tmp_path: Path
    ) -> None:
        gallery = fp.pack_templates([b for _, b in templates])
        for name, arr in gallery.arrays().items():
            np.save(tmp_path / f"{name}.npy", arr)
        mapped = PackedFingerGallery.from_arrays(
            {name: np.load(tmp_path / f"{name}.npy", mmap_mode="r") for name in gallery.arrays()}
        )
        assert len(mapped) == len(gallery)
        assert mapped.template(3) == templates[3][1]
        probe = templates[3][0]
        np.testing.assert_array_equal(fp.match_many(probe, mapped), fp.match_many(probe, gallery))

    def test_packed_gallery_checks_its_arrays(
        self, templates: list[tuple[FingerTemplate, FingerTemplate]]
    ) -> None:
        arrays = fp.pack_templates([b for _, b in templates]).arrays()
        with pytest.raises(ValueError, match="arrays: missing masks"):
            PackedFingerGallery.from_arrays({k: v for k, v in arrays.items() if k != "masks"})
        broken = dict(arrays)
        broken["x"] = broken["x"][:-1]
        with pytest.raises(ValueError, match="x: must have shape"):
            PackedFingerGallery.from_arrays(broken)
        with pytest.raises(IndexError, match="index: 12 is outside the gallery of 12 templates"):
            fp.PackedFingerGallery.from_arrays(arrays).template(12)


class TestProperties:
    @settings(max_examples=25, deadline=None)
    @given(
        seed=st.integers(0, 2**32 - 1),
        n_a=st.integers(0, 60),
        n_b=st.integers(0, 60),
        lssr=st.booleans(),
    )
    def test_any_pair_of_impressions_scores_in_unit_interval(
        self, seed: int, n_a: int, n_b: int, lssr: bool
    ) -> None:
        rng = np.random.default_rng(seed)

        def random_impression(n: int) -> FingerTemplate:
            return fp.make_template(
                to_minutiae(rng.uniform(0, 500, n), rng.uniform(0, 500, n), rng.uniform(0, 2 * np.pi, n))
            )

        a, b = random_impression(n_a), random_impression(n_b)
        consolidation = Consolidation.LSSR if lssr else Consolidation.LSS
        s = fp.match(a, b, consolidation=consolidation)
        assert 0.0 <= s <= 1.0
        if len(a) == 0 or len(b) == 0:
            assert s == 0.0
