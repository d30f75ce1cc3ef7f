"""Shared helpers of the persistent-gallery, shard and batch tests: a small stage-1 encoder
(random-hyperplane SimHash of the face, so mates land near each other) that stands in for
:mod:`ektp.abis.gallery.stage1` where a test wants to be independent of it, and tiny cheap samples
for the crash tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ektp.abis.types import BiometricSample, EyePosition, FaceEmbedding, FingerPosition, IrisCode, Minutiae


@dataclass(frozen=True)
class FaceSimHash:
    """256 random hyperplanes through the face vector (sign bits); samples without a face get the
    first 32 bytes of their right iris code."""

    code_bytes: int = 32
    name: str = "test.face-simhash/v1"
    dim: int = 512
    seed: int = 99

    def encode(self, sample: BiometricSample) -> npt.NDArray[np.uint8]:
        if sample.face is not None:
            planes = np.random.default_rng(self.seed).standard_normal(
                (8 * self.code_bytes, sample.face.vector.shape[0])
            )
            bits = (planes @ sample.face.vector.astype(np.float64)) > 0
            return np.packbits(bits)
        iris = next(iter(sample.irises.values()), None)
        if iris is not None:
            return np.asarray(iris.code[: self.code_bytes], dtype=np.uint8).copy()
        return np.zeros(self.code_bytes, dtype=np.uint8)


def tiny_sample(index: int, *, fingers: int = 2, dim: int = 64) -> BiometricSample:
    """A cheap, deterministic sample (random minutiae, iris and face) for storage tests."""
    rng = np.random.default_rng([7, index])
    prints = {}
    for pos in list(FingerPosition)[1 : 1 + fingers]:
        n = 30
        prints[pos] = Minutiae(
            x=rng.uniform(100, 400, n).astype(np.float32),
            y=rng.uniform(100, 400, n).astype(np.float32),
            angle=rng.uniform(0, 2 * np.pi - 1e-3, n).astype(np.float32),
            kind=rng.integers(1, 3, n).astype(np.uint8),
            quality=np.full(n, 60, np.uint8),
            position=pos,
        )
    code = rng.integers(0, 256, 256).astype(np.uint8)
    mask = np.full(256, 255, np.uint8)
    face = rng.standard_normal(dim).astype(np.float32)
    return BiometricSample(
        fingers=prints,
        irises={EyePosition.RIGHT: IrisCode(code=code, mask=mask, eye=EyePosition.RIGHT)},
        face=FaceEmbedding(face / np.linalg.norm(face)),
    )
