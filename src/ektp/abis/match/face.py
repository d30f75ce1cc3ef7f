"""Face matcher: cosine similarity between embeddings.

Score range [-1, 1], **higher = more similar** (1 = same direction). Embeddings are normally unit
vectors already (:class:`~ektp.abis.types.FaceEmbedding`), but both functions normalise anyway so
an int8 / float16 store can be passed as is. A zero vector has no direction: it is refused."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ektp.abis.types import FaceEmbedding
from ektp.kit.errors import invalid


def _vector(value: FaceEmbedding | npt.ArrayLike, name: str) -> npt.NDArray[np.float32]:
    raw = value.vector if isinstance(value, FaceEmbedding) else value
    vec = np.asarray(raw, dtype=np.float32)
    if vec.ndim != 1 or vec.shape[0] == 0:
        raise invalid(name, "shape", f"expected a 1-d embedding, got shape {vec.shape}")
    if not np.all(np.isfinite(vec)):
        raise invalid(name, "finite", "embedding has NaN or infinite values")
    norm = float(np.linalg.norm(vec))
    if norm == 0.0:
        raise invalid(name, "nonzero", "embedding is the zero vector")
    return vec / np.float32(norm)


def face_similarity(a: FaceEmbedding | npt.ArrayLike, b: FaceEmbedding | npt.ArrayLike) -> float:
    """1:1 cosine similarity in [-1, 1]."""
    va, vb = _vector(a, "a"), _vector(b, "b")
    if va.shape != vb.shape:
        raise invalid("b", "shape", f"dimension {vb.shape[0]} does not match {va.shape[0]}")
    return float(np.clip(np.dot(va, vb), -1.0, 1.0))


def normalise_rows(vectors: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """(m, d) embeddings → unit rows (float32), e.g. to build a gallery matrix once."""
    mat = np.asarray(vectors, dtype=np.float32)
    if mat.ndim != 2 or mat.shape[1] == 0:
        raise invalid("vectors", "shape", f"expected shape (m, d), got {mat.shape}")
    if not np.all(np.isfinite(mat)):
        raise invalid("vectors", "finite", "embeddings have NaN or infinite values")
    norms = np.linalg.norm(mat, axis=1, keepdims=True)
    if np.any(norms == 0.0):
        raise invalid("vectors", "nonzero", f"row {int(np.argmin(norms[:, 0]))} is the zero vector")
    return mat / norms


def face_similarity_many(
    probe: FaceEmbedding | npt.ArrayLike, gallery: npt.ArrayLike, *, normalised: bool = False
) -> npt.NDArray[np.float32]:
    """1:many cosine similarity (one matrix-vector product): ``gallery`` is (m, d); returns (m,)
    float32 in [-1, 1]. Pass ``normalised=True`` when the gallery rows are already unit vectors
    (from :func:`normalise_rows`) to skip re-normalising them on every search."""
    vec = _vector(probe, "probe")
    mat = np.asarray(gallery, dtype=np.float32) if normalised else normalise_rows(gallery)
    if mat.ndim != 2 or mat.shape[1] != vec.shape[0]:
        raise invalid("gallery", "shape", f"expected shape (m, {vec.shape[0]}), got {mat.shape}")
    return np.clip(mat @ vec, -1.0, 1.0).astype(np.float32, copy=False)
