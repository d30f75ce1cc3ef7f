"""The eKTP IrisCode and face-embedding containers."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ektp.abis.formats import (
    EncodeError,
    FormatError,
    read_face_embedding,
    read_iriscode,
    write_face_embedding,
    write_iriscode,
)
from ektp.abis.types import EyePosition, FaceEmbedding, IrisCode


def with_crc(body: bytes) -> bytes:
    return body + zlib.crc32(body).to_bytes(4, "big")


def iris(seed: int = 1, eye: EyePosition = EyePosition.RIGHT, quality: int = 88) -> IrisCode:
    rng = np.random.default_rng(seed)
    return IrisCode(
        code=rng.integers(0, 256, 256, dtype=np.uint8),
        mask=rng.integers(0, 256, 256, dtype=np.uint8),
        eye=eye,
        quality=quality,
    )


class TestIrisCode:
    @settings(max_examples=50, deadline=None)
    @given(
        hnp.arrays(np.uint8, 256),
        hnp.arrays(np.uint8, 256),
        st.sampled_from(list(EyePosition)),
        st.integers(0, 100),
    )
    def test_round_trip(self, code: np.ndarray, mask: np.ndarray, eye: EyePosition, quality: int) -> None:
        data = write_iriscode(IrisCode(code=code, mask=mask, eye=eye, quality=quality))
        back = read_iriscode(data)
        assert np.array_equal(back.code, code)
        assert np.array_equal(back.mask, mask)
        assert (back.eye, back.quality) == (eye, quality)
        assert back.code.flags.writeable

    def test_layout(self) -> None:
        data = write_iriscode(iris(eye=EyePosition.LEFT, quality=77))
        assert len(data) == 526
        assert data[:10] == b"EKIC\x01\x02\x4d\x00\x08\x00"
        assert int.from_bytes(data[-4:], "big") == zlib.crc32(data[:-4])

    def test_wrong_magic(self) -> None:
        with pytest.raises(FormatError) as caught:
            read_iriscode(b"EKFE" + write_iriscode(iris())[4:])
        assert (caught.value.field, caught.value.offset) == ("magic", 0)

    def test_truncated(self) -> None:
        with pytest.raises(FormatError) as caught:
            read_iriscode(write_iriscode(iris())[:300])
        assert caught.value.field == "mask"
        assert caught.value.offset == 300

    def test_every_truncation_is_a_format_error(self) -> None:
        data = write_iriscode(iris())
        for cut in (0, 3, 4, 9, 10, 265, 266, 521, 522, 525):
            with pytest.raises(FormatError):
                read_iriscode(data[:cut])

    def test_corrupted_bit_fails_the_crc(self) -> None:
        data = bytearray(write_iriscode(iris()))
        data[100] ^= 0x01
        with pytest.raises(FormatError) as caught:
            read_iriscode(bytes(data))
        assert (caught.value.field, caught.value.offset) == ("crc32", 522)

    def test_wrong_code_size(self) -> None:
        data = bytearray(write_iriscode(iris()))
        data[8:10] = (1024).to_bytes(2, "big")
        with pytest.raises(FormatError) as caught:
            read_iriscode(with_crc(bytes(data[:-4])))
        assert (caught.value.field, caught.value.offset) == ("code_bits", 8)

    def test_bad_eye_and_quality(self) -> None:
        body = bytearray(write_iriscode(iris())[:-4])
        body[5] = 3
        with pytest.raises(FormatError) as caught:
            read_iriscode(with_crc(bytes(body)))
        assert (caught.value.field, caught.value.offset) == ("eye", 5)
        body[5] = 1
        body[6] = 101
        with pytest.raises(FormatError) as caught:
            read_iriscode(with_crc(bytes(body)))
        assert (caught.value.field, caught.value.offset) == ("quality", 6)

    def test_trailing_bytes(self) -> None:
        with pytest.raises(FormatError) as caught:
            read_iriscode(write_iriscode(iris()) + b"\x00")
        assert (caught.value.field, caught.value.offset) == ("length", 526)

    def test_writer_refuses_wrong_shapes_and_values(self) -> None:
        good = iris()
        with pytest.raises(EncodeError) as caught:
            write_iriscode(IrisCode(code=good.code[:128], mask=good.mask))
        assert caught.value.field == "code"
        with pytest.raises(EncodeError) as caught:
            write_iriscode(IrisCode(code=good.code, mask=good.mask.astype(np.int16)))
        assert caught.value.field == "mask"
        with pytest.raises(EncodeError) as caught:
            write_iriscode(IrisCode(code=good.code, mask=good.mask, quality=101))
        assert caught.value.field == "quality"


vectors = hnp.arrays(
    np.float32,
    st.integers(1, 600),
    elements=st.floats(-1e6, 1e6, allow_nan=False, width=32),
).filter(lambda v: np.max(np.abs(v)) > 1e-3)


class TestFaceEmbedding:
    @settings(max_examples=60, deadline=None)
    @given(vectors, st.sampled_from(["float32", "float16", "int8"]), st.integers(0, 100))
    def test_round_trip_is_unit_norm_and_close(self, vector: np.ndarray, dtype: str, quality: int) -> None:
        back = read_face_embedding(write_face_embedding(FaceEmbedding(vector, quality), dtype=dtype))  # type: ignore[arg-type]
        assert back.vector.dtype == np.float32
        assert back.vector.shape == vector.shape
        assert back.quality == quality
        assert abs(float(np.linalg.norm(back.vector)) - 1.0) < 1e-5
        unit = vector.astype(np.float64) / np.linalg.norm(vector.astype(np.float64))
        tolerance = {"float32": 1e-6, "float16": 1e-3, "int8": 6e-3 * np.sqrt(len(vector))}[dtype]
        assert float(np.max(np.abs(back.vector - unit))) <= tolerance

    def test_layout(self) -> None:
        data = write_face_embedding(
            FaceEmbedding(np.array([3.0, 4.0], dtype=np.float32), 90), dtype="float32"
        )
        assert data[:9] == b"EKFE\x01\x00\x02\x00\x5a"
        assert np.frombuffer(data[9:17], dtype=">f4").tolist() == pytest.approx([0.6, 0.8])
        assert len(data) == 9 + 8 + 4
        int8 = write_face_embedding(FaceEmbedding(np.array([3.0, 4.0], dtype=np.float32), 90), dtype="int8")
        assert len(int8) == 9 + 4 + 2 + 4
        assert int8[7] == 2

    def test_reader_refuses_a_zero_vector(self) -> None:
        body = b"EKFE\x01\x00\x02\x00\x10" + np.zeros(2, dtype=">f4").tobytes()
        with pytest.raises(FormatError) as caught:
            read_face_embedding(with_crc(body))
        assert (caught.value.field, caught.value.offset) == ("vector", 9)

    def test_reader_refuses_non_finite_components(self) -> None:
        body = b"EKFE\x01\x00\x02\x01\x10" + np.array([1.0, np.inf], dtype=">f2").tobytes()
        with pytest.raises(FormatError) as caught:
            read_face_embedding(with_crc(body))
        assert (caught.value.field, caught.value.offset) == ("vector[1]", 11)

    def test_reader_refuses_a_bad_int8_scale(self) -> None:
        body = b"EKFE\x01\x00\x02\x02\x10" + np.array([-1.0], dtype=">f4").tobytes() + b"\x01\x02"
        with pytest.raises(FormatError) as caught:
            read_face_embedding(with_crc(body))
        assert (caught.value.field, caught.value.offset) == ("scale", 9)

    def test_reader_refuses_unknown_dtype_and_zero_dimension(self) -> None:
        with pytest.raises(FormatError) as caught:
            read_face_embedding(with_crc(b"EKFE\x01\x00\x02\x03\x10" + b"\x00" * 8))
        assert (caught.value.field, caught.value.offset) == ("dtype", 7)
        with pytest.raises(FormatError) as caught:
            read_face_embedding(with_crc(b"EKFE\x01\x00\x00\x00\x10"))
        assert (caught.value.field, caught.value.offset) == ("dimension", 5)

    def test_reader_refuses_truncation_and_bad_crc(self) -> None:
        data = write_face_embedding(FaceEmbedding(np.ones(128, dtype=np.float32)))
        with pytest.raises(FormatError) as caught:
            read_face_embedding(data[:100])
        assert (caught.value.field, caught.value.offset) == ("vector", 100)
        damaged = bytearray(data)
        damaged[50] ^= 0x80
        with pytest.raises(FormatError) as caught:
            read_face_embedding(bytes(damaged))
        assert caught.value.field == "crc32"

    def test_writer_refuses_bad_vectors(self) -> None:
        for vector, field in (
            (np.zeros(4, dtype=np.float32), "vector"),
            (np.array([1.0, np.nan], dtype=np.float32), "vector"),
            (np.ones((2, 2), dtype=np.float32), "vector"),
        ):
            with pytest.raises(EncodeError) as caught:
                write_face_embedding(FaceEmbedding(vector))
            assert caught.value.field == field
        with pytest.raises(EncodeError) as caught:
            write_face_embedding(FaceEmbedding(np.ones(4, dtype=np.float32)), dtype="bfloat16")  # type: ignore[arg-type]
        assert caught.value.field == "dtype"
