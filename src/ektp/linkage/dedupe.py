"""Batch deduplication of person records: one cluster id per record.

Stages (each reported to ``on_stage`` so the CLI can draw a progress bar): ``load`` (features),
``block`` (candidate pairs from the blocking rules), ``predict`` (score them), ``cluster``
(connected components of the pairs at or above ``threshold``). A cluster's id is the smallest
``record_id`` in it, so a run is deterministic. The model's λ is rescaled to the number of
records (:func:`ektp.linkage.model.prior_for`: a model trained on 25,000 records applied to
250,000 has a prior ten times smaller); with it, connected components at 0.9 stay clean at
200,000 persons (pairwise F1 0.99, see ``benchmarks/RESULTS.md``), so no cluster splitting is
done; these batch ids are *not* the stable
person-cluster ids of :mod:`ektp.linkage.incremental` (which never change once given).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ektp.kit.errors import invalid
from ektp.linkage.model import (
    BACKENDS,
    make_db_api,
    model_settings,
    prepare_records,
    prior_for,
    register_features,
    training_records,
)

STAGES: tuple[str, ...] = ("load", "block", "predict", "cluster")


@dataclass(frozen=True)
class DedupeResult:
    """``clusters``: record_id → cluster id (the smallest record_id of its cluster); ``pairs``:
    candidate pairs scored; ``links``: pairs at or above the threshold; ``seconds``: per stage."""

    clusters: dict[int, int]
    pairs: int
    links: int
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def cluster_count(self) -> int:
        return len(set(self.clusters.values()))

    def duplicate_groups(self) -> list[list[int]]:
        """Clusters with more than one record, each sorted, largest first."""
        groups: dict[int, list[int]] = {}
        for record_id, cluster in self.clusters.items():
            groups.setdefault(cluster, []).append(record_id)
        return sorted((sorted(ids) for ids in groups.values() if len(ids) > 1), key=lambda g: (-len(g), g[0]))


def _check_threshold(threshold: float) -> None:
    if not 0.0 < threshold < 1.0:
        raise invalid("threshold", "range", f"threshold must be between 0 and 1 (exclusive), got {threshold}")


def dedupe_records(
    records: Any,
    *,
    model: Mapping[str, Any] | str | None = None,
    threshold: float = 0.9,
    backend: str = "duckdb",
    spark_session: Any = None,
    on_stage: Callable[[str], None] | None = None,
) -> DedupeResult:
    """Cluster ``records`` (a list of dicts, a pandas DataFrame or a pyarrow Table with the
    columns of :data:`ektp.linkage.model.INPUT_COLUMNS`; any may be empty) with the ektp model
    (``model``: a settings dict, a JSON path, or None for the packaged default) at ``threshold``
    match probability, on DuckDB or Spark (``backend``)."""
    from splink import Linker

    _check_threshold(threshold)
    if backend not in BACKENDS:
        raise invalid("backend", "choice", f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    settings = model_settings(model)
    seconds: dict[str, float] = {}

    def stage(name: str, started: float) -> None:
        seconds[name] = time.perf_counter() - started
        if on_stage is not None:
            on_stage(name)

    started = time.perf_counter()
    features = prepare_records(records)
    if features.num_rows == 0:
        stage("load", started)
        return DedupeResult(clusters={}, pairs=0, links=0, seconds=seconds)
    settings["probability_two_random_records_match"] = prior_for(
        settings, training_records(model), features.num_rows
    )
    db_api = make_db_api(backend, spark_session=spark_session)
    table = register_features(db_api, features, name="ektp_records")
    linker = Linker(table, settings, log_level=None)
    stage("load", started)

    started = time.perf_counter()
    blocked = linker.inference.compute_blocked_pairs_for_predict()
    pairs = _count(blocked)
    stage("block", started)

    started = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")
    links = _count(predictions)
    stage("predict", started)

    started = time.perf_counter()
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    )
    clusters = {
        int(row["record_id"]): int(row["cluster_id"]) for row in _rows(clustered, ("record_id", "cluster_id"))
    }
    # Splink's cluster id is a representative record id; use the smallest id of each cluster.
    smallest: dict[int, int] = {}
    for record_id, cluster in clusters.items():
        smallest[cluster] = min(smallest.get(cluster, record_id), record_id)
    clusters = {record_id: smallest[cluster] for record_id, cluster in clusters.items()}
    stage("cluster", started)
    return DedupeResult(clusters=clusters, pairs=pairs, links=links, seconds=seconds)


def _count(frame: Any) -> int:
    rows = list(_rows_sql(frame, f"select count(*) as n from {frame.physical_name}"))
    return int(rows[0]["n"])


def _rows_sql(frame: Any, sql: str) -> Iterable[Mapping[str, Any]]:
    db_api = frame.db_api
    if type(db_api).__name__ == "DuckDBAPI":
        relation = db_api._con.sql(sql)
        names = relation.columns
        return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]
    return [row.asDict() for row in db_api.spark.sql(sql).collect()]


def _rows(frame: Any, columns: tuple[str, ...]) -> Iterable[Mapping[str, Any]]:
    return _rows_sql(frame, f"select {', '.join(columns)} from {frame.physical_name}")


# ------------------------------------------------------------------------------------------------
# Evaluation against ground truth


@dataclass(frozen=True)
class PairwiseScores:
    true_positives: int
    predicted_pairs: int
    true_pairs: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def _pairs(sizes: Iterable[int]) -> int:
    return sum(size * (size - 1) // 2 for size in sizes)


def pairwise_scores(clusters: Mapping[int, int], truth: Mapping[int, Any]) -> PairwiseScores:
    """Pairwise precision / recall / F1 of a clustering (record_id → cluster) against the true
    person of each record (record_id → person): a pair is predicted when both records share a
    cluster, true when they share a person."""
    missing = [record_id for record_id in truth if record_id not in clusters]
    if missing:
        raise invalid("clusters", "complete", f"record {missing[0]} has no cluster")
    predicted: dict[Any, int] = {}
    actual: dict[Any, int] = {}
    both: dict[tuple[Any, Any], int] = {}
    for record_id, person in truth.items():
        cluster = clusters[record_id]
        predicted[cluster] = predicted.get(cluster, 0) + 1
        actual[person] = actual.get(person, 0) + 1
        both[(cluster, person)] = both.get((cluster, person), 0) + 1
    return PairwiseScores(
        true_positives=_pairs(both.values()),
        predicted_pairs=_pairs(predicted.values()),
        true_pairs=_pairs(actual.values()),
    )
