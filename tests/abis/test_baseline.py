"""Baseline fingerprint matchers: minutiae pairing (numba) and the optional Bozorth3 adapter."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from ektp.abis.match import baseline as bl
from ektp.abis.types import Minutiae

from .test_fingerprint import impression, make_master, rigid, to_minutiae


@pytest.fixture(scope="module")
def fingers() -> list[tuple[Minutiae, Minutiae]]:
    rng = np.random.default_rng(7)
    masters = [make_master(rng) for _ in range(8)]
    return [(impression(rng, m), impression(rng, m)) for m in masters]


class TestPairingMatcher:
    def test_impression_against_itself_scores_one(self, fingers: list[tuple[Minutiae, Minutiae]]) -> None:
        t = bl.make_template(fingers[0][0])
        assert bl.match(t, t) == pytest.approx(1.0)

    def test_rotated_and_translated_copy_scores_one(self, fingers: list[tuple[Minutiae, Minutiae]]) -> None:
        m = fingers[1][0]
        x, y, a = rigid(
            m.x.astype(np.float64), m.y.astype(np.float64), m.angle.astype(np.float64), 18.0, (30.0, -20.0)
        )
        assert bl.match(bl.make_template(m), bl.make_template(to_minutiae(x, y, a))) > 0.95

    def test_genuine_pairs_score_above_impostors(self, fingers: list[tuple[Minutiae, Minutiae]]) -> None:
        probes = bl.make_templates([a for a, _ in fingers])
        gallery = bl.pack_templates(bl.make_templates([b for _, b in fingers]))
        s = np.stack([bl.match_many(p, gallery) for p in probes])
        gen = np.diag(s)
        imp = s[~np.eye(len(fingers), dtype=bool)]
        assert gen.mean() > 3.0 * imp.mean()
        assert np.all((s >= 0.0) & (s <= 1.0))

    def test_one_to_one_equals_one_to_many(self, fingers: list[tuple[Minutiae, Minutiae]]) -> None:
        candidates = bl.make_templates([b for _, b in fingers])
        gallery = bl.pack_templates(candidates)
        probe = bl.make_template(fingers[2][0])
        many = bl.match_many(probe, gallery)
        np.testing.assert_array_equal(many, np.array([bl.match(probe, c) for c in candidates], np.float32))
        np.testing.assert_array_equal(bl.match_many(probe, gallery, [3, 1]), many[[3, 1]])

    @pytest.mark.parametrize("n", [0, 1, 2])
    def test_tiny_impressions_score_zero(self, fingers: list[tuple[Minutiae, Minutiae]], n: int) -> None:
        tiny = bl.make_template(to_minutiae([200, 220][:n], [200, 230][:n], [0.5, 1.5][:n]))
        normal = bl.make_template(fingers[0][0])
        assert bl.match(tiny, normal) == 0.0
        assert bl.match(normal, tiny) == 0.0
        assert bl.match(tiny, tiny) == 0.0

    def test_invalid_input_is_rejected(self) -> None:
        with pytest.raises(ValueError, match=r"minutiae\.x: value at index 0 is not finite"):
            bl.make_template(to_minutiae([np.nan], [1.0], [0.0]))
        gallery = bl.pack_templates([])
        with pytest.raises(ValueError, match=r"indices: values must lie in \[0, 0\)"):
            bl.match_many(bl.make_template(to_minutiae([1.0], [1.0], [0.0])), gallery, [0])


class TestBozorth3:
    def test_template_bytes_follow_the_binding_layout(self) -> None:
        m = to_minutiae([10.4, 300.0], [20.0, 16383.9], [0.0, np.pi])
        data = bl.bozorth3_template_bytes(m)
        assert data[:8] == b"FMR\0 20\0"
        assert struct.unpack(">I", data[8:12])[0] == len(data) == 26 + 12
        assert data[25] == 2
        first = struct.unpack(">HHBB", data[26:32])
        assert first == ((1 << 14) | 10, 20, 0, 60 * 63 // 100)
        second = struct.unpack(">HHBB", data[32:38])
        assert second[1] == 0x3FFF
        assert second[2] == 128

    def test_invalid_minutiae_are_rejected(self) -> None:
        with pytest.raises(ValueError, match="angle"):
            bl.bozorth3_template_bytes(to_minutiae([1.0], [1.0], [7.0]))

    @pytest.mark.skipif(not bl.bozorth3_available(), reason="nbis-py is not installed")
    def test_bozorth3_separates_genuine_from_impostor(self, fingers: list[tuple[Minutiae, Minutiae]]) -> None:
        matcher = bl.Bozorth3Matcher()
        a, b = (matcher.make_template(m) for m in fingers[0])
        other = matcher.make_template(fingers[1][1])
        assert matcher.match(a, b) > matcher.match(a, other)
        scores = matcher.match_many(a, [b, other])
        assert scores.dtype == np.float32
        assert np.all((scores >= 0) & (scores < 1))
