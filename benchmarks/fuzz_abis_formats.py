"""Byte fuzzer for the ABIS format readers: any exception other than FormatError is a crash.

    .venv/bin/python benchmarks/fuzz_abis_formats.py --runs 100000

One target per reader (fmr2005, fmr2011, cbeff, iriscode, face), each seeded with valid records and
run in its own process. The engine is atheris (coverage-guided libFuzzer, with ektp.abis.formats
instrumented through ``atheris.instrument_imports()``); where atheris is not installed,
``--engine mutation`` (or the automatic fallback) runs a plain mutation fuzzer instead: bit flips,
byte sets, truncations, insertions, deletions and splices of the valid seeds.

The first byte of every fuzz input selects a mode, so the fuzzer can reach past outer checks:
for the two containers, an odd first byte makes the harness recompute the CRC-32 over the rest;
for cbeff, first byte % 4 = 1, 2, 3 wraps the rest as the base64 BDB of a Finger, Iris or Face BIR
in a fixed CBEFF skeleton (0 = the rest is the XML document itself).

Prints a table: target, engine, inputs executed, seconds, inputs/s, crashes (libFuzzer stops at the
first crash and leaves the input under --artifacts).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import traceback
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

TARGETS = ("fmr2005", "fmr2011", "cbeff", "iriscode", "face")

_CBEFF_BIR = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<BIR xmlns="http://standards.iso.org/iso-iec/19785/-3/ed-2/"><BIRInfo><Integrity>false</Integrity></BIRInfo>'
    "<BIR><BIRInfo><Integrity>false</Integrity></BIRInfo><BDBInfo>"
    "<Format><Organization>{org}</Organization><Type>{type}</Type></Format>"
    "<CreationDate>2024-01-01T00:00:00.000Z</CreationDate><Type>{modality}</Type>{subtype}"
    "<Level>Processed</Level><Purpose>Enroll</Purpose></BDBInfo><BDB>{bdb}</BDB></BIR></BIR>"
)
_CBEFF_MODES = {
    1: {"org": "Mosip", "type": "2", "modality": "Finger", "subtype": "<Subtype>Left IndexFinger</Subtype>"},
    2: {"org": "EKTP", "type": "1", "modality": "Iris", "subtype": "<Subtype>Left</Subtype>"},
    3: {"org": "EKTP", "type": "2", "modality": "Face", "subtype": ""},
}


def _with_crc(body: bytes) -> bytes:
    return body[:-4] + zlib.crc32(body[:-4]).to_bytes(4, "big") if len(body) > 4 else body


def build_target(name: str) -> tuple[Callable[[bytes], None], list[bytes], type[Exception]]:
    """The harness for one target (input -> run the reader), its seed inputs (mode byte included)
    and the exception class that is *not* a crash. Imports ektp lazily so that atheris can
    instrument it first."""
    import numpy as np

    from ektp.abis import formats as f
    from ektp.abis.formats.iso19794_2 import RADIANS_PER_UNIT
    from ektp.abis.types import (
        BiometricSample,
        EyePosition,
        FaceEmbedding,
        FingerPosition,
        IrisCode,
        Minutiae,
    )

    rng = np.random.default_rng(2024)

    def minutiae(n: int) -> Minutiae:
        return Minutiae(
            x=rng.integers(0, 500, n).astype(np.float32),
            y=rng.integers(0, 500, n).astype(np.float32),
            angle=(rng.integers(0, 256, n) * RADIANS_PER_UNIT).astype(np.float32),
            kind=rng.integers(0, 3, n).astype(np.uint8),
            quality=rng.integers(0, 101, n).astype(np.uint8),
        )

    fingers = {FingerPosition.RIGHT_THUMB: minutiae(12), FingerPosition.LEFT_INDEX: minutiae(3)}
    rich = f.FingerView(
        position=FingerPosition.LEFT_RING,
        minutiae=minutiae(5),
        quality=77,
        extended_data=(
            f.ExtendedDataArea.of(1, b"\x00\x01\x02\x07"),
            f.ExtendedDataArea.of(0x0101, b"vendor"),
        ),
        quality_blocks=(f.QualityBlock(77, 1, 2),),
        certification_blocks=(f.CertificationBlock(3, 4),),
    )
    iris = IrisCode(rng.integers(0, 256, 256, dtype=np.uint8), rng.integers(0, 256, 256, dtype=np.uint8))
    face = FaceEmbedding(rng.normal(size=32).astype(np.float32), quality=90)
    fmr2011 = [
        f.minutiae_to_fmr(fingers, "2011"),
        f.write_fmr(f.FingerMinutiaeRecord(views=(rich,), certification_flag=True), version="2011"),
    ]
    iris_bytes = f.write_iriscode(iris)
    face_bytes = [f.write_face_embedding(face, dtype=d) for d in ("float32", "float16", "int8")]
    sample = BiometricSample(
        fingers={FingerPosition.LEFT_INDEX: minutiae(4)}, irises={EyePosition.LEFT: iris}, face=face
    )

    def plain(reader: Callable[[bytes], object]) -> Callable[[bytes], None]:
        def run(data: bytes) -> None:
            reader(data[1:])

        return run

    def crc_fixing(reader: Callable[[bytes], object]) -> Callable[[bytes], None]:
        def run(data: bytes) -> None:
            body = data[1:]
            reader(_with_crc(body) if data[:1] and data[0] & 1 else body)

        return run

    def cbeff(data: bytes) -> None:
        mode = data[0] % 4 if data else 0
        if mode == 0:
            f.read_cbeff(data[1:])
            return
        bdb = base64.b64encode(data[1:]).decode()
        f.read_cbeff(_CBEFF_BIR.format(bdb=bdb, **_CBEFF_MODES[mode]).encode())

    targets: dict[str, tuple[Callable[[bytes], None], list[bytes]]] = {
        "fmr2005": (plain(f.read_fmr), [b"\x00" + f.minutiae_to_fmr(fingers, "2005")]),
        "fmr2011": (plain(f.read_fmr), [b"\x00" + seed for seed in fmr2011]),
        "iriscode": (crc_fixing(f.read_iriscode), [b"\x00" + iris_bytes, b"\x01" + iris_bytes]),
        "face": (
            crc_fixing(f.read_face_embedding),
            [m + seed for seed in face_bytes for m in (b"\x00", b"\x01")],
        ),
        "cbeff": (
            cbeff,
            [
                b"\x00" + f.write_cbeff(sample),
                b"\x01" + fmr2011[0],
                b"\x02" + iris_bytes,
                b"\x03" + face_bytes[2],
            ],
        ),
    }
    harness, corpus = targets[name]
    return harness, corpus, f.FormatError


# --------------------------------------------------------------------------------------------
# Child processes: one target, one engine
# --------------------------------------------------------------------------------------------


def run_atheris(name: str, runs: int, artifacts: Path, corpus_dir: Path) -> None:
    import atheris

    with atheris.instrument_imports(include=["ektp.abis.formats"]):
        harness, corpus, format_error = build_target(name)

    def test_one(data: bytes) -> None:
        with contextlib.suppress(format_error):
            harness(data)

    corpus_dir.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(corpus):
        (corpus_dir / f"seed-{i}").write_bytes(seed)
    max_len = max(4096, 2 * max(len(seed) for seed in corpus))
    artifacts.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.argv[0],
        f"-runs={runs}",
        f"-max_len={max_len}",
        "-print_final_stats=1",
        f"-artifact_prefix={artifacts}/{name}-",
        str(corpus_dir),
    ]
    atheris.Setup(argv, test_one)
    atheris.Fuzz()


_MUTATIONS = ("flip", "set", "truncate", "insert", "delete", "splice", "duplicate")


def mutate(rnd: random.Random, data: bytes, seeds: list[bytes]) -> bytes:
    out = bytearray(data)
    for _ in range(rnd.randint(1, 5)):
        op = rnd.choice(_MUTATIONS)
        i = rnd.randrange(len(out) + 1)
        if op == "flip" and out:
            j = rnd.randrange(len(out))
            out[j] ^= 1 << rnd.randrange(8)
        elif op == "set" and out:
            out[rnd.randrange(len(out))] = rnd.choice((0, 1, 0x7F, 0x80, 0xFF, rnd.randrange(256)))
        elif op == "truncate":
            del out[i:]
        elif op == "insert":
            out[i:i] = rnd.randbytes(rnd.randint(1, 16))
        elif op == "delete":
            del out[i : i + rnd.randint(1, 16)]
        elif op == "splice":
            other = rnd.choice(seeds)
            out = out[:i] + bytearray(other[rnd.randrange(len(other) + 1) :])
        elif op == "duplicate" and out:
            j = rnd.randrange(len(out))
            out[i:i] = out[j : j + rnd.randint(1, 32)]
    return bytes(out)


def run_mutation(name: str, runs: int, artifacts: Path) -> None:
    harness, corpus, format_error = build_target(name)
    rnd = random.Random(f"ektp-{name}")
    started = time.perf_counter()
    crashes = 0
    pool = list(corpus)
    for n in range(runs):
        data = mutate(rnd, rnd.choice(pool), corpus) if n >= len(corpus) else corpus[n]
        try:
            harness(data)
            if len(pool) < 256 and rnd.random() < 0.01:
                pool.append(data)  # accepted inputs become parents too
        except format_error:
            pass
        except Exception:
            crashes += 1
            artifacts.mkdir(parents=True, exist_ok=True)
            path = artifacts / f"{name}-crash-{crashes}"
            path.write_bytes(data)
            print(f"CRASH {path}\n{traceback.format_exc()}", file=sys.stderr)
    elapsed = time.perf_counter() - started
    print(f"stat::number_of_executed_units: {runs}", file=sys.stderr)
    print(f"stat::crashes: {crashes}", file=sys.stderr)
    print(f"stat::seconds: {elapsed:.3f}", file=sys.stderr)
    sys.exit(1 if crashes else 0)


# --------------------------------------------------------------------------------------------
# Parent: run every target, print the table
# --------------------------------------------------------------------------------------------


def atheris_available() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


def run_target(name: str, engine: str, runs: int, artifacts: Path) -> dict[str, Any]:
    started = time.perf_counter()
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parent.parent / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    with tempfile.TemporaryDirectory(
        prefix=f"ektp-fuzz-{name}-"
    ) as corpus:  # libFuzzer grows it; dropped after
        command = [sys.executable, __file__, "--child", name, "--engine", engine, "--runs", str(runs)]
        command += ["--artifacts", str(artifacts), "--corpus", corpus]
        proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    log = proc.stdout + proc.stderr
    executed = re.findall(r"stat::number_of_executed_units: (\d+)", log)
    done = re.findall(r"Done (\d+) runs in (\d+) second", log)
    crashed = proc.returncode != 0
    if engine == "mutation":
        counted = re.findall(r"stat::crashes: (\d+)", log)
        crashes = int(counted[-1]) if counted else int(crashed)
    else:
        crashes = 1 if crashed else 0
    inputs = int(executed[-1]) if executed else int(done[-1][0]) if done else 0
    coverage = re.findall(r"cov: (\d+)", log)
    return {
        "target": name,
        "engine": engine,
        "inputs": inputs,
        "seconds": elapsed,
        "coverage": int(coverage[-1]) if coverage else None,
        "crashes": crashes,
        "returncode": proc.returncode,
        "log_tail": log[-3000:] if crashed else "",
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=100_000, help="inputs per target (default 100000)")
    parser.add_argument("--target", action="append", choices=TARGETS, help="run only these targets")
    parser.add_argument("--engine", choices=("auto", "atheris", "mutation"), default="auto")
    parser.add_argument("--artifacts", type=Path, default=Path(tempfile.gettempdir()) / "ektp-fuzz-artifacts")
    parser.add_argument("--child", choices=TARGETS, help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    engine = args.engine
    if engine == "auto":
        engine = "atheris" if atheris_available() else "mutation"
    if args.child:
        if engine == "atheris":
            corpus = args.corpus or Path(tempfile.mkdtemp(prefix=f"ektp-fuzz-{args.child}-"))
            run_atheris(args.child, args.runs, args.artifacts, corpus)
        else:
            run_mutation(args.child, args.runs, args.artifacts)
        return 0

    import platform

    print(f"# ABIS format fuzzing: engine={engine}, {args.runs} inputs per target")
    print(
        f"# {platform.python_implementation()} {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cpus"
    )
    header = (
        f"{'target':<10} {'engine':<9} {'inputs':>9} {'seconds':>8} {'inputs/s':>9} {'cov':>6} {'crashes':>8}"
    )
    print(header)
    print("-" * len(header))
    results = []
    for name in args.target or TARGETS:
        result = run_target(name, engine, args.runs, args.artifacts)
        results.append(result)
        rate = result["inputs"] / result["seconds"] if result["seconds"] else 0.0
        coverage = "-" if result["coverage"] is None else str(result["coverage"])
        print(
            f"{name:<10} {engine:<9} {result['inputs']:>9} {result['seconds']:>8.1f} {rate:>9.0f} {coverage:>6} "
            f"{result['crashes']:>8}",
            flush=True,
        )
    failed = [r for r in results if r["crashes"] or r["inputs"] < args.runs]
    for result in failed:
        print(
            f"\n## {result['target']}: return code {result['returncode']}\n{result['log_tail']}",
            file=sys.stderr,
        )
    total = sum(r["inputs"] for r in results)
    print(
        f"total: {total} inputs, {sum(r['crashes'] for r in results)} crashes, artifacts in {args.artifacts}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
