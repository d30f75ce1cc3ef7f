"""Incremental 1:N linkage against a linked master, with STABLE person-cluster ids.

Splink scores pairs and clusters a batch; which id a person keeps from one run to the next is
left to its users. ektp keeps a linked master (a DuckDB database: a file, or in memory) of
records with their feature columns and a person-cluster id, and gives these guarantees:

* **Ids never change when records are added.** A new record either joins an existing cluster
  (keeps that cluster's id) or starts a new cluster with a fresh id (one more than the highest id
  ever given; ids are never reused).
* **No silent merges.** When a new record matches two (or more) existing clusters above the
  threshold, it joins the best one and the others are reported as a *merge candidate* (stored in
  ``merge_candidates`` for an examiner). Clusters merge only when an examiner confirms it with
  :meth:`LinkedMaster.merge_clusters`: the lower (older) id survives, the master's rows move to
  it, and a redirect is recorded so the retired id still resolves (:meth:`LinkedMaster.resolve`).

How a record is checked (:meth:`LinkedMaster.check_record`): its features are computed
(:func:`ektp.linkage.model.prepare_record`), candidates are looked up in the master on the
blocking keys of the model (:data:`ektp.linkage.model.BLOCKING_KEYS`; each key has an index),
and the pairs are scored with the model's own Splink SQL — generated once per master by Splink's
``compare_records`` (``splink.internals.realtime``, the function behind Splink's real-time
linkage; Splink 5 has no ``find_matches_to_new_records`` and its ``predict_between`` plans and
materialises several tables per call, too slow for a 50 ms budget), then run on the candidates.

The prior λ is the model's, rescaled to the size of the master (:func:`ektp.linkage.model.prior_for`:
a new record is one of N candidates' duplicate, so λ falls as 1/N; never raised above the
trained value). Time per check at 1,000,000 records (``benchmarks/bench_linkage.py``): the
candidate lookup dominates; the blocking rule on birth year + first-word sound now carries the
birth place, which took the candidates per record from ~290 to ~85 (p95 16.7 ms, was 50–160 ms).
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa

from ektp.kit.errors import NotFound, invalid
from ektp.linkage.levels import JARO_WINKLER_COLUMNS, check_levels_match, comparison_vector
from ektp.linkage.model import (
    BLOCKING_KEYS,
    FEATURE_COLUMNS,
    FEATURE_SCHEMA,
    model_settings,
    prepare_record,
    prepare_records,
    prior_for,
    training_records,
)

Decision = Literal["join", "new"]
_COLUMN_TYPES = {
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.string(): "VARCHAR",
    pa.list_(pa.string()): "VARCHAR[]",
}


@dataclass(frozen=True)
class Match:
    record_id: int
    cluster_id: int
    match_probability: float


@dataclass(frozen=True)
class MergeCandidate:
    """A new record that matched two clusters: an examiner decides whether they are one person."""

    record_id: int
    cluster_a: int
    cluster_b: int
    probability_a: float
    probability_b: float


@dataclass(frozen=True)
class MatchResult:
    """``matches``: best-scoring master records (highest first); ``decision``: ``join`` (the
    record belongs to ``cluster_id``) or ``new`` (a new cluster ``cluster_id`` starts);
    ``merge_candidates``: other clusters the record also matched above the threshold."""

    record_id: int
    decision: Decision
    cluster_id: int
    matches: list[Match]
    merge_candidates: list[MergeCandidate] = field(default_factory=list)

    @property
    def best_probability(self) -> float:
        return self.matches[0].match_probability if self.matches else 0.0


def _create_sql() -> str:
    columns = ", ".join(
        f"{name} {_COLUMN_TYPES[FEATURE_SCHEMA.field(name).type]}" for name in FEATURE_COLUMNS
    )
    keys = ", ".join(f"{name} VARCHAR" for name in KEY_COLUMNS)
    return f"""
    create table if not exists master ({columns}, {keys}, cluster_id BIGINT not null, primary key (record_id));
    create table if not exists cluster_redirects (
        retired_id BIGINT primary key, surviving_id BIGINT not null, examiner VARCHAR not null,
        merged_at TIMESTAMPTZ not null);
    create table if not exists merge_candidates (
        record_id BIGINT not null, cluster_a BIGINT not null, cluster_b BIGINT not null,
        probability_a DOUBLE not null, probability_b DOUBLE not null, found_at TIMESTAMPTZ not null,
        resolved BOOLEAN not null default false);
    create table if not exists master_meta (key VARCHAR primary key, value BIGINT not null);
    """


#: One key column per blocking rule (the master-side columns of the rule joined with "|"), each
#: with its own single-column index: DuckDB's ART indexes serve single-column point lookups.
KEY_COLUMNS: tuple[str, ...] = tuple(f"block_key_{index}" for index in range(len(BLOCKING_KEYS)))


def _join_key(values: Iterable[Any]) -> str | None:
    parts = list(values)
    if any(part is None for part in parts):
        return None
    return "|".join(str(part) for part in parts)


def master_keys(features: Mapping[str, Any]) -> list[str | None]:
    """The blocking-key columns of a master record."""
    return [_join_key(features[left] for left, _ in keys) for keys in BLOCKING_KEYS]


def probe_keys(features: Mapping[str, Any]) -> list[str | None]:
    """The keys an incoming record looks up (rule by rule, its right-hand columns)."""
    return [_join_key(features[right] for _, right in keys) for keys in BLOCKING_KEYS]


class LinkedMaster:
    """The linked master. Open an existing DuckDB file or a new one (``path``; None: in memory)
    and add records with :meth:`check_record` (or in bulk with :meth:`load`)."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        model: Mapping[str, Any] | str | Path | None = None,
        threshold: float = 0.9,
        candidates_shown: int = 5,
    ) -> None:
        if not 0.0 < threshold < 1.0:
            raise invalid(
                "threshold", "range", f"threshold must be between 0 and 1 (exclusive), got {threshold}"
            )
        self.threshold = threshold
        self.candidates_shown = candidates_shown
        self._settings = model_settings(model)
        self._trained_on = training_records(model)
        self._con = duckdb.connect(str(path) if path is not None else ":memory:")
        # One thread: the queries here are point lookups, where thread hand-offs cost more
        # than they save (and a busy machine makes them cost a lot more).
        self._con.execute("set threads = 1").fetchall()
        self._lock = threading.Lock()
        self._run(_create_sql())
        self._run("insert or ignore into master_meta values ('next_cluster_id', 1)")
        self._scoring_sql = self._build_scoring_sql()
        self._count = self.record_count

    # -- setup -------------------------------------------------------------------------------

    def _build_scoring_sql(self) -> str:
        """The candidate query (one index lookup per blocking key, UNION ALL) and, from Splink's
        settings object, the Bayes factor of every comparison level and the prior. Each level's
        SQL is Splink's; :mod:`ektp.linkage.levels` evaluates the same levels in Python (a
        test checks it agrees with Splink's SQL on generated pairs), because planning Splink's
        comparison SQL costs DuckDB 25-60 ms per query, the whole 50 ms budget."""
        from splink import SettingsCreator

        settings = SettingsCreator.from_path_or_dict(dict(self._settings)).get_settings("duckdb")
        self._prior = float(settings._probability_two_random_records_match)
        self._bayes: list[dict[int, float]] = []
        conditions: list[list[str]] = []
        for comparison in settings.comparisons:
            factors: dict[int, float] = {}
            conditions.append([level.sql_condition for level in comparison.comparison_levels])
            for level in comparison.comparison_levels:
                factor = level._bayes_factor
                factors[int(level.comparison_vector_value)] = 1.0 if factor is None else float(factor)
            self._bayes.append(factors)
        check_levels_match(conditions)
        columns = ", ".join([*FEATURE_COLUMNS, "cluster_id"])
        return " union all ".join(
            f"select {columns} from master where {column} = ?" for column in KEY_COLUMNS
        )

    def _run(self, sql: str, parameters: list[Any] | None = None) -> None:
        """Run a statement to completion (DuckDB keeps an unread result open otherwise)."""
        self._con.execute(sql, parameters).fetchall()

    def _one(self, sql: str, parameters: list[Any] | None = None) -> tuple[Any, ...] | None:
        rows = self._con.execute(sql, parameters).fetchall()
        return tuple(rows[0]) if rows else None

    def _table_names(self) -> list[str]:
        return [
            row[0] for row in self._con.execute("select table_name from information_schema.tables").fetchall()
        ]

    def create_indexes(self) -> None:
        """One index per blocking key (idempotent); :meth:`load` calls it."""
        for column in KEY_COLUMNS:
            self._run(f"create index if not exists master_{column} on master ({column})")

    # -- bulk load ---------------------------------------------------------------------------

    def load(self, records: Any, *, clusters: Mapping[int, int] | None = None) -> int:
        """Add ``records`` in bulk to an empty master. ``clusters`` (record_id → any grouping,
        e.g. :func:`ektp.linkage.dedupe.dedupe_records` output): records of one group share a new
        stable id; without it each record is its own cluster. Ids are numbered in order of each
        group's smallest record_id. Returns the number of clusters made."""
        if self.record_count:
            raise invalid("master", "empty", "bulk load needs an empty master; add records with check_record")
        features = records if isinstance(records, pa.Table) else prepare_records(records)
        ids = features.column("record_id").to_pylist()
        if clusters is not None:
            missing = [record_id for record_id in ids if record_id not in clusters]
            if missing:
                raise invalid("clusters", "complete", f"record {missing[0]} has no cluster")
            first_of: dict[Any, int] = {}
            for record_id in sorted(ids):
                first_of.setdefault(clusters[record_id], record_id)
            order = sorted(first_of.items(), key=lambda item: item[1])
            stable = {group: number for number, (group, _) in enumerate(order, start=1)}
            cluster_ids = [stable[clusters[record_id]] for record_id in ids]
            count = len(stable)
        else:
            rank = {record_id: number for number, record_id in enumerate(sorted(ids), start=1)}
            cluster_ids = [rank[record_id] for record_id in ids]
            count = len(ids)
        table = features
        rows = features.select([left for keys in BLOCKING_KEYS for left, _ in keys]).to_pylist()
        for index, keys in enumerate(BLOCKING_KEYS):
            values = [_join_key(row[left] for left, _ in keys) for row in rows]
            table = table.append_column(KEY_COLUMNS[index], pa.array(values, pa.string()))
        table = table.append_column("cluster_id", pa.array(cluster_ids, pa.int64()))
        with self._lock:
            self._run("reset threads")
            self._con.register("__ektp_load", table)
            self._run(f"insert into master select {', '.join(table.column_names)} from __ektp_load")
            self._con.unregister("__ektp_load")
            self._run("update master_meta set value = ? where key = 'next_cluster_id'", [count + 1])
            self._count += features.num_rows
            self.create_indexes()
            self._run("checkpoint")
            self._run("set threads = 1")
        return count

    # -- queries -----------------------------------------------------------------------------

    @property
    def record_count(self) -> int:
        row = self._one("select count(*) from master")
        return int(row[0]) if row else 0

    def cluster_of(self, record_id: int) -> int:
        row = self._one("select cluster_id from master where record_id = ?", [record_id])
        if row is None:
            raise NotFound(f"record {record_id} is not in the master")
        return int(row[0])

    def clusters(self) -> dict[int, int]:
        """record_id → current cluster id, for every record of the master."""
        return {
            int(a): int(b)
            for a, b in self._con.execute("select record_id, cluster_id from master").fetchall()
        }

    def resolve(self, cluster_id: int) -> int:
        """The current id of a cluster: itself, or the id it was merged into (followed through
        any chain of confirmed merges)."""
        current = cluster_id
        for _ in range(1000):
            row = self._one("select surviving_id from cluster_redirects where retired_id = ?", [current])
            if row is None:
                return current
            current = int(row[0])
        raise invalid("cluster_id", "redirect_cycle", f"cluster {cluster_id} redirects in a cycle")

    def merge_candidates(self, *, include_resolved: bool = False) -> list[MergeCandidate]:
        sql = "select record_id, cluster_a, cluster_b, probability_a, probability_b from merge_candidates"
        if not include_resolved:
            sql += " where not resolved"
        rows = self._con.execute(sql + " order by found_at, record_id").fetchall()
        return [MergeCandidate(int(r[0]), int(r[1]), int(r[2]), float(r[3]), float(r[4])) for r in rows]

    # -- 1:N ---------------------------------------------------------------------------------

    def score(self, record: Mapping[str, Any], *, record_id: int | None = None) -> list[Match]:
        """Score ``record`` against its blocking candidates in the master (nothing is written):
        every candidate with its probability, best first."""
        incoming = prepare_record(
            {**record, "record_id": record_id if record_id is not None else record.get("record_id")}, row=1
        )
        with self._lock:  # one DuckDB connection: it refuses a second caller instead of waiting
            return self._score_prepared(incoming)

    def _score_prepared(self, incoming: dict[str, Any]) -> list[Match]:
        rows = self._con.execute(self._scoring_sql, probe_keys(incoming)).fetchall()
        prior = prior_for(
            {"probability_two_random_records_match": self._prior}, self._trained_on, self._count
        )
        odds_prior = prior / (1.0 - prior)
        width = len(FEATURE_COLUMNS)
        unique: dict[int, tuple[Any, ...]] = {}
        for row in rows:
            unique.setdefault(int(row[0]), row)
        candidates = [
            (dict(zip(FEATURE_COLUMNS, row[:width], strict=True)), int(row[width])) for row in unique.values()
        ]
        similarity = self._similarities(incoming, [candidate for candidate, _ in candidates])
        matches: list[Match] = []
        for candidate, cluster_id in candidates:
            odds = odds_prior
            gammas = comparison_vector(incoming, candidate, lambda a, b: similarity[(a, b)])
            for factors, gamma in zip(self._bayes, gammas, strict=True):
                odds *= factors[gamma]
            probability = 1.0 if math.isinf(odds) else odds / (1.0 + odds)
            matches.append(Match(int(candidate["record_id"]), cluster_id, probability))
        matches.sort(key=lambda match: (-match.match_probability, match.record_id))
        return matches

    def _similarities(
        self, incoming: Mapping[str, Any], candidates: list[dict[str, Any]]
    ) -> dict[tuple[str, str], float]:
        """DuckDB's Jaro-Winkler similarity (the function Splink's SQL uses) for every string pair
        the levels may ask about, in one query."""
        pairs = {
            (incoming[column], candidate[column])
            for candidate in candidates
            for column in JARO_WINKLER_COLUMNS
            if incoming[column] is not None and candidate[column] is not None
        }
        if not pairs:
            return {}
        lefts, rights = zip(*pairs, strict=True)
        rows = self._con.execute(
            "select jaro_winkler_similarity(a, b) from (select unnest(?::VARCHAR[]) as a, unnest(?::VARCHAR[]) as b)",
            [list(lefts), list(rights)],
        ).fetchall()
        return {pair: float(row[0]) for pair, row in zip(zip(lefts, rights, strict=True), rows, strict=True)}

    def check_record(self, record: Mapping[str, Any], *, add: bool = True) -> MatchResult:
        """Decide where ``record`` belongs (see the module doc) and, with ``add`` (default), store
        it in the master under that cluster (a merge candidate, if any, is stored too). The
        record needs a ``record_id`` not yet in the master."""
        raw_id = record.get("record_id")
        if raw_id is None or str(raw_id).strip() == "":
            raise invalid("record_id", "required", "a record checked against the master needs a record_id")
        incoming = prepare_record(record, row=1)
        record_id = int(incoming["record_id"])
        with self._lock:
            exists = self._one("select 1 from master where record_id = ?", [record_id])
            if exists:
                raise invalid("record_id", "unique", f"record {record_id} is already in the master")
            matches = self._score_prepared(incoming)
            best_by_cluster: dict[int, float] = {}
            for match in matches:
                if match.match_probability >= self.threshold and match.cluster_id not in best_by_cluster:
                    best_by_cluster[match.cluster_id] = match.match_probability
            merge: list[MergeCandidate] = []
            if best_by_cluster:
                ranked = sorted(best_by_cluster.items(), key=lambda item: (-item[1], item[0]))
                decision: Decision = "join"
                cluster_id, best = ranked[0]
                merge = [MergeCandidate(record_id, cluster_id, other, best, p) for other, p in ranked[1:]]
            else:
                decision = "new"
                cluster_id = self._next_cluster_id(reserve=add)
            if add:
                self._insert(incoming, cluster_id, merge)
        return MatchResult(
            record_id=record_id,
            decision=decision,
            cluster_id=cluster_id,
            matches=matches[: self.candidates_shown],
            merge_candidates=merge,
        )

    def _next_cluster_id(self, *, reserve: bool) -> int:
        row = self._one("select value from master_meta where key = 'next_cluster_id'")
        value = int(row[0]) if row else 1
        if reserve:
            self._run("update master_meta set value = ? where key = 'next_cluster_id'", [value + 1])
        return value

    def _insert(self, incoming: dict[str, Any], cluster_id: int, merge: Iterable[MergeCandidate]) -> None:
        columns = [*FEATURE_COLUMNS, *KEY_COLUMNS, "cluster_id"]
        placeholders = ", ".join("?" for _ in columns)
        self._run(
            f"insert into master ({', '.join(columns)}) values ({placeholders})",
            [*(incoming[name] for name in FEATURE_COLUMNS), *master_keys(incoming), cluster_id],
        )
        self._count += 1
        now = dt.datetime.now(dt.UTC)
        for candidate in merge:
            self._run(
                "insert into merge_candidates values (?, ?, ?, ?, ?, ?, false)",
                [candidate.record_id, candidate.cluster_a, candidate.cluster_b, candidate.probability_a,
                 candidate.probability_b, now],
            )  # fmt: skip

    def merge_clusters(self, a: int, b: int, *, examiner: str) -> int:
        """An examiner confirms that clusters ``a`` and ``b`` are one person: the lower (older) id
        survives, the other's records move to it, a redirect keeps the retired id resolvable, and
        open merge candidates between the two are marked resolved. Returns the surviving id."""
        if not examiner.strip():
            raise invalid("examiner", "required", "a merge needs the examiner who confirmed it")
        first, second = self.resolve(a), self.resolve(b)
        for cluster in (first, second):
            if not self._one("select 1 from master where cluster_id = ? limit 1", [cluster]):
                raise NotFound(f"cluster {cluster} has no records in the master")
        if first == second:
            raise invalid("cluster_id", "distinct", f"clusters {a} and {b} are already one cluster ({first})")
        survivor, retired = min(first, second), max(first, second)
        with self._lock:
            self._run("begin")
            try:
                self._run("update master set cluster_id = ? where cluster_id = ?", [survivor, retired])
                self._run(
                    "insert into cluster_redirects values (?, ?, ?, ?)",
                    [retired, survivor, examiner.strip(), dt.datetime.now(dt.UTC)],
                )
                self._run(
                    "update merge_candidates set resolved = true where (cluster_a = ? and cluster_b = ?) "
                    "or (cluster_a = ? and cluster_b = ?)",
                    [a, b, b, a],
                )
                self._run("commit")
            except Exception:
                self._run("rollback")
                raise
        return survivor

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> LinkedMaster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
