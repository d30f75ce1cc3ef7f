"""Two shard processes on 127.0.0.1 behind the router give exactly the answers of one
PersistentGallery holding the same persons; a shard that is down is a clear error."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ektp.abis.evaluate import fit_from_synth
from ektp.abis.fusion import Calibration, save_calibration
from ektp.abis.gallery.persistent import PersistentGallery
from ektp.abis.gallery.shards import ShardedGallery, ShardUnavailable, shard_of
from ektp.abis.synth import Population, make_population, make_probes
from ektp.kit.errors import Conflict, NotFound

from .gallery_support import FaceSimHash

ROOT = Path(__file__).resolve().parents[2]
N = 60
ENCODER = "tests.abis.gallery_support:FaceSimHash"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def calibration() -> Calibration:
    return fit_from_synth(60, seed=5, n_probes=30, impostors_per_probe=10)


@pytest.fixture(scope="module")
def population() -> Population:
    return make_population(N, seed=21)


@pytest.fixture(scope="module")
def shard_urls(tmp_path_factory: pytest.TempPathFactory, calibration: Calibration) -> Iterator[list[str]]:
    base = tmp_path_factory.mktemp("shards")
    cal_path = base / "calibration.json"
    save_calibration(calibration, cal_path)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs, urls = [], []
    for s in range(2):
        port = _free_port()
        cmd = [
            sys.executable,
            "-m",
            "ektp.abis.gallery.shard_server",
            "--gallery",
            str(base / f"s{s}"),
            "--calibration",
            str(cal_path),
            "--port",
            str(port),
            "--encoder",
            ENCODER,
            "--candidates",
            "25",
        ]
        procs.append(subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        for url, proc in zip(urls, procs, strict=True):
            while True:
                try:
                    if httpx.get(url + "/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "shard did not start"
                time.sleep(0.2)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


@pytest.fixture(scope="module")
def single(
    tmp_path_factory: pytest.TempPathFactory, population: Population, calibration: Calibration
) -> Iterator[PersistentGallery]:
    g = PersistentGallery.open(
        tmp_path_factory.mktemp("single"), encoder=FaceSimHash(), calibration=calibration, candidates=25
    )
    g.insert_many(list(zip(population.reference_ids, population.gallery, strict=True)))
    yield g
    g.close()


@pytest.fixture(scope="module")
def router(
    shard_urls: list[str], population: Population, calibration: Calibration
) -> Iterator[ShardedGallery]:
    with ShardedGallery(shard_urls, encoder=FaceSimHash(), calibration=calibration, candidates=25) as r:
        r.check()
        r.insert_many(list(zip(population.reference_ids, population.gallery, strict=True)))
        yield r


class TestShardedGallery:
    def test_inserts_are_split_by_shard_key(self, router: ShardedGallery, population: Population) -> None:
        infos = router.check()
        expected = [sum(1 for r in population.reference_ids if shard_of(r, 2) == s) for s in range(2)]
        assert [i["count"] for i in infos] == expected
        assert all(c > 0 for c in expected)
        assert router.count() == N

    def test_identify_equals_one_gallery(
        self, router: ShardedGallery, single: PersistentGallery, population: Population
    ) -> None:
        probes = make_probes(population, 5, 3, seed=3, hard_fraction=0.0)
        for p in probes:
            for k1 in (3, 25):
                a = router.identify(p.sample, top_k=5, candidates=k1)
                b = single.identify(p.sample, top_k=5, candidates=k1)
                assert a == b
            if p.mate_id is not None:
                assert router.identify(p.sample, top_k=1)[0].reference_id == p.mate_id

    def test_subset_identify_equals_one_gallery(
        self, router: ShardedGallery, single: PersistentGallery, population: Population
    ) -> None:
        probe = make_probes(population, 1, 0, seed=4, hard_fraction=0.0)[0]
        subset = list(population.reference_ids[::3])
        assert router.identify(probe.sample, subset=subset, top_k=4) == single.identify(
            probe.sample, subset=subset, top_k=4
        )
        with pytest.raises(NotFound):
            router.identify(probe.sample, subset=["NOPE"], top_k=4)

    def test_verify_goes_to_the_owning_shard(
        self, router: ShardedGallery, single: PersistentGallery, population: Population
    ) -> None:
        ref = population.reference_ids[7]
        assert router.verify(ref, population.gallery[7]) == single.verify(ref, population.gallery[7])
        with pytest.raises(NotFound):
            router.verify("G999999", population.gallery[7])

    def test_duplicate_insert_and_delete(self, router: ShardedGallery, population: Population) -> None:
        with pytest.raises(Conflict, match="already"):
            router.insert(population.reference_ids[0], population.gallery[0])
        router.insert("X/1", population.gallery[1])
        assert router.count() == N + 1
        router.delete("X/1")
        assert router.count() == N
        with pytest.raises(NotFound):
            router.delete("X/1")

    def test_down_shard_is_named(self, shard_urls: list[str], population: Population) -> None:
        dead = f"http://127.0.0.1:{_free_port()}"
        with (
            ShardedGallery([shard_urls[0], dead], encoder=FaceSimHash(), timeout=2) as r,
            pytest.raises(ShardUnavailable, match="shard 1"),
        ):
            r.identify(population.gallery[0])
