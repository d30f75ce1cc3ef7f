"""Face matcher: cosine similarity."""

from __future__ import annotations

import numpy as np
import pytest

from ektp.abis.match.face import face_similarity, face_similarity_many, normalise_rows
from ektp.abis.types import FaceEmbedding
from ektp.kit.errors import ValidationFailed


def unit(v: np.ndarray) -> FaceEmbedding:
    v = np.asarray(v, dtype=np.float32)
    return FaceEmbedding(vector=v / np.linalg.norm(v))


class TestFaceSimilarity:
    def test_same_direction_is_one_and_opposite_is_minus_one(self) -> None:
        v = unit(np.arange(1, 513))
        assert face_similarity(v, v) == pytest.approx(1.0, abs=1e-6)
        assert face_similarity(v, FaceEmbedding(-v.vector)) == pytest.approx(-1.0, abs=1e-6)

    def test_orthogonal_is_zero(self) -> None:
        a = np.zeros(128, np.float32)
        b = np.zeros(128, np.float32)
        a[0], b[1] = 1.0, 1.0
        assert face_similarity(a, b) == pytest.approx(0.0, abs=1e-7)

    def test_unnormalised_input_is_normalised(self) -> None:
        rng = np.random.default_rng(1)
        a, b = rng.normal(size=64), rng.normal(size=64)
        expected = float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
        assert face_similarity(3.0 * a, 0.5 * b) == pytest.approx(expected, abs=1e-5)

    def test_one_to_many_equals_one_to_one(self) -> None:
        rng = np.random.default_rng(2)
        probe = rng.normal(size=512)
        gallery = rng.normal(size=(50, 512))
        many = face_similarity_many(probe, gallery)
        single = [face_similarity(probe, g) for g in gallery]
        assert many.shape == (50,)
        assert np.allclose(many, single, atol=1e-5)
        pre = face_similarity_many(probe, normalise_rows(gallery), normalised=True)
        assert np.allclose(pre, many, atol=1e-6)
        assert np.all((many >= -1.0) & (many <= 1.0))


class TestFaceInputErrors:
    def test_zero_vector_is_refused(self) -> None:
        with pytest.raises(ValidationFailed) as err:
            face_similarity(np.zeros(8), np.ones(8))
        assert err.value.problems[0].field == "a"

    def test_dimension_mismatch_names_the_field(self) -> None:
        with pytest.raises(ValidationFailed) as err:
            face_similarity(np.ones(8), np.ones(9))
        assert err.value.problems[0].field == "b"
        with pytest.raises(ValidationFailed) as err:
            face_similarity_many(np.ones(8), np.ones((3, 9)))
        assert err.value.problems[0].field == "gallery"

    def test_nan_is_refused(self) -> None:
        with pytest.raises(ValidationFailed) as err:
            face_similarity_many(np.ones(4), np.array([[1.0, np.nan, 0.0, 0.0]]))
        assert err.value.problems[0].rule == "finite"
