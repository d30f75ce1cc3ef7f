"""CBEFF XML as MOSIP packs it: round trips, a MOSIP-style document, and rejection by XML path."""

from __future__ import annotations

import base64
import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ektp.abis.formats import (
    EncodeError,
    FormatError,
    minutiae_to_fmr,
    read_birs,
    read_cbeff,
    write_cbeff,
    write_iriscode,
)
from ektp.abis.formats.iso19794_2 import RADIANS_PER_UNIT
from ektp.abis.types import BiometricSample, EyePosition, FaceEmbedding, FingerPosition, IrisCode, Minutiae

NS = "http://standards.iso.org/iso-iec/19785/-3/ed-2/"
WHEN = dt.datetime(2024, 5, 17, 8, 30, 15, 250000, tzinfo=dt.UTC)


def minutiae(seed: int, position: FingerPosition, n: int = 25) -> Minutiae:
    rng = np.random.default_rng(seed)
    return Minutiae(
        x=rng.integers(0, 500, n).astype(np.float32),
        y=rng.integers(0, 500, n).astype(np.float32),
        angle=(rng.integers(0, 256, n) * RADIANS_PER_UNIT).astype(np.float32),
        kind=rng.integers(0, 3, n).astype(np.uint8),
        quality=rng.integers(0, 101, n).astype(np.uint8),
        position=position,
        impression_quality=int(rng.integers(0, 101)),
    )


def iris(seed: int, eye: EyePosition) -> IrisCode:
    rng = np.random.default_rng(seed)
    return IrisCode(
        rng.integers(0, 256, 256, dtype=np.uint8), rng.integers(0, 256, 256, dtype=np.uint8), eye, 70
    )


def face(seed: int) -> FaceEmbedding:
    vector = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return FaceEmbedding((vector / np.linalg.norm(vector)).astype(np.float32), quality=64)


def assert_same_sample(back: BiometricSample, sample: BiometricSample) -> None:
    assert list(back.fingers) == sorted(sample.fingers)
    for position, original in sample.fingers.items():
        decoded = back.fingers[position]
        for name in ("x", "y", "angle", "kind", "quality"):
            assert np.array_equal(getattr(decoded, name), getattr(original, name)), name
        assert decoded.impression_quality == original.impression_quality
        assert decoded.position == position
    assert list(back.irises) == sorted(sample.irises)
    for eye, original_iris in sample.irises.items():
        assert np.array_equal(back.irises[eye].code, original_iris.code)
        assert np.array_equal(back.irises[eye].mask, original_iris.mask)
        assert back.irises[eye].eye == eye
    assert (back.face is None) == (sample.face is None)
    if sample.face is not None and back.face is not None:
        assert np.allclose(back.face.vector, sample.face.vector, atol=1e-6)
        assert back.face.quality == sample.face.quality


fingers_subsets = st.sets(st.sampled_from([p for p in FingerPosition if p != FingerPosition.UNKNOWN]))
eye_subsets = st.sets(st.sampled_from([EyePosition.RIGHT, EyePosition.LEFT]))


class TestRoundTrip:
    @settings(max_examples=25, deadline=None)
    @given(
        fingers_subsets, eye_subsets, st.booleans(), st.sampled_from(["2005", "2011"]), st.integers(0, 1000)
    )
    def test_random_subsets_survive(
        self, fingers: set[FingerPosition], eyes: set[EyePosition], with_face: bool, version: str, seed: int
    ) -> None:
        sample = BiometricSample(
            fingers={p: minutiae(seed + int(p), p) for p in fingers},
            irises={e: iris(seed + int(e), EyePosition.UNDEFINED) for e in eyes},
            face=face(seed) if with_face else None,
        )
        data = write_cbeff(sample, fmr_version=version, creation_date=WHEN)  # type: ignore[arg-type]
        assert_same_sample(read_cbeff(data), sample)

    def test_document_shape_matches_mosip(self) -> None:
        sample = BiometricSample(
            fingers={FingerPosition.LEFT_INDEX: minutiae(1, FingerPosition.LEFT_INDEX)},
            irises={EyePosition.RIGHT: iris(2, EyePosition.RIGHT)},
            face=face(3),
        )
        text = write_cbeff(sample, creation_date=WHEN, purpose="Identify").decode()
        assert text.startswith("<?xml version='1.0' encoding='UTF-8'?>")
        assert f'<BIR xmlns="{NS}">' in text
        for fragment in (
            "<Subtype>Left IndexFinger</Subtype>",
            "<Subtype>Right</Subtype>",
            "<Type>Face</Type>",
            "<Organization>Mosip</Organization>",
            "<CreationDate>2024-05-17T08:30:15.250Z</CreationDate>",
            "<Purpose>Identify</Purpose>",
            "<Level>Processed</Level>",
            "<Major>1</Major>",
            "<Integrity>false</Integrity>",
        ):
            assert fragment in text
        records = read_birs(text.encode())
        assert [(r.xpath, r.type, r.subtype) for r in records] == [
            ("/BIR/BIR[1]", "Finger", "Left IndexFinger"),
            ("/BIR/BIR[2]", "Iris", "Right"),
            ("/BIR/BIR[3]", "Face", ""),
        ]
        assert records[0].creation_date == WHEN
        assert records[0].quality_score == sample.fingers[FingerPosition.LEFT_INDEX].impression_quality
        assert records[0].quality_algorithm == ("EKTP", "1")
        assert records[0].bdb[:8] == b"FMR\x00030\x00"

    def test_empty_sample(self) -> None:
        assert read_cbeff(write_cbeff(BiometricSample(), creation_date=WHEN)) == BiometricSample()

    def test_writer_refuses_unknown_finger_and_eye_mismatch(self) -> None:
        with pytest.raises(EncodeError) as caught:
            write_cbeff(
                BiometricSample(fingers={FingerPosition.UNKNOWN: minutiae(1, FingerPosition.UNKNOWN)})
            )
        assert caught.value.field == "fingers key"
        with pytest.raises(EncodeError) as caught:
            write_cbeff(BiometricSample(irises={EyePosition.LEFT: iris(1, EyePosition.RIGHT)}))
        assert caught.value.field == "irises[LEFT].eye"
        with pytest.raises(EncodeError) as caught:
            write_cbeff(BiometricSample(), purpose="Delete")  # type: ignore[arg-type]
        assert caught.value.field == "purpose"


def bir(
    bdb: str,
    *,
    modality: str = "Finger",
    subtype: str | None = "Right IndexFinger",
    organization: str = "Mosip",
    format_type: str = "2",
    extra: str = "",
) -> str:
    subtype_xml = "" if subtype is None else f"<Subtype>{subtype}</Subtype>"
    return f"""
   <!-- one record -->
   <BIR>
      <Version><Major>1</Major><Minor>1</Minor></Version>
      <CBEFFVersion><Major>1</Major><Minor>1</Minor></CBEFFVersion>
      <BIRInfo><Integrity>false</Integrity></BIRInfo>
      <BDBInfo>
         <Format><Organization>{organization}</Organization><Type>{format_type}</Type></Format>
         <CreationDate>2019-06-27T13:40:06.209Z</CreationDate>
         <Type>{modality}</Type>
         {subtype_xml}
         <Level>Processed</Level>
         <Purpose>Enroll</Purpose>
         <Quality>
            <Algorithm><Organization>HMAC</Organization><Type>SHA-256</Type></Algorithm>
            <Score>100</Score>
         </Quality>
         {extra}
      </BDBInfo>
      <BDB>{bdb}</BDB>
   </BIR>"""


def document(*birs: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<BIR xmlns="{NS}">\n'
        f"   <BIRInfo><Integrity>false</Integrity></BIRInfo>{''.join(birs)}\n</BIR>\n"
    ).encode()


FMR = minutiae_to_fmr({FingerPosition.RIGHT_INDEX: minutiae(5, FingerPosition.RIGHT_INDEX)}, "2005")
FMR_B64 = base64.b64encode(FMR).decode()
#: A 2011 record whose single view has finger position 0 (unknown): it fits any finger Subtype.
ANY_FINGER_B64 = base64.b64encode(
    minutiae_to_fmr({FingerPosition.UNKNOWN: minutiae(6, FingerPosition.UNKNOWN)}, "2011")
).decode()


def rejected(data: bytes) -> FormatError:
    with pytest.raises(FormatError) as caught:
        read_cbeff(data)
    return caught.value


class TestMosipStyleInput:
    def test_hand_written_document_is_read(self) -> None:
        urlsafe = base64.urlsafe_b64encode(FMR).decode().rstrip("=")
        wrapped = "\n".join(ANY_FINGER_B64[i : i + 60] for i in range(0, len(ANY_FINGER_B64), 60))
        data = document(
            bir(urlsafe),
            bir(wrapped, subtype="left  thumb"),
            bir(base64.b64encode(write_iriscode(iris(9, EyePosition.UNDEFINED))).decode(), modality="Iris",
                subtype="Left", organization="EKTP", format_type="1"),
        )  # fmt: skip
        sample = read_cbeff(data)
        assert list(sample.fingers) == [FingerPosition.RIGHT_INDEX, FingerPosition.LEFT_THUMB]
        assert len(sample.fingers[FingerPosition.LEFT_THUMB]) == 25
        assert sample.fingers[FingerPosition.LEFT_THUMB].position == FingerPosition.LEFT_THUMB
        assert sample.irises[EyePosition.LEFT].eye == EyePosition.LEFT
        assert sample.face is None

    def test_unknown_elements_are_ignored_and_no_namespace_is_accepted(self) -> None:
        data = document(bir(FMR_B64, extra="<Product><Organization>x</Organization></Product>"))
        data = data.replace(f' xmlns="{NS}"'.encode(), b"")
        assert list(read_cbeff(data).fingers) == [FingerPosition.RIGHT_INDEX]


class TestRejection:
    def test_unknown_subtype_names_its_path(self) -> None:
        error = rejected(
            document(
                bir(FMR_B64), bir(ANY_FINGER_B64, subtype="Left Thumb"), bir(FMR_B64, subtype="Left Toe")
            )
        )
        assert error.xpath == "/BIR/BIR[3]/BDBInfo/Subtype"
        assert error.field == "Subtype"
        assert "/BIR/BIR[3]/BDBInfo/Subtype" in str(error)

    def test_bad_base64(self) -> None:
        error = rejected(document(bir("Rk1SA*!!")))
        assert (error.field, error.xpath) == ("BDB", "/BIR/BIR[1]/BDB")
        assert "base64" in error.reason

    def test_empty_bdb(self) -> None:
        error = rejected(document(bir("")))
        assert error.xpath == "/BIR/BIR[1]/BDB"

    def test_missing_bdbinfo_type(self) -> None:
        text = document(bir(FMR_B64)).decode().replace("<Type>Finger</Type>", "")
        error = rejected(text.encode())
        assert error.xpath == "/BIR/BIR[1]/BDBInfo/Type"

    def test_unsupported_modality(self) -> None:
        error = rejected(document(bir(FMR_B64, modality="ExceptionPhoto", subtype=None)))
        assert error.xpath == "/BIR/BIR[1]/BDBInfo/Type"

    def test_finger_image_format_is_unsupported(self) -> None:
        error = rejected(document(bir(FMR_B64, format_type="7")))
        assert error.xpath == "/BIR/BIR[1]/BDBInfo/Format/Type"

    def test_damaged_bdb_names_path_field_and_offset(self) -> None:
        damaged = bytearray(FMR)
        damaged[24] = 14  # finger position out of range
        error = rejected(document(bir(base64.b64encode(bytes(damaged)).decode())))
        assert error.xpath == "/BIR/BIR[1]/BDB"
        assert (error.field, error.offset) == ("BDB.views[0].finger_position", 24)

    def test_bdb_without_the_subtype_finger(self) -> None:
        error = rejected(document(bir(FMR_B64, subtype="Left RingFinger")))
        assert (error.field, error.xpath) == ("BDB.finger_position", "/BIR/BIR[1]/BDB")

    def test_duplicate_finger(self) -> None:
        error = rejected(document(bir(FMR_B64), bir(FMR_B64)))
        assert error.xpath == "/BIR/BIR[2]/BDBInfo/Subtype"

    def test_bad_score_and_date(self) -> None:
        text = document(bir(FMR_B64)).decode()
        error = rejected(text.replace("<Score>100</Score>", "<Score>high</Score>").encode())
        assert error.xpath == "/BIR/BIR[1]/BDBInfo/Quality/Score"
        error = rejected(text.replace("2019-06-27T13:40:06.209Z", "yesterday").encode())
        assert error.xpath == "/BIR/BIR[1]/BDBInfo/CreationDate"

    def test_doctype_and_entities_are_refused(self) -> None:
        bomb = (
            b'<?xml version="1.0"?><!DOCTYPE BIR [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
            b"<BIR>&b;</BIR>"
        )
        error = rejected(bomb)
        assert error.field == "document"
        assert "DOCTYPE" in error.reason
        external = b'<?xml version="1.0"?><!DOCTYPE BIR SYSTEM "file:///etc/passwd"><BIR/>'
        assert "DOCTYPE" in rejected(external).reason

    def test_malformed_xml(self) -> None:
        error = rejected(b"<BIR><BIR></BIR>")
        assert (error.field, error.xpath) == ("document", "/")
        assert "line 1" in error.reason

    def test_wrong_root(self) -> None:
        error = rejected(b"<Record/>")
        assert error.xpath == "/Record"

    def test_size_limit(self) -> None:
        with pytest.raises(FormatError) as caught:
            read_birs(document(bir(FMR_B64)), max_bytes=100)
        assert caught.value.field == "document"
