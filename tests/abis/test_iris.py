"""Iris matcher: masked, rotation-searched, bit-count-normalised Hamming distance."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ektp.abis.match.iris import (
    IRIS_NO_OVERLAP,
    iris_distance,
    iris_distance_many,
    iris_distance_reference,
    pack_iris_grid,
    rotate_iris,
    unpack_iris_grid,
)
from ektp.abis.types import IrisCode
from ektp.kit.errors import ValidationFailed

FULL_MASK = np.full(256, 255, dtype=np.uint8)


def random_code(rng: np.random.Generator, mask_density: float = 1.0) -> IrisCode:
    code = rng.integers(0, 256, 256, dtype=np.uint8)
    mask_bits = rng.random((8, 256)) < mask_density
    return IrisCode(code=code, mask=pack_iris_grid(mask_bits))


class TestLayout:
    def test_pack_unpack_round_trip(self) -> None:
        bits = np.random.default_rng(1).integers(0, 2, (8, 256)).astype(np.uint8)
        assert np.array_equal(unpack_iris_grid(pack_iris_grid(bits)), bits)

    def test_byte_is_angular_column_with_row_zero_as_msb(self) -> None:
        bits = np.zeros((8, 256), dtype=np.uint8)
        bits[0, 3] = 1  # row 0 (innermost), column 3
        bits[7, 5] = 1  # row 7 (outermost), column 5
        packed = pack_iris_grid(bits)
        assert packed[3] == 0b1000_0000
        assert packed[5] == 0b0000_0001
        assert packed.sum() == 0b1000_0000 + 1

    def test_rotation_is_a_column_roll(self) -> None:
        bits = np.random.default_rng(2).integers(0, 2, (8, 256)).astype(np.uint8)
        assert np.array_equal(
            unpack_iris_grid(rotate_iris(pack_iris_grid(bits), 7)), np.roll(bits, 7, axis=1)
        )


class TestIrisDistance:
    def test_identical_code_scores_zero(self) -> None:
        a = random_code(np.random.default_rng(3))
        assert iris_distance(a, a) == pytest.approx(0.0, abs=1e-6)

    def test_unrelated_codes_score_near_half(self) -> None:
        rng = np.random.default_rng(4)
        a = random_code(rng)
        others = np.stack([random_code(rng).code for _ in range(200)])
        d = iris_distance_many(a, others, np.tile(FULL_MASK, (200, 1)), max_shift=0)
        # 2048 bits compared: normalised HD = 0.5 - (0.5 - raw)·sqrt(2048/911); raw ~ N(0.5, 0.011)
        assert 0.48 < float(d.mean()) < 0.52

    def test_rotated_code_is_recovered_by_the_shift_search(self) -> None:
        a = random_code(np.random.default_rng(5))
        turned = IrisCode(code=rotate_iris(a.code, 6), mask=rotate_iris(a.mask, 6))
        assert iris_distance(a, turned, max_shift=8) == pytest.approx(0.0, abs=1e-6)
        assert iris_distance(a, turned, max_shift=5) > 0.4  # outside the search: looks unrelated

    def test_normalisation_follows_daugman(self) -> None:
        rng = np.random.default_rng(6)
        a_bits = rng.integers(0, 2, (8, 256)).astype(np.uint8)
        b_bits = a_bits.copy()
        b_bits[:, :32] ^= 1  # 256 of 2048 bits differ: raw HD 0.125
        a = IrisCode(pack_iris_grid(a_bits), FULL_MASK)
        b = IrisCode(pack_iris_grid(b_bits), FULL_MASK)
        expected = 0.5 - (0.5 - 0.125) * math.sqrt(2048 / 911)
        assert iris_distance(a, b, max_shift=0) == pytest.approx(max(expected, 0.0), abs=1e-6)
        # with half the bits masked off the same raw HD is pulled towards 0.5
        half_mask = pack_iris_grid(np.concatenate([np.ones((4, 256)), np.zeros((4, 256))]))
        a_half = IrisCode(a.code, half_mask)
        b_bits2 = a_bits.copy()
        b_bits2[:4, :32] ^= 1  # 128 of the 1024 usable bits differ: raw 0.125 again
        b_half = IrisCode(pack_iris_grid(b_bits2), half_mask)
        expected_half = 0.5 - (0.5 - 0.125) * math.sqrt(1024 / 911)
        assert iris_distance(a_half, b_half, max_shift=0) == pytest.approx(expected_half, abs=1e-6)

    def test_masked_bits_are_ignored(self) -> None:
        rng = np.random.default_rng(7)
        bits = rng.integers(0, 2, (8, 256)).astype(np.uint8)
        other = bits.copy()
        other[6:, :] ^= 1  # outer rows all differ...
        mask = np.ones((8, 256), dtype=np.uint8)
        mask[6:, :] = 0  # ...but are under the eyelid in the probe
        a = IrisCode(pack_iris_grid(bits), pack_iris_grid(mask))
        b = IrisCode(pack_iris_grid(other), FULL_MASK)
        assert iris_distance(a, b, max_shift=0) == pytest.approx(0.0, abs=1e-6)

    def test_too_few_common_bits_gives_no_overlap_score(self) -> None:
        a = random_code(np.random.default_rng(8))
        empty = IrisCode(a.code, np.zeros(256, dtype=np.uint8))
        assert iris_distance(a, empty) == IRIS_NO_OVERLAP
        assert iris_distance(a, a, min_bits=2048) == pytest.approx(0.0, abs=1e-6)
        sparse = IrisCode(a.code, pack_iris_grid(np.eye(8, 256, dtype=np.uint8)))
        assert iris_distance(a, sparse, min_bits=9) == IRIS_NO_OVERLAP

    def test_one_to_one_equals_one_to_many(self) -> None:
        rng = np.random.default_rng(9)
        probe = random_code(rng, 0.8)
        gallery = [random_code(rng, 0.8) for _ in range(30)]
        many = iris_distance_many(
            probe, np.stack([g.code for g in gallery]), np.stack([g.mask for g in gallery]), max_shift=8
        )
        single = np.asarray([iris_distance(probe, g, max_shift=8) for g in gallery], dtype=np.float32)
        assert np.array_equal(many, single)
        assert many.dtype == np.float32

    @settings(max_examples=40, deadline=None)
    @given(
        seed=st.integers(0, 2**32 - 1),
        density=st.floats(0.05, 1.0),
        max_shift=st.integers(0, 10),
        flip=st.floats(0.0, 0.5),
    )
    def test_compiled_kernel_matches_numpy_reference(
        self, seed: int, density: float, max_shift: int, flip: float
    ) -> None:
        rng = np.random.default_rng(seed)
        a = random_code(rng, density)
        noise = pack_iris_grid(rng.random((8, 256)) < flip)
        b = IrisCode(rotate_iris(a.code ^ noise, int(rng.integers(-12, 13))), random_code(rng, density).mask)
        fast = iris_distance(a, b, max_shift=max_shift, min_bits=64)
        slow = iris_distance_reference(a, b, max_shift=max_shift, min_bits=64)
        assert fast == pytest.approx(slow, abs=1e-5)

    def test_scores_stay_in_unit_interval(self) -> None:
        rng = np.random.default_rng(10)
        a = random_code(rng)
        inverse = IrisCode(np.bitwise_not(a.code), FULL_MASK)
        assert iris_distance(a, inverse, max_shift=0) == 1.0  # 0.5 + 0.5·sqrt(2048/911) clipped
        assert iris_distance(a, a) >= 0.0


class TestIrisInputErrors:
    def test_wrong_code_shape_names_the_field(self) -> None:
        a = random_code(np.random.default_rng(11))
        with pytest.raises(ValidationFailed) as err:
            iris_distance_many(a, np.zeros((3, 128), np.uint8), np.zeros((3, 128), np.uint8))
        assert err.value.problems[0].field == "codes"

    def test_mask_shape_must_match_codes(self) -> None:
        a = random_code(np.random.default_rng(12))
        with pytest.raises(ValidationFailed) as err:
            iris_distance_many(a, np.zeros((3, 256), np.uint8), np.zeros((2, 256), np.uint8))
        assert err.value.problems[0].field == "masks"

    def test_wrong_dtype_is_refused(self) -> None:
        a = random_code(np.random.default_rng(13))
        bad = IrisCode(a.code.astype(np.int16), a.mask)
        with pytest.raises(ValidationFailed) as err:
            iris_distance(bad, a)
        assert err.value.problems[0].field == "probe.code"

    def test_shift_range_is_checked(self) -> None:
        a = random_code(np.random.default_rng(14))
        with pytest.raises(ValidationFailed) as err:
            iris_distance(a, a, max_shift=200)
        assert err.value.problems[0].field == "max_shift"
