"""Plain data types shared by the ABIS formats, generator, matchers and fusion.

The ABIS is a pure library: numpy arrays and frozen dataclasses, no ORM and no web. Reference ids
are opaque strings; no NIK or name ever enters the ABIS."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

#: IrisCode size (bits) as in Daugman's 2048-bit code; the mask has the same size.
IRIS_CODE_BITS = 2048
IRIS_CODE_BYTES = IRIS_CODE_BITS // 8


class FingerPosition(enum.IntEnum):
    """ISO/IEC 19794-2 finger position codes (0 = unknown)."""

    UNKNOWN = 0
    RIGHT_THUMB = 1
    RIGHT_INDEX = 2
    RIGHT_MIDDLE = 3
    RIGHT_RING = 4
    RIGHT_LITTLE = 5
    LEFT_THUMB = 6
    LEFT_INDEX = 7
    LEFT_MIDDLE = 8
    LEFT_RING = 9
    LEFT_LITTLE = 10


TEN_FINGERS: tuple[FingerPosition, ...] = tuple(FingerPosition(i) for i in range(1, 11))


class MinutiaType(enum.IntEnum):
    """ISO/IEC 19794-2 minutia types (2 bits)."""

    OTHER = 0
    RIDGE_ENDING = 1
    BIFURCATION = 2


class EyePosition(enum.IntEnum):
    """ISO/IEC 19794-6 eye labels."""

    UNDEFINED = 0
    RIGHT = 1
    LEFT = 2


@dataclass(frozen=True)
class Minutiae:
    """One finger impression as minutiae.

    Columns are parallel arrays of equal length:
    ``x``, ``y`` in pixels (origin top-left), ``angle`` in radians in [0, 2π) measured
    anticlockwise from the x axis, ``kind`` a ``MinutiaType`` value, ``quality`` 0–100.
    ``resolution_ppcm`` is the scan resolution in pixels per centimetre (197 ≈ 500 dpi).
    """

    x: npt.NDArray[np.float32]
    y: npt.NDArray[np.float32]
    angle: npt.NDArray[np.float32]
    kind: npt.NDArray[np.uint8]
    quality: npt.NDArray[np.uint8]
    position: FingerPosition = FingerPosition.UNKNOWN
    impression_quality: int = 100
    width: int = 500
    height: int = 500
    resolution_ppcm: int = 197

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def as_array(self) -> npt.NDArray[np.float32]:
        """An (n, 3) float32 array of x, y, angle: the layout the matchers take."""
        return np.stack([self.x, self.y, self.angle], axis=1).astype(np.float32, copy=False)


@dataclass(frozen=True)
class IrisCode:
    """A 2048-bit iris code and its 2048-bit validity mask (1 = bit usable), packed MSB first."""

    code: npt.NDArray[np.uint8]  # shape (256,)
    mask: npt.NDArray[np.uint8]  # shape (256,)
    eye: EyePosition = EyePosition.UNDEFINED
    quality: int = 100


@dataclass(frozen=True)
class FaceEmbedding:
    """A unit-norm face embedding (float32, typically 128 or 512 dimensions)."""

    vector: npt.NDArray[np.float32]
    quality: int = 100


@dataclass(frozen=True)
class BiometricSample:
    """Everything captured for one person at one recording. Missing modalities are absent keys or
    ``None``: a missing finger is not an empty one."""

    fingers: dict[FingerPosition, Minutiae] = field(default_factory=dict)
    irises: dict[EyePosition, IrisCode] = field(default_factory=dict)
    face: FaceEmbedding | None = None
