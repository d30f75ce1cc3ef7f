"""Batch deduplication on Spark (pyspark is the optional ``spark`` extra, imported lazily).

Plan: the driver opens the gallery read-only and cuts it into partitions
(:meth:`PersistentGallery.partitions`: segment slices of committed rows, with the rows deleted
by tombstones); the probes' templates and stage-1 codes are built once on the driver and
broadcast with the calibration; each task runs :func:`~ektp.abis.gallery.persistent.
scan_partition` — local stage-1 top-K₁ and stage 2 — for all probes against its partition and
returns the hits; the driver merges per probe with :func:`~ektp.abis.gallery.persistent.
merge_hits` and decides. Because a partition's local top-K₁ contains every global top-K₁ member
it holds, the result is identical to the in-process engine (:mod:`.batch`).

Tasks read the gallery files directly, so executors need the gallery directory at the same path
(local mode; on a cluster a shared filesystem — or ship segments to HDFS/S3 first, not done here).
The gallery must not be compacted while a batch runs (compaction deletes the old segments).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ektp.abis.engine import PreparedProbe
from ektp.abis.fusion import Calibration, calibration_from_dict, calibration_to_dict
from ektp.abis.gallery.persistent import (
    DEFAULT_CANDIDATES,
    Hit,
    PartitionSpec,
    PersistentGallery,
    merge_hits,
    scan_partition,
)
from ektp.abis.gallery.store import decode_templates, encode_templates
from ektp.kit.errors import InvalidState, invalid

__all__ = ["java_available", "pyspark_available", "require_pyspark", "search_spark"]


def pyspark_available() -> bool:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return True


def java_available() -> bool:
    return shutil.which("java") is not None or bool(os.environ.get("JAVA_HOME"))


def require_pyspark() -> Any:
    """The pyspark module, or a clear error saying how to get it."""
    try:
        import pyspark
    except ImportError:
        raise InvalidState(
            "--engine spark needs pyspark: install the 'spark' extra (pip install 'ektp[spark]') "
            "and a Java 17+ runtime"
        ) from None
    if not java_available():
        raise InvalidState("--engine spark needs a Java runtime (java on PATH or JAVA_HOME)")
    return pyspark


def _task(spec_doc: dict[str, Any], payload: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """One Spark task: all broadcast probes against one partition (runs on an executor)."""
    spec = PartitionSpec(**{**spec_doc, "dead": tuple(spec_doc["dead"])})
    calibration = calibration_from_dict(payload["calibration"])
    codes = np.frombuffer(payload["codes"], dtype=np.uint8).reshape(-1, payload["code_bytes"])
    probes = [
        (decode_templates(b, field_name=f"probes[{i}]"), codes[i]) for i, b in enumerate(payload["bodies"])
    ]
    hits = scan_partition(
        spec, probes, calibration, candidates=payload["candidates"], modalities=payload["modalities"]
    )
    return [[h.to_dict() for h in per_probe] for per_probe in hits]


def search_spark(
    gallery_dir: str | Path,
    probes: Sequence[tuple[PreparedProbe, npt.NDArray[np.uint8]]],
    calibration: Calibration,
    *,
    master: str = "local[2]",
    candidates: int = DEFAULT_CANDIDATES,
    top_k: int = 10,
    rows_per_partition: int = 50_000,
    modalities: Collection[str] | None = None,
) -> list[list[Hit]]:
    """Merged top-k hits per probe, computed by Spark tasks over the gallery's partitions."""
    require_pyspark()
    from pyspark.sql import SparkSession

    with PersistentGallery.open(gallery_dir, readonly=True, create=False) as gallery:
        specs = gallery.partitions(rows_per_partition)
        code_bytes = gallery.code_bytes
    if not probes:
        return []
    for i, (_, code) in enumerate(probes):
        if code.shape != (code_bytes,):
            raise invalid(f"probes[{i}].code", "shape", f"stage-1 code must be {code_bytes} bytes")
    payload = {
        "bodies": [encode_templates(p) for p, _ in probes],
        "codes": np.stack([c for _, c in probes]).astype(np.uint8).tobytes(),
        "code_bytes": code_bytes,
        "calibration": calibration_to_dict(calibration),
        "candidates": candidates,
        "modalities": None if modalities is None else list(modalities),
    }
    if not specs:
        return [[] for _ in probes]
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master(master)
        .appName("ektp-abis-dedup")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    try:
        sc = spark.sparkContext
        shared = sc.broadcast(payload)
        docs = [
            {
                "directory": s.directory,
                "code_bytes": s.code_bytes,
                "segment": s.segment,
                "lo": s.lo,
                "hi": s.hi,
                "dead": list(s.dead),
            }
            for s in specs
        ]
        parts = sc.parallelize(docs, len(docs)).map(lambda d: _task(d, shared.value)).collect()
    finally:
        spark.stop()
    merged: list[list[Hit]] = []
    for q in range(len(probes)):
        lists = [[Hit.from_dict(h) for h in part[q]] for part in parts]
        merged.append(merge_hits(lists, candidates=candidates, top_k=top_k))
    return merged
