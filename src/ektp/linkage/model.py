"""The ektp Splink model: input features, comparisons, blocking rules, training, model files.

**Features.** :func:`prepare_records` turns raw records (the columns of
:data:`ektp.linkage.corrupt.RECORD_COLUMNS`; any may be empty) into the columns the model
compares: the normalised name (:mod:`ektp.linkage.normalise`) with its first / last word, its
sorted word set and phonetic keys; the birth date split into year / month / day plus the date
with day and month swapped (when that is a valid date); normalised birth place and mother's
name; the region codes. Empty values become NULL, so Splink's null levels apply.

**Comparisons** (first matching level wins, strongest first):

* name: exact → Jaro-Winkler ≥ 0.95 → same phonetic key (spelling variants) → JW ≥ 0.88 →
  one word set inside the other (single name vs. the full name, a word added) → same first word
  or same first phonetic word → JW ≥ 0.7 → else;
* birth date: exact → day and month swapped → one edit apart (a digit typo) → same day and month
  with the year ±1 → year ±1 → else;
* sex exact; birth place exact → JW ≥ 0.88; mother's name exact → JW ≥ 0.9 → same first word
  (NULL level where absent); region: same village → district → regency → province → else;
  NIK exact (strong evidence, not required: a duplicate after a move has a new NIK).

**Blocking** (recall-oriented; a pair found by any rule is scored): same birth date; the birth
date of one equal to the day/month-swapped date of the other; same birth year, first-word
phonetic key and birth place (without the place, MUHAMMAD or SITI born in one year is a block of
hundreds in a national master: 206 candidates on average, p95 548, at 1,000,000 records; the
place cuts that tenfold and loses 4 of the 130 true pairs this rule alone finds in 13,888);
same full phonetic name in the same regency; same day and month of birth and the
last-word phonetic key; same NIK. Each rule is an equi-join, so every rule is a hash join in
DuckDB or Spark and the incremental matcher can look candidates up on indexed key columns.

**Training** (:func:`train_model`): λ (the prior) from deterministic rules with an assumed
recall, u by random sampling, m by expectation maximisation in two sessions whose blocked pairs
are mostly matches at any N: same NIK (for name, birth date, sex, birth place, mother's name) and
same normalised name + birth date (for region and NIK, which a move changes together); see
:data:`EM_SESSIONS`. The earlier sessions (birth date; phonetic name + birth place) drowned in
namesakes at 250,000 records — EM learned that 36 % of matches have unrelated birth dates, and
pairwise F1 fell from 0.99 at 5,000 persons to 0.68 at 200,000. With a labelled column
(``labels_column``, e.g. the generator's ``true_person_id``), m is estimated from the labels
instead (Splink's ``estimate_m_from_label_column``). The trained model is the Splink settings
dict plus ektp's own key (:data:`EKTP_KEY`: the number of records trained on, which
:func:`prior_for` uses to rescale λ to the size of the data it is applied to — λ falls as 1/N);
save it as JSON with :func:`save_model`; :func:`model_settings` gives the Splink part.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from ektp.kit.errors import FieldProblem, ValidationFailed, invalid
from ektp.linkage.normalise import name_features, normalise_name, normalise_place

Backend = Literal["duckdb", "spark"]
BACKENDS: tuple[str, ...] = ("duckdb", "spark")

#: Input columns (all optional except ``name``; ``record_id`` defaults to the row number).
INPUT_COLUMNS = (
    "record_id", "nik", "name", "sex", "birth_date", "birth_place", "mother_name", "province_code",
    "regency_code", "district_code", "village_code", "address",
)  # fmt: skip
REQUIRED_COLUMNS = ("name",)
UNIQUE_ID = "record_id"

#: Prepared columns, as compared by the model.
FEATURE_SCHEMA = pa.schema(
    [
        ("record_id", pa.int64()),
        ("nik", pa.string()),
        ("name_norm", pa.string()),
        ("name_first", pa.string()),
        ("name_last", pa.string()),
        ("name_tokens", pa.list_(pa.string())),
        ("name_phon", pa.string()),
        ("first_phon", pa.string()),
        ("last_phon", pa.string()),
        ("sex", pa.string()),
        ("birth_date", pa.string()),
        ("birth_date_swapped", pa.string()),
        ("birth_year", pa.int32()),
        ("birth_month", pa.int32()),
        ("birth_day", pa.int32()),
        ("birth_place_norm", pa.string()),
        ("mother_norm", pa.string()),
        ("mother_first", pa.string()),
        ("province_code", pa.string()),
        ("regency_code", pa.string()),
        ("district_code", pa.string()),
        ("village_code", pa.string()),
    ]
)
FEATURE_COLUMNS: tuple[str, ...] = tuple(FEATURE_SCHEMA.names)

_SEX = {"L": "L", "LAKI-LAKI": "L", "LAKI LAKI": "L", "M": "L", "MALE": "L", "P": "P", "PEREMPUAN": "P",
        "F": "P", "W": "P", "FEMALE": "P", "WANITA": "P", "PRIA": "L"}  # fmt: skip
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_DIGITS = re.compile(r"\D")


# ------------------------------------------------------------------------------------------------
# Features


def parse_birth_date(value: object, *, row: int | None = None) -> dt.date | None:
    """A birth date from ``YYYY-MM-DD``, ``DD-MM-YYYY`` / ``DD/MM/YYYY`` or a ``date``; None when
    empty. Anything else is refused, naming the row and the rule."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not text or text.upper() in {"NAN", "NAT", "NONE", "NULL"}:
        return None
    where = f"row {row}: " if row is not None else ""
    match = _ISO.match(text)
    if match:
        year, month, day = (int(part) for part in match.groups())
    else:
        match = _DMY.match(text)
        if not match:
            raise invalid(
                "birth_date",
                "date_format",
                f"{where}birth_date {text!r} is not a date (YYYY-MM-DD or DD-MM-YYYY)",
            )
        day, month, year = (int(part) for part in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError as error:
        raise invalid(
            "birth_date", "date_range", f"{where}birth_date {text!r} is not a real date: {error}"
        ) from None


def _text(value: object) -> str:
    if value is None:
        return ""
    text = str(value).strip()
    return "" if text.upper() in {"NAN", "NONE", "NULL"} else text


def _or_null(text: str) -> str | None:
    return text or None


def _code(value: object) -> str | None:
    return _or_null(_text(value).upper())


def prepare_record(record: Mapping[str, Any], *, row: int) -> dict[str, Any]:
    """The model's feature columns for one raw record (``row``: 1-based, used as ``record_id``
    when the record has none, and in error messages)."""
    raw_id = _text(record.get("record_id"))
    if raw_id:
        try:
            record_id = int(raw_id)
        except ValueError:
            raise invalid(
                "record_id", "integer", f"row {row}: record_id {raw_id!r} is not a whole number"
            ) from None
    else:
        record_id = row
    born = parse_birth_date(record.get("birth_date"), row=row)
    swapped: str | None = None
    if born is not None and born.day <= 12 and born.day != born.month:
        swapped = dt.date(born.year, born.day, born.month).isoformat()
    features = name_features(_text(record.get("name")))
    mother = normalise_name(_text(record.get("mother_name")))
    sex_text = _text(record.get("sex")).upper()
    sex = _SEX.get(sex_text)
    if sex_text and sex is None:
        raise invalid("sex", "code", f"row {row}: sex {sex_text!r} is not L/P (LAKI-LAKI/PEREMPUAN)")
    nik = _DIGITS.sub("", _text(record.get("nik")))
    return {
        "record_id": record_id,
        "nik": _or_null(nik),
        "name_norm": _or_null(features.normalised),
        "name_first": _or_null(features.first),
        "name_last": _or_null(features.last),
        "name_tokens": list(features.tokens) if features.tokens else None,
        "name_phon": _or_null(features.phonetic),
        "first_phon": _or_null(features.first_phonetic),
        "last_phon": _or_null(features.last_phonetic),
        "sex": sex,
        "birth_date": born.isoformat() if born else None,
        "birth_date_swapped": swapped,
        "birth_year": born.year if born else None,
        "birth_month": born.month if born else None,
        "birth_day": born.day if born else None,
        "birth_place_norm": _or_null(normalise_place(_text(record.get("birth_place")))),
        "mother_norm": _or_null(mother),
        "mother_first": _or_null(mother.split()[0] if mother else ""),
        "province_code": _code(record.get("province_code")),
        "regency_code": _code(record.get("regency_code")),
        "district_code": _code(record.get("district_code")),
        "village_code": _code(record.get("village_code")),
    }


def records_as_dicts(records: Any) -> list[Mapping[str, Any]]:
    """Accept a list of dicts, a pandas DataFrame, a pyarrow Table or anything with ``to_pylist``."""
    if isinstance(records, pa.Table):
        return list(records.to_pylist())
    if hasattr(records, "to_dict") and hasattr(records, "columns"):  # pandas DataFrame
        return list(records.astype(object).where(records.notna(), None).to_dict("records"))
    if isinstance(records, Iterable) and not isinstance(records, str | bytes | Mapping):
        rows = list(records)
        for index, row in enumerate(rows, start=1):
            if not isinstance(row, Mapping):
                raise invalid(
                    "records", "type", f"row {index}: a record must be a mapping, got {type(row).__name__}"
                )
        return rows
    raise invalid(
        "records", "type", f"records must be a list of dicts or a DataFrame, got {type(records).__name__}"
    )


def prepare_records(records: Any) -> pa.Table:
    """Feature table (:data:`FEATURE_SCHEMA`) for raw records; ``record_id`` must be unique."""
    rows = records_as_dicts(records)
    problems: list[FieldProblem] = []
    prepared: list[dict[str, Any]] = []
    for row, record in enumerate(rows, start=1):
        try:
            prepared.append(prepare_record(record, row=row))
        except ValidationFailed as error:
            problems.extend(error.problems)
            if len(problems) >= 20:
                break
    if problems:
        raise ValidationFailed(f"{len(problems)} record(s) refused: {problems[0].message}", problems)
    table = pa.Table.from_pylist(prepared, schema=FEATURE_SCHEMA)
    ids = table.column("record_id")
    if len(pc.unique(ids)) != len(ids):
        counts = pc.value_counts(ids)
        duplicate = next(item["values"] for item in counts.to_pylist() if item["counts"] > 1)
        raise invalid("record_id", "unique", f"record_id {duplicate} occurs more than once")
    return table


# ------------------------------------------------------------------------------------------------
# Settings


def _comparisons() -> list[Any]:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name_norm"),
            cll.ExactMatchLevel("name_norm").configure(label_for_charts="name exact"),
            cll.JaroWinklerLevel("name_norm", 0.95),
            cll.ExactMatchLevel("name_phon").configure(label_for_charts="same phonetic name"),
            cll.JaroWinklerLevel("name_norm", 0.88),
            cll.ArraySubsetLevel("name_tokens").configure(label_for_charts="word set inside the other"),
            cll.Or(cll.ExactMatchLevel("name_first"), cll.ExactMatchLevel("first_phon")).configure(
                label_for_charts="same first word (or its sound)"
            ),
            cll.JaroWinklerLevel("name_norm", 0.7),
            cll.ElseLevel(),
        ],
    )
    birth_date = cl.CustomComparison(
        output_column_name="birth_date",
        comparison_levels=[
            cll.NullLevel("birth_date"),
            cll.ExactMatchLevel("birth_date"),
            cll.CustomLevel("birth_date_l = birth_date_swapped_r", label_for_charts="day and month swapped"),
            cll.DamerauLevenshteinLevel("birth_date", 1).configure(label_for_charts="one digit apart"),
            cll.CustomLevel(
                "birth_month_l = birth_month_r and birth_day_l = birth_day_r "
                "and abs(birth_year_l - birth_year_r) <= 1",
                label_for_charts="same day and month, year ±1",
            ),
            cll.CustomLevel("abs(birth_year_l - birth_year_r) <= 1", label_for_charts="year ±1"),
            cll.ElseLevel(),
        ],
    )
    sex = cl.ExactMatch("sex")
    birth_place = cl.CustomComparison(
        output_column_name="birth_place",
        comparison_levels=[
            cll.NullLevel("birth_place_norm"),
            cll.ExactMatchLevel("birth_place_norm"),
            cll.JaroWinklerLevel("birth_place_norm", 0.88),
            cll.ElseLevel(),
        ],
    )
    mother = cl.CustomComparison(
        output_column_name="mother_name",
        comparison_levels=[
            cll.NullLevel("mother_norm"),
            cll.ExactMatchLevel("mother_norm"),
            cll.JaroWinklerLevel("mother_norm", 0.9),
            cll.ExactMatchLevel("mother_first"),
            cll.ElseLevel(),
        ],
    )
    region = cl.CustomComparison(
        output_column_name="region",
        comparison_levels=[
            cll.CustomLevel(
                "coalesce(village_code_l, district_code_l, regency_code_l, province_code_l) is null "
                "or coalesce(village_code_r, district_code_r, regency_code_r, province_code_r) is null"
            ).configure(is_null_level=True, label_for_charts="no region"),
            cll.ExactMatchLevel("village_code").configure(label_for_charts="same village"),
            cll.ExactMatchLevel("district_code").configure(label_for_charts="same district"),
            cll.ExactMatchLevel("regency_code").configure(label_for_charts="same regency"),
            cll.ExactMatchLevel("province_code").configure(label_for_charts="same province"),
            cll.ElseLevel(),
        ],
    )
    nik = cl.ExactMatch("nik")
    return [name, birth_date, sex, birth_place, mother, region, nik]


#: Blocking rules as SQL (dialect-neutral equi-joins); see the module doc.
BLOCKING_RULES_SQL: tuple[str, ...] = (
    "l.birth_date = r.birth_date",
    "l.birth_date = r.birth_date_swapped",
    "l.birth_year = r.birth_year and l.first_phon = r.first_phon and l.birth_place_norm = r.birth_place_norm",
    "l.name_phon = r.name_phon and l.regency_code = r.regency_code",
    "l.birth_month = r.birth_month and l.birth_day = r.birth_day and l.last_phon = r.last_phon",
    "l.nik = r.nik",
)

#: The equality keys of each blocking rule: (left column, right column) pairs. The incremental
#: matcher looks candidates up with these (the master side is ``l``).
BLOCKING_KEYS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("birth_date", "birth_date"),),
    (("birth_date", "birth_date_swapped"),),
    (("birth_year", "birth_year"), ("first_phon", "first_phon"), ("birth_place_norm", "birth_place_norm")),
    (("name_phon", "name_phon"), ("regency_code", "regency_code")),
    (("birth_month", "birth_month"), ("birth_day", "birth_day"), ("last_phon", "last_phon")),
    (("nik", "nik"),),
)


def ektp_settings(*, probability_two_random_records_match: float = 1e-5) -> Any:
    """The (untrained) ektp Splink settings: comparisons and blocking rules above."""
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name=UNIQUE_ID,
        comparisons=_comparisons(),
        blocking_rules_to_generate_predictions=[*BLOCKING_RULES_SQL],  # type: ignore[list-item]
        probability_two_random_records_match=probability_two_random_records_match,
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        additional_columns_to_retain=[],
    )


# ------------------------------------------------------------------------------------------------
# Backends


def make_db_api(backend: str = "duckdb", *, connection: Any = None, spark_session: Any = None) -> Any:
    """The Splink database API: DuckDB (default; ``connection`` a DuckDB connection or a file
    path, in memory when omitted) or Spark (``spark_session``, or a local session built on
    demand; needs the optional ``pyspark`` dependency: ``pip install ektp[spark]``)."""
    if backend == "duckdb":
        from splink import DuckDBAPI

        return DuckDBAPI(connection=connection if connection is not None else ":memory:")
    if backend == "spark":
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise invalid(
                "backend", "not_installed", "the spark backend needs pyspark: pip install 'ektp[spark]'"
            ) from None
        from splink import SparkAPI as _SparkAPI

        spark_api: Any = _SparkAPI

        session = spark_session
        if session is None:
            from splink.backends.spark import similarity_jar_location

            # Splink's Jaro-Winkler and friends are Scala UDFs shipped in a jar with splink.
            session = (
                SparkSession.builder.master("local[2]")
                .appName("ektp-linkage")
                .config("spark.jars", similarity_jar_location())
                .config("spark.sql.shuffle.partitions", "8")
                .config("spark.ui.enabled", "false")
                .getOrCreate()
            )
            session.sparkContext.setCheckpointDir("/tmp/ektp-spark-checkpoints")
        return spark_api(spark_session=session, break_lineage_method="parquet")
    raise invalid("backend", "choice", f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")


def register_features(db_api: Any, features: pa.Table, *, name: str) -> Any:
    """Register a feature table with the backend (an arrow table for DuckDB, a Spark DataFrame
    for Spark) and return the SplinkDataFrame."""
    if type(db_api).__name__ == "SparkAPI":
        from pyspark.sql import types as spark_types

        mapping = {
            pa.int64(): spark_types.LongType(),
            pa.int32(): spark_types.IntegerType(),
            pa.string(): spark_types.StringType(),
            pa.list_(pa.string()): spark_types.ArrayType(spark_types.StringType()),
        }
        schema = spark_types.StructType(
            [spark_types.StructField(f.name, mapping[f.type], nullable=True) for f in features.schema]
        )
        rows = [tuple(row[name] for name in features.column_names) for row in features.to_pylist()]
        return db_api.register(db_api.spark.createDataFrame(rows, schema=schema), table_name=name)
    return db_api.register(features, table_name=name)


# ------------------------------------------------------------------------------------------------
# Training and model files


@dataclass(frozen=True)
class TrainingReport:
    records: int
    probability_two_random_records_match: float
    m_source: str


def _quiet_splink() -> None:
    logging.getLogger("splink").setLevel(logging.WARNING)


def train_model(
    records: Any,
    *,
    backend: str = "duckdb",
    labels_column: str | None = None,
    recall: float = 0.7,
    max_pairs: float = 2e6,
    seed: int = 1,
    spark_session: Any = None,
) -> dict[str, Any]:
    """Train the ektp model on ``records`` (raw records; see :func:`prepare_records`) and return
    the Splink settings dict (save with :func:`save_model`).

    λ from deterministic rules (same NIK; same normalised name and birth date) with ``recall``;
    u by random sampling (``max_pairs``); m by EM blocked on birth date and on phonetic name +
    birth year — or, with ``labels_column`` (a column of ``records`` holding a person id), from
    the labelled pairs."""
    from splink import Linker

    _quiet_splink()
    rows = records_as_dicts(records)
    features = prepare_records(rows)
    labels: list[Any] | None = None
    if labels_column is not None:
        labels = [row.get(labels_column) for row in rows]
        if any(label is None or label == "" for label in labels):
            raise invalid(
                labels_column, "required", f"every record needs a {labels_column} to train from labels"
            )
        features = features.append_column("label", pa.array([str(label) for label in labels]))
    db_api = make_db_api(backend, spark_session=spark_session)
    table = register_features(db_api, features, name="ektp_training")
    linker = Linker(table, ektp_settings(), log_level=None)
    linker.training.estimate_probability_two_random_records_match(list(DETERMINISTIC_RULES), recall=recall)
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    if labels is not None:
        linker.training.estimate_m_from_label_column("label")
        model: dict[str, Any] = linker.misc.save_model_to_json(out_path=None)
    else:
        with_u: dict[str, Any] = linker.misc.save_model_to_json(out_path=None)
        model = with_u
        sessions: dict[str, dict[str, Any]] = {}
        for rule in {rule for rule, _ in EM_SESSIONS.values()}:
            session = Linker(table, json.loads(json.dumps(with_u)), log_level=None)
            session.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True
            )
            sessions[rule] = session.misc.save_model_to_json(out_path=None)
        for index, comparison in enumerate(model["comparisons"]):
            rule, _ = EM_SESSIONS[comparison["output_column_name"]]
            comparison["comparison_levels"] = sessions[rule]["comparisons"][index]["comparison_levels"]
    floor_m_probabilities(model)
    model[EKTP_KEY] = {"training_records": features.num_rows}
    return model


#: Deterministic rules for λ (the prior): a pair they find is taken as a match, and they are
#: assumed to find ``recall`` of all matches.
DETERMINISTIC_RULES: tuple[str, ...] = (
    "l.nik = r.nik",
    "l.name_norm = r.name_norm and l.birth_date = r.birth_date",
)

_BY_NIK = "l.nik = r.nik"
_BY_NAME_AND_DATE = "l.name_norm = r.name_norm and l.birth_date = r.birth_date"
#: For each comparison, the blocking rule of the EM session its m probabilities come from (and
#: why). A blocking rule's pairs must be mostly matches at any N — a rule whose non-matching pairs
#: grow as N² (same phonetic name and birth place) lets EM mistake the crowd of namesakes for
#: matches: on 250,000 records it learned that 36 % of matches have unrelated birth dates.
EM_SESSIONS: dict[str, tuple[str, str]] = {
    "name": (_BY_NIK, "same NIK: a double recording; names are written independently of the NIK"),
    "birth_date": (_BY_NIK, "same NIK"),
    "sex": (_BY_NIK, "same NIK"),
    "birth_place": (_BY_NIK, "same NIK"),
    "mother_name": (_BY_NIK, "same NIK"),
    # A duplicate recorded after a move has a new NIK and a new region: both are learned
    # from pairs found without the NIK (same name and birth date).
    "region": (_BY_NAME_AND_DATE, "a move changes region and NIK together"),
    "nik": (_BY_NAME_AND_DATE, "the NIK's own level"),
}


#: Smallest m probability a non-null level keeps after training (see :func:`floor_m_probabilities`).
M_FLOOR = 0.002


def floor_m_probabilities(model: dict[str, Any], floor: float = M_FLOOR) -> None:
    """Raise every trained or untrained m probability of a non-null level to at least ``floor``
    and renormalise each comparison. EM on synthetic (or very clean) data learns m = 0 for levels
    it never sees among matches (a mother's name with a typo, a sex written wrong); m = 0 is an
    infinitely negative weight, a veto no real register deserves."""
    for comparison in model["comparisons"]:
        levels = [level for level in comparison["comparison_levels"] if not level.get("is_null_level")]
        values = [max(float(level.get("m_probability") or 0.0), floor) for level in levels]
        total = sum(values)
        for level, value in zip(levels, values, strict=True):
            level["m_probability"] = value / total


def save_model(model: Mapping[str, Any], path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(model, indent=1, sort_keys=False))
    return target


DEFAULT_MODEL = "default_model.json"


def load_model(path: str | Path | None = None) -> dict[str, Any]:
    """A model file written by :func:`save_model` (``ektp linkage train``); the packaged default
    model (trained on the project's generator, see ``ektp linkage train --help``) when omitted."""
    if path is None:
        text = resources.files("ektp.linkage").joinpath(DEFAULT_MODEL).read_text()
    else:
        source = Path(path)
        if not source.is_file():
            raise invalid("model", "not_found", f"model file {source} does not exist")
        text = source.read_text()
    try:
        model = json.loads(text)
    except json.JSONDecodeError as error:
        raise invalid("model", "json", f"model file is not JSON: {error}") from None
    if not isinstance(model, dict) or "comparisons" not in model:
        raise invalid("model", "format", "model file is not a Splink model (no comparisons)")
    return model


#: Key of a model file holding ektp's own facts about the model (Splink refuses unknown keys, so
#: :func:`model_settings` strips it): ``training_records``, the number of records trained on.
EKTP_KEY = "ektp"


def model_settings(model: Mapping[str, Any] | str | Path | None) -> dict[str, Any]:
    """A Splink settings dict from a dict, a path or None (the default model), without ektp's
    own key (:data:`EKTP_KEY`)."""
    if model is None or isinstance(model, str | Path):
        loaded: Mapping[str, Any] = load_model(model)
    else:
        loaded = model
    if "comparisons" not in loaded:
        raise invalid("model", "format", "model is not a Splink model (no comparisons)")
    return {key: value for key, value in loaded.items() if key != EKTP_KEY}


def training_records(model: Mapping[str, Any] | str | Path | None) -> int | None:
    """The number of records a model was trained on (None for a model file without it)."""
    loaded = load_model(model) if model is None or isinstance(model, str | Path) else model
    value = (loaded.get(EKTP_KEY) or {}).get("training_records")
    return int(value) if value else None


def prior_for(settings: Mapping[str, Any], trained_on: int | None, records: int) -> float:
    """λ, the probability that two random records match, for a run over ``records`` records.

    λ is not a property of the model but of the data: with a steady share of duplicates, the
    matches grow as N and the pairs as N², so λ falls as 1/N. A model trained on ``trained_on``
    records is rescaled to ``records`` by (trained_on − 1) / (records − 1) — only downwards: on a
    run smaller than the training set the trained λ is kept (never more credulous than trained).
    """
    prior = float(settings.get("probability_two_random_records_match") or 1e-4)
    if trained_on is None or records <= trained_on:
        return prior
    return prior * (trained_on - 1) / (records - 1)


def feature_names(columns: Sequence[str]) -> list[str]:
    """The feature columns present in ``columns`` (for error messages and CSV checks)."""
    return [column for column in columns if column in FEATURE_COLUMNS]
