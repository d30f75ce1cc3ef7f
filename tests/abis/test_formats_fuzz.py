"""Readers only ever raise FormatError: arbitrary bytes and mutated valid records."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ektp.abis.formats import (
    CertificationBlock,
    ExtendedDataArea,
    FingerMinutiaeRecord,
    FingerView,
    FormatError,
    QualityBlock,
    minutiae_to_fmr,
    read_cbeff,
    read_face_embedding,
    read_fmr,
    read_iriscode,
    write_cbeff,
    write_face_embedding,
    write_fmr,
    write_iriscode,
)
from ektp.abis.formats.iso19794_2 import RADIANS_PER_UNIT
from ektp.abis.types import BiometricSample, EyePosition, FaceEmbedding, FingerPosition, IrisCode, Minutiae


def minutiae(seed: int, n: int) -> Minutiae:
    rng = np.random.default_rng(seed)
    return Minutiae(
        x=rng.integers(0, 500, n).astype(np.float32),
        y=rng.integers(0, 500, n).astype(np.float32),
        angle=(rng.integers(0, 256, n) * RADIANS_PER_UNIT).astype(np.float32),
        kind=rng.integers(0, 3, n).astype(np.uint8),
        quality=rng.integers(0, 101, n).astype(np.uint8),
    )


def seeds() -> dict[str, tuple[Callable[[bytes], object], list[bytes]]]:
    fingers = {FingerPosition.LEFT_INDEX: minutiae(1, 6), FingerPosition.RIGHT_THUMB: minutiae(2, 3)}
    rich = FingerView(
        position=FingerPosition.LEFT_RING,
        minutiae=minutiae(3, 4),
        quality=90,
        extended_data=(ExtendedDataArea.of(1, b"\x00\x01\x02\x05"), ExtendedDataArea.of(0x0101, b"vendor")),
        quality_blocks=(QualityBlock(90, 1, 2),),
        certification_blocks=(CertificationBlock(3, 4),),
    )
    rng = np.random.default_rng(4)
    iris = IrisCode(rng.integers(0, 256, 256, dtype=np.uint8), rng.integers(0, 256, 256, dtype=np.uint8))
    face = FaceEmbedding(rng.normal(size=16).astype(np.float32))
    sample = BiometricSample(
        fingers={FingerPosition.LEFT_INDEX: minutiae(5, 2)}, irises={EyePosition.LEFT: iris}, face=face
    )
    return {
        "fmr2005": (read_fmr, [minutiae_to_fmr(fingers, "2005")]),
        "fmr2011": (
            read_fmr,
            [
                minutiae_to_fmr(fingers, "2011"),
                write_fmr(FingerMinutiaeRecord(views=(rich,), certification_flag=True), version="2011"),
            ],
        ),
        "iriscode": (read_iriscode, [write_iriscode(iris)]),
        "face": (
            read_face_embedding,
            [write_face_embedding(face, dtype=d) for d in ("float32", "float16", "int8")],
        ),
        "cbeff": (read_cbeff, [write_cbeff(sample)]),
    }


SEEDS = seeds()
READERS = {name: reader for name, (reader, _) in SEEDS.items()}


def only_format_errors(reader: Callable[[bytes], object], data: bytes) -> None:
    caught: FormatError | None = None
    try:
        reader(data)
    except FormatError as error:
        caught = error
    if caught is not None:
        assert caught.field
        assert caught.offset is not None or caught.xpath is not None


mutation = st.tuples(
    st.sampled_from(["flip", "set", "truncate", "insert", "delete", "splice"]),
    st.integers(0, 10_000),
    st.binary(min_size=1, max_size=8),
)


def mutate(data: bytes, steps: list[tuple[str, int, bytes]], other: bytes) -> bytes:
    out = bytearray(data)
    for op, where, payload in steps:
        i = where % (len(out) + 1)
        if op == "flip" and i < len(out):
            out[i] ^= 1 << (payload[0] % 8)
        elif op == "set" and i < len(out):
            out[i] = payload[0]
        elif op == "truncate":
            del out[i:]
        elif op == "insert":
            out[i:i] = payload
        elif op == "delete":
            del out[i : i + len(payload)]
        elif op == "splice":
            j = where % (len(other) + 1)
            out = out[:i] + bytearray(other[j:])
    return bytes(out)


@pytest.mark.parametrize("name", sorted(READERS))
class TestReadersOnlyRaiseFormatError:
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.binary(max_size=600))
    def test_arbitrary_bytes(self, name: str, data: bytes) -> None:
        only_format_errors(READERS[name], data)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        choice=st.integers(0, 100),
        steps=st.lists(mutation, min_size=1, max_size=4),
        fix_crc=st.booleans(),
    )
    def test_mutated_valid_records(
        self, name: str, choice: int, steps: list[tuple[str, int, bytes]], fix_crc: bool
    ) -> None:
        reader, valid = SEEDS[name]
        base = valid[choice % len(valid)]
        data = mutate(base, steps, valid[(choice + 1) % len(valid)])
        if fix_crc and name in ("iriscode", "face") and len(data) > 4:
            data = data[:-4] + zlib.crc32(data[:-4]).to_bytes(4, "big")
        only_format_errors(reader, data)


class TestFormatAwarePrefixes:
    @settings(max_examples=200, deadline=None)
    @given(version=st.sampled_from([b" 20\x00", b"030\x00"]), tail=st.binary(max_size=300))
    def test_fmr_header_followed_by_noise(self, version: bytes, tail: bytes) -> None:
        only_format_errors(read_fmr, b"FMR\x00" + version + tail)

    @settings(max_examples=100, deadline=None)
    @given(blob=st.binary(max_size=200), modality=st.sampled_from(["Finger", "Iris", "Face"]))
    def test_cbeff_with_random_bdb(self, blob: bytes, modality: str) -> None:
        encoded = base64.b64encode(blob).decode()
        subtype = {"Finger": "<Subtype>Left Thumb</Subtype>", "Iris": "<Subtype>Left</Subtype>", "Face": ""}
        formats = {"Finger": ("Mosip", "2"), "Iris": ("EKTP", "1"), "Face": ("EKTP", "2")}
        document = (
            "<BIR><BIR><BDBInfo><Format><Organization>{}</Organization><Type>{}</Type></Format>"
            "<Type>{}</Type>{}</BDBInfo><BDB>{}</BDB></BIR></BIR>"
        ).format(*formats[modality], modality, subtype[modality], encoded)
        only_format_errors(read_cbeff, document.encode())
