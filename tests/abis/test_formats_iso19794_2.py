"""ISO/IEC 19794-2 finger minutiae records: golden bytes, round trips, tolerance and rejection."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ektp.abis.formats import (
    CaptureDateTime,
    CertificationBlock,
    EncodeError,
    ExtendedDataArea,
    FingerMinutiaeRecord,
    FingerView,
    FormatError,
    QualityBlock,
    fmr_to_minutiae,
    minutiae_to_fmr,
    read_fmr,
    write_fmr,
)
from ektp.abis.formats.iso19794_2 import RADIANS_PER_UNIT
from ektp.abis.types import FingerPosition, Minutiae, MinutiaType


def wire_minutiae(
    xs: list[int], ys: list[int], units: list[int], kinds: list[int], qualities: list[int]
) -> Minutiae:
    return Minutiae(
        x=np.array(xs, dtype=np.float32),
        y=np.array(ys, dtype=np.float32),
        angle=(np.array(units, dtype=np.float64) * RADIANS_PER_UNIT).astype(np.float32),
        kind=np.array(kinds, dtype=np.uint8),
        quality=np.array(qualities, dtype=np.uint8),
    )


# A hand-built 2005 record: one view of the left index finger, two minutiae, one core/delta area.
GOLDEN_2005 = bytes.fromhex(
    "464d5200"  # "FMR\0"
    "20323000"  # " 20\0"
    "00000031"  # record length 49
    "0123"  # compliance 0, capture equipment id 0x123
    "01f4" "0258"  # width 500, height 600
    "00c5" "00c5"  # 197 px/cm both ways
    "01" "00"  # one view, reserved
    "07" "00" "50" "02"  # left index, view 0 / live plain, quality 80, 2 minutiae
    "4064" "00c8" "40" "3c"  # ridge ending x=100 y=200, 64 units (90 deg), quality 60
    "812c" "01c2" "c0" "5a"  # bifurcation x=300 y=450, 192 units (270 deg), quality 90
    "0007"  # extended data block length 7
    "0002" "0007" "010203"  # core/delta area, length 7 including its header
)  # fmt: skip


def golden_record() -> FingerMinutiaeRecord:
    view = FingerView(
        position=FingerPosition.LEFT_INDEX,
        minutiae=wire_minutiae([100, 300], [200, 450], [64, 192], [1, 2], [60, 90]),
        quality=80,
        width=500,
        height=600,
        x_resolution=197,
        y_resolution=197,
        extended_data=(ExtendedDataArea.of(0x0002, b"\x01\x02\x03"),),
    )
    return FingerMinutiaeRecord(views=(view,), version="2005", capture_equipment_id=0x123)


class TestGolden2005:
    def test_writer_produces_the_exact_bytes(self) -> None:
        assert write_fmr(golden_record(), version="2005") == GOLDEN_2005

    def test_header_bytes(self) -> None:
        data = write_fmr(golden_record(), version="2005")
        assert data[:4] == b"FMR\x00"
        assert data[4:8] == b" 20\x00"
        assert int.from_bytes(data[8:12], "big") == len(data) == 49
        assert data[22] == 1
        assert data[23] == 0

    def test_reader_decodes_every_field(self) -> None:
        record = read_fmr(GOLDEN_2005)
        assert record == golden_record()
        assert record.warnings == ()
        view = record.views[0]
        assert view.minutiae.kind.tolist() == [MinutiaType.RIDGE_ENDING, MinutiaType.BIFURCATION]
        assert view.minutiae.angle.tolist() == pytest.approx([math.pi / 2, 3 * math.pi / 2])
        assert view.minutiae.width == 500
        assert view.minutiae.height == 600

    def test_skipping_extended_data_keeps_only_area_headers(self) -> None:
        view = read_fmr(GOLDEN_2005, keep_extended=False).views[0]
        assert view.extended_data == (ExtendedDataArea(type_code=2, length=3, data=None),)


# --------------------------------------------------------------------------------------------
# Hypothesis strategies for valid records (wire-exact values, so round trips are exact)
# --------------------------------------------------------------------------------------------


@st.composite
def minutiae_in(draw: st.DrawFn, width: int, height: int, qualities: st.SearchStrategy[int]) -> Minutiae:
    n = draw(st.integers(0, 12))
    return wire_minutiae(
        draw(st.lists(st.integers(0, min(width, 16384) - 1), min_size=n, max_size=n)),
        draw(st.lists(st.integers(0, min(height, 16384) - 1), min_size=n, max_size=n)),
        draw(st.lists(st.integers(0, 255), min_size=n, max_size=n)),
        draw(st.lists(st.sampled_from([0, 1, 2]), min_size=n, max_size=n)),
        draw(st.lists(qualities, min_size=n, max_size=n)),
    )


areas = st.lists(
    st.builds(ExtendedDataArea.of, st.integers(0, 0xFFFF), st.binary(max_size=12)), max_size=3
).map(tuple)
positions = st.sampled_from(list(FingerPosition))


def unique_views(views: Iterable[FingerView]) -> tuple[FingerView, ...]:
    """The writer refuses two views with the same (finger position, view number)."""
    kept: dict[tuple[int, int], FingerView] = {}
    for view in views:
        kept.setdefault((int(view.position), view.view_number), view)
    return tuple(kept.values())


@st.composite
def records_2005(draw: st.DrawFn) -> FingerMinutiaeRecord:
    width, height = draw(st.integers(1, 20000)), draw(st.integers(1, 20000))
    x_res, y_res = draw(st.integers(1, 0xFFFF)), draw(st.integers(1, 0xFFFF))
    views = tuple(
        FingerView(
            position=draw(positions),
            minutiae=draw(minutiae_in(width, height, st.integers(0, 100))),
            view_number=draw(st.integers(0, 15)),
            impression_type=draw(st.integers(0, 15)),
            quality=draw(st.integers(0, 100)),
            width=width,
            height=height,
            x_resolution=x_res,
            y_resolution=y_res,
            extended_data=draw(areas),
        )
        for _ in range(draw(st.integers(1, 4)))
    )
    return FingerMinutiaeRecord(
        views=unique_views(views),
        version="2005",
        capture_equipment_compliance=draw(st.integers(0, 15)),
        capture_equipment_id=draw(st.integers(0, 0xFFF)),
    )


datetimes = st.one_of(
    st.just(CaptureDateTime()),
    st.builds(
        CaptureDateTime,
        st.integers(1, 0xFFFE),
        st.integers(1, 12),
        st.integers(1, 31),
        st.integers(0, 23),
        st.integers(0, 59),
        st.integers(0, 59),
        st.integers(0, 999),
    ),
)
quality_blocks = st.lists(
    st.builds(
        QualityBlock,
        st.one_of(st.integers(0, 100), st.just(255)),
        st.integers(0, 0xFFFF),
        st.integers(0, 0xFFFF),
    ),
    max_size=3,
).map(tuple)


@st.composite
def records_2011(draw: st.DrawFn) -> FingerMinutiaeRecord:
    certified = draw(st.booleans())
    views = []
    for _ in range(draw(st.integers(1, 4))):
        width, height = draw(st.integers(1, 20000)), draw(st.integers(1, 20000))
        with_quality = draw(st.booleans())
        qualities = st.sampled_from([*range(101), 254, 255]) if with_quality else st.just(254)
        blocks = draw(quality_blocks)
        certificates = (
            tuple(
                draw(
                    st.lists(
                        st.builds(CertificationBlock, st.integers(0, 0xFFFF), st.integers(0, 255)), max_size=2
                    )
                )
            )
            if certified
            else ()
        )
        views.append(
            FingerView(
                position=draw(positions),
                minutiae=draw(minutiae_in(width, height, qualities)),
                view_number=draw(st.integers(0, 255)),
                impression_type=draw(st.integers(0, 255)),
                quality=blocks[0].score if blocks else None,
                width=width,
                height=height,
                x_resolution=draw(st.integers(1, 0xFFFF)),
                y_resolution=draw(st.integers(1, 0xFFFF)),
                extended_data=draw(areas),
                capture_datetime=draw(datetimes),
                device_technology=draw(st.integers(0, 255)),
                device_vendor=draw(st.integers(0, 0xFFFF)),
                device_type=draw(st.integers(0, 0xFFFF)),
                quality_blocks=blocks,
                certification_blocks=certificates,
                ridge_ending_type=draw(st.integers(0, 15)),
                minutia_quality_present=with_quality,
            )
        )
    return FingerMinutiaeRecord(views=unique_views(views), version="2011", certification_flag=certified)


class TestRoundTrip:
    @settings(max_examples=100, deadline=None)
    @given(records_2005())
    def test_2005_record_survives_write_and_read(self, record: FingerMinutiaeRecord) -> None:
        data = write_fmr(record, version="2005")
        back = read_fmr(data)
        assert back == record
        assert back.warnings == ()
        assert write_fmr(back, version="2005") == data

    @settings(max_examples=100, deadline=None)
    @given(records_2011())
    def test_2011_record_survives_write_and_read(self, record: FingerMinutiaeRecord) -> None:
        data = write_fmr(record, version="2011")
        back = read_fmr(data)
        assert back == record
        assert back.warnings == ()
        assert write_fmr(back, version="2011") == data

    @settings(max_examples=40, deadline=None)
    @given(records_2011())
    def test_2011_record_written_as_2005_keeps_minutiae(self, record: FingerMinutiaeRecord) -> None:
        first = record.views[0]
        # 2005 has 4 bits for the view number: renumber each finger's views 0, 1, 2, ... (taking
        # the 2011 numbers modulo 16 could give one finger the same number twice: 20 and 36)
        next_view: dict[int, int] = {}
        kept: list[FingerView] = []
        for v in record.views:
            if v.width > first.width or v.height > first.height or not np.all(v.minutiae.quality <= 100):
                continue
            number = next_view.get(int(v.position), 0)
            if number > 0x0F:
                continue
            next_view[int(v.position)] = number + 1
            kept.append(
                FingerView(
                    position=v.position,
                    minutiae=v.minutiae,
                    quality=80,
                    width=first.width,
                    height=first.height,
                    x_resolution=first.x_resolution,
                    y_resolution=first.y_resolution,
                    view_number=number,
                    impression_type=v.impression_type % 16,
                    minutia_quality_present=True,
                )
            )
        views = tuple(kept)
        if not views:
            return
        back = read_fmr(write_fmr(FingerMinutiaeRecord(views=views), version="2005"))
        for original, decoded in zip(views, back.views, strict=True):
            assert np.array_equal(decoded.minutiae.x, original.minutiae.x)
            assert np.array_equal(decoded.minutiae.angle, original.minutiae.angle)

    @settings(max_examples=100, deadline=None)
    @given(
        st.lists(st.floats(-20.0, 20.0, allow_nan=False), min_size=1, max_size=20),
        st.sampled_from(["2005", "2011"]),
    )
    def test_arbitrary_angles_come_back_within_half_a_unit(self, angles: list[float], version: str) -> None:
        n = len(angles)
        m = Minutiae(
            x=np.full(n, 10.4, dtype=np.float32),
            y=np.full(n, 20.6, dtype=np.float32),
            angle=np.array(angles, dtype=np.float32),
            kind=np.ones(n, dtype=np.uint8),
            quality=np.full(n, 50, dtype=np.uint8),
        )
        back = fmr_to_minutiae(minutiae_to_fmr({FingerPosition.RIGHT_INDEX: m}, version))[  # type: ignore[arg-type]
            FingerPosition.RIGHT_INDEX
        ]
        assert np.all((back.angle >= 0) & (back.angle < 2 * math.pi))
        diff = np.angle(np.exp(1j * (back.angle.astype(np.float64) - np.array(angles, dtype=np.float32))))
        assert np.all(np.abs(diff) <= RADIANS_PER_UNIT / 2 + 1e-6)
        assert back.x.tolist() == [10.0] * n
        assert back.y.tolist() == [21.0] * n


class TestMinutiaeHelpers:
    def test_ten_fingers_round_trip_through_both_editions(self) -> None:
        rng = np.random.default_rng(7)
        fingers = {
            position: Minutiae(
                x=rng.integers(0, 500, 40).astype(np.float32),
                y=rng.integers(0, 500, 40).astype(np.float32),
                angle=(rng.integers(0, 256, 40) * RADIANS_PER_UNIT).astype(np.float32),
                kind=rng.integers(0, 3, 40).astype(np.uint8),
                quality=rng.integers(0, 101, 40).astype(np.uint8),
                position=position,
                impression_quality=int(position) * 9,
            )
            for position in FingerPosition
            if position != FingerPosition.UNKNOWN
        }
        for version in ("2005", "2011"):
            back = fmr_to_minutiae(minutiae_to_fmr(fingers, version))  # type: ignore[arg-type]
            assert list(back) == sorted(fingers)
            for position, original in fingers.items():
                decoded = back[position]
                assert np.array_equal(decoded.x, original.x)
                assert np.array_equal(decoded.angle, original.angle)
                assert np.array_equal(decoded.kind, original.kind)
                assert np.array_equal(decoded.quality, original.quality)
                assert decoded.impression_quality == original.impression_quality
                assert decoded.position == position
                assert decoded.resolution_ppcm == 197

    def test_first_view_of_each_finger_is_taken(self) -> None:
        record = golden_record()
        second = FingerView(
            position=FingerPosition.LEFT_INDEX,
            minutiae=wire_minutiae([1], [1], [0], [0], [0]),
            view_number=1,
            quality=10,
            width=500,
            height=600,
        )
        data = write_fmr(FingerMinutiaeRecord(views=(*record.views, second)), version="2005")
        fingers = fmr_to_minutiae(data)
        assert len(fingers[FingerPosition.LEFT_INDEX]) == 2

    def test_2011_unreported_minutia_quality_becomes_zero(self) -> None:
        view = FingerView(
            position=FingerPosition.RIGHT_THUMB,
            minutiae=wire_minutiae([5, 6], [7, 8], [1, 2], [1, 1], [254, 254]),
            quality=None,
            minutia_quality_present=False,
        )
        data = write_fmr(FingerMinutiaeRecord(views=(view,)), version="2011")
        assert read_fmr(data).views[0].minutiae.quality.tolist() == [254, 254]
        decoded = fmr_to_minutiae(data)[FingerPosition.RIGHT_THUMB]
        assert decoded.quality.tolist() == [0, 0]
        assert decoded.impression_quality == 0

    def test_no_fingers_is_refused(self) -> None:
        with pytest.raises(EncodeError) as caught:
            minutiae_to_fmr({}, "2011")
        assert caught.value.field == "fingers"

    def test_position_mismatch_is_refused(self) -> None:
        m = wire_minutiae([1], [1], [0], [1], [50])
        m = Minutiae(m.x, m.y, m.angle, m.kind, m.quality, position=FingerPosition.LEFT_THUMB)
        with pytest.raises(EncodeError, match="LEFT_THUMB"):
            minutiae_to_fmr({FingerPosition.RIGHT_THUMB: m}, "2005")


class TestTolerance:
    def test_trailing_padding_is_accepted_with_a_warning(self) -> None:
        record = read_fmr(GOLDEN_2005 + b"\x00\x00\x00")
        assert record == golden_record()
        assert any("after the declared record length" in w for w in record.warnings)

    def test_record_length_covering_padding_is_accepted_with_a_warning(self) -> None:
        data = bytearray(GOLDEN_2005 + b"\x00" * 5)
        data[8:12] = (len(data)).to_bytes(4, "big")
        record = read_fmr(bytes(data))
        assert record == golden_record()
        assert any("padding" in w for w in record.warnings)

    def test_area_lengths_without_the_header_are_accepted_with_a_warning(self) -> None:
        data = bytearray(GOLDEN_2005)
        data[44:46] = (3).to_bytes(2, "big")  # area length counts data bytes only
        record = read_fmr(bytes(data))
        assert record.views[0].extended_data == (ExtendedDataArea.of(2, b"\x01\x02\x03"),)
        assert any("exclude the 4-byte area header" in w for w in record.warnings)

    def test_reserved_bits_are_ignored_with_a_warning(self) -> None:
        data = bytearray(GOLDEN_2005)
        data[30] |= 0xC0  # reserved bits above y of the first minutia
        data[23] = 1
        record = read_fmr(bytes(data))
        assert record.views[0].minutiae.y.tolist() == [200, 450]
        assert len(record.warnings) == 2

    def test_2011_representation_padding_is_skipped(self) -> None:
        view = FingerView(
            position=FingerPosition.LEFT_RING,
            minutiae=wire_minutiae([3], [4], [5], [2], [6]),
            quality=None,
        )
        data = bytearray(write_fmr(FingerMinutiaeRecord(views=(view,)), version="2011"))
        data += b"\x00\x00"
        data[8:12] = len(data).to_bytes(4, "big")
        data[15:19] = (int.from_bytes(data[15:19], "big") + 2).to_bytes(4, "big")
        record = read_fmr(bytes(data))
        assert record.views == (view,)
        assert any("padding byte(s) inside the representation" in w for w in record.warnings)

    def test_minutiae_outside_the_image_are_flagged(self) -> None:
        data = bytearray(GOLDEN_2005)
        data[14:16] = (200).to_bytes(2, "big")  # width 200 < x = 300
        record = read_fmr(bytes(data))
        assert any("outside the declared 200x600 image" in w for w in record.warnings)


def raises_format_error(data: bytes) -> FormatError:
    with pytest.raises(FormatError) as caught:
        read_fmr(data)
    return caught.value


class TestRejection:
    def test_every_truncation_names_a_field_and_offset(self) -> None:
        for cut in range(len(GOLDEN_2005)):
            error = raises_format_error(GOLDEN_2005[:cut])
            assert error.offset is not None
            assert error.offset <= cut
            assert error.field

    def test_truncation_inside_the_minutiae_names_the_minutia(self) -> None:
        error = raises_format_error(GOLDEN_2005[:36])
        assert error.field == "views[0].minutiae[1]"
        assert error.offset == 34
        assert "views[0].minutiae[1] at byte offset 34" in str(error)

    def test_wrong_magic(self) -> None:
        error = raises_format_error(b"FIR\x00" + GOLDEN_2005[4:])
        assert (error.field, error.offset) == ("format_identifier", 0)

    def test_unknown_version(self) -> None:
        error = raises_format_error(GOLDEN_2005[:4] + b" 21\x00" + GOLDEN_2005[8:])
        assert (error.field, error.offset) == ("version", 4)

    def test_zero_views(self) -> None:
        error = raises_format_error(GOLDEN_2005[:22] + b"\x00\x00")
        assert (error.field, error.offset) == ("view_count", 22)

    def test_view_count_larger_than_the_data(self) -> None:
        data = bytearray(GOLDEN_2005)
        data[22] = 2
        error = raises_format_error(bytes(data))
        assert (error.field, error.offset) == ("views[1].finger_position", 49)

    def test_minutia_count_larger_than_the_data(self) -> None:
        data = bytearray(GOLDEN_2005)
        data[27] = 200
        error = raises_format_error(bytes(data))
        assert error.field == "views[0].minutiae[3]"
        assert "200 minutiae declared" in error.reason

    def test_finger_position_out_of_range(self) -> None:
        data = bytearray(GOLDEN_2005)
        data[24] = 13
        error = raises_format_error(bytes(data))
        assert (error.field, error.offset) == ("views[0].finger_position", 24)

    def test_finger_quality_out_of_range(self) -> None:
        data = bytearray(GOLDEN_2005)
        data[26] = 101
        error = raises_format_error(bytes(data))
        assert (error.field, error.offset) == ("views[0].finger_quality", 26)

    def test_reserved_minutia_type(self) -> None:
        data = bytearray(GOLDEN_2005)
        data[34] |= 0xC0
        error = raises_format_error(bytes(data))
        assert (error.field, error.offset) == ("views[0].minutiae[1].type", 34)

    def test_minutia_quality_out_of_range_in_2005(self) -> None:
        data = bytearray(GOLDEN_2005)
        data[39] = 254
        error = raises_format_error(bytes(data))
        assert (error.field, error.offset) == ("views[0].minutiae[1].quality", 39)

    def test_record_length_shorter_than_the_record(self) -> None:
        data = bytearray(GOLDEN_2005)
        data[8:12] = (40).to_bytes(4, "big")
        error = raises_format_error(bytes(data))
        assert (error.field, error.offset) == ("record_length", 8)

    def test_record_length_longer_than_the_data(self) -> None:
        data = bytearray(GOLDEN_2005)
        data[8:12] = (60).to_bytes(4, "big")
        error = raises_format_error(bytes(data))
        assert (error.field, error.offset) == ("record_length", 8)
        assert "truncated" in error.reason

    def test_extended_area_running_past_its_block(self) -> None:
        data = bytearray(GOLDEN_2005)
        data[44:46] = (30).to_bytes(2, "big")
        error = raises_format_error(bytes(data))
        assert (error.field, error.offset) == ("views[0].extended_data[0].length", 44)

    def test_2011_bad_minutia_field_length(self) -> None:
        view = FingerView(position=FingerPosition.LEFT_RING, minutiae=wire_minutiae([3], [4], [5], [2], [6]))
        data = bytearray(write_fmr(FingerMinutiaeRecord(views=(view,)), version="2011"))
        offset = (
            15 + 4 + 9 + 5 + 1 + 5 + 1 + 1 + 4 + 1 + 4
        )  # header, rep length, date, device, 1 quality block
        assert data[offset] >> 4 == 6
        data[offset] = 0x70
        error = raises_format_error(bytes(data))
        assert (error.field, error.offset) == ("representations[0].minutia_field_length", offset)

    def test_2011_certification_flag_must_be_boolean(self) -> None:
        view = FingerView(position=FingerPosition.LEFT_RING, minutiae=wire_minutiae([], [], [], [], []))
        data = bytearray(write_fmr(FingerMinutiaeRecord(views=(view,)), version="2011"))
        data[14] = 2
        error = raises_format_error(bytes(data))
        assert (error.field, error.offset) == ("certification_flag", 14)

    def test_2011_representation_length_too_small(self) -> None:
        view = FingerView(position=FingerPosition.LEFT_RING, minutiae=wire_minutiae([3], [4], [5], [2], [6]))
        data = bytearray(write_fmr(FingerMinutiaeRecord(views=(view,)), version="2011"))
        data[15:19] = (10).to_bytes(4, "big")
        error = raises_format_error(bytes(data))
        assert (error.field, error.offset) == ("representations[0].length", 15)

    def test_2011_representation_length_beyond_the_data(self) -> None:
        view = FingerView(position=FingerPosition.LEFT_RING, minutiae=wire_minutiae([3], [4], [5], [2], [6]))
        data = bytearray(write_fmr(FingerMinutiaeRecord(views=(view,)), version="2011"))
        data[15:19] = (500).to_bytes(4, "big")
        error = raises_format_error(bytes(data))
        assert (error.field, error.offset) == ("representations[0].length", 15)
        assert "truncated" in error.reason

    def test_2011_quality_score_out_of_range(self) -> None:
        view = FingerView(position=FingerPosition.LEFT_RING, minutiae=wire_minutiae([3], [4], [5], [2], [6]))
        data = bytearray(write_fmr(FingerMinutiaeRecord(views=(view,)), version="2011"))
        score_offset = 15 + 4 + 9 + 5 + 1
        assert data[score_offset] == 100
        data[score_offset] = 200
        error = raises_format_error(bytes(data))
        assert (error.field, error.offset) == ("representations[0].quality_blocks[0].score", score_offset)

    def test_bytes_like_input_is_accepted_and_other_types_are_not(self) -> None:
        assert read_fmr(bytearray(GOLDEN_2005)) == golden_record()
        with pytest.raises(TypeError):
            read_fmr("FMR")  # type: ignore[arg-type]


class TestStrictWriter:
    def view(self, **changes: object) -> FingerView:
        values: dict[str, object] = {
            "position": FingerPosition.RIGHT_INDEX,
            "minutiae": wire_minutiae([1, 2], [3, 4], [5, 6], [1, 2], [50, 60]),
        }
        values.update(changes)
        return FingerView(**values)  # type: ignore[arg-type]

    def refuse(self, view: FingerView, version: str, field: str) -> None:
        with pytest.raises(EncodeError) as caught:
            write_fmr(FingerMinutiaeRecord(views=(view,)), version=version)  # type: ignore[arg-type]
        assert caught.value.field == field
        assert isinstance(caught.value, ValueError)

    def test_x_beyond_14_bits(self) -> None:
        m = wire_minutiae([1, 16384], [3, 4], [5, 6], [1, 2], [50, 60])
        self.refuse(self.view(minutiae=m, width=0), "2005", "views[0].minutiae[1].x")

    def test_y_outside_the_image(self) -> None:
        m = wire_minutiae([1, 2], [3, 600], [5, 6], [1, 2], [50, 60])
        self.refuse(self.view(minutiae=m), "2011", "representations[0].minutiae[1].y")

    def test_non_finite_coordinates(self) -> None:
        m = wire_minutiae([1, 2], [3, 4], [5, 6], [1, 2], [50, 60])
        m = Minutiae(np.array([1.0, np.nan], dtype=np.float32), m.y, m.angle, m.kind, m.quality)
        self.refuse(self.view(minutiae=m), "2005", "views[0].minutiae[1].x")

    def test_reserved_minutia_type(self) -> None:
        m = wire_minutiae([1, 2], [3, 4], [5, 6], [1, 3], [50, 60])
        self.refuse(self.view(minutiae=m), "2005", "views[0].minutiae[1].kind")

    def test_minutia_quality_above_100_in_2005(self) -> None:
        m = wire_minutiae([1, 2], [3, 4], [5, 6], [1, 2], [50, 254])
        self.refuse(self.view(minutiae=m), "2005", "views[0].minutiae[1].quality")

    def test_view_number_beyond_4_bits_in_2005(self) -> None:
        self.refuse(self.view(view_number=16), "2005", "views[0].view_number")

    def test_missing_finger_quality_in_2005(self) -> None:
        self.refuse(self.view(quality=None), "2005", "views[0].quality")

    def test_2011_quality_must_match_the_first_block(self) -> None:
        self.refuse(
            self.view(quality=50, quality_blocks=(QualityBlock(60),)), "2011", "representations[0].quality"
        )

    def test_2011_certificates_need_the_flag(self) -> None:
        view = self.view(certification_blocks=(CertificationBlock(1, 1),))
        self.refuse(view, "2011", "representations[0].certification_blocks")

    def test_2011_impossible_capture_month(self) -> None:
        view = self.view(capture_datetime=CaptureDateTime(2024, 13, 1, 0, 0, 0, 0))
        self.refuse(view, "2011", "representations[0].capture_datetime.month")

    def test_skipped_extended_data_cannot_be_written(self) -> None:
        view = read_fmr(GOLDEN_2005, keep_extended=False).views[0]
        self.refuse(view, "2005", "views[0].extended_data[0].data")

    def test_2005_views_must_share_the_image_geometry(self) -> None:
        record = FingerMinutiaeRecord(
            views=(self.view(), self.view(position=FingerPosition.LEFT_INDEX, width=640))
        )
        with pytest.raises(EncodeError) as caught:
            write_fmr(record, version="2005")
        assert caught.value.field == "views[1].width"

    def test_duplicate_view_of_a_finger(self) -> None:
        record = FingerMinutiaeRecord(views=(self.view(), self.view()))
        with pytest.raises(EncodeError) as caught:
            write_fmr(record, version="2011")
        assert caught.value.field == "views[1].view_number"

    def test_empty_record(self) -> None:
        with pytest.raises(EncodeError) as caught:
            write_fmr(FingerMinutiaeRecord(views=()), version="2011")
        assert caught.value.field == "views"

    def test_unknown_version(self) -> None:
        with pytest.raises(EncodeError):
            write_fmr(golden_record(), version="2009")  # type: ignore[arg-type]

    def test_2011_quality_without_blocks_is_written_as_one_block(self) -> None:
        data = write_fmr(FingerMinutiaeRecord(views=(self.view(quality=42),)), version="2011")
        view = read_fmr(data).views[0]
        assert view.quality == 42
        assert view.quality_blocks == (QualityBlock(42, 0, 0),)

    def test_capture_datetime_conversion(self) -> None:
        import datetime as dt

        when = dt.datetime(2024, 2, 29, 23, 59, 58, 123000, tzinfo=dt.timezone(dt.timedelta(hours=7)))
        stamp = CaptureDateTime.from_datetime(when)
        assert stamp.hour == 16
        assert stamp.to_datetime() == when
        assert CaptureDateTime().to_datetime() is None
        assert CaptureDateTime(2023, 2, 30, 0, 0, 0, 0).to_datetime() is None
